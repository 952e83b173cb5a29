/* The run's JSON-lines log (see runlog.h). */
#include "runlog.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* Ends a line, keeping the first write error. */
static void end_line(run_log *l) {
    if (fputs("\n", l->f) == EOF || fflush(l->f) == EOF || ferror(l->f))
        if (!l->error) l->error = errno ? errno : EIO;
}

int runlog_open(run_log *l, const char *path, int append, const char *record_json, int every,
                int multi, int n_tasks, const char *const *names, tpl_err *err) {
    *l = (run_log){.path = path, .every = every, .multi = multi, .n_tasks = n_tasks,
                   .names = names};
    if (!path) return 0;
    if (!(l->f = fopen(path, append ? "a" : "w"))) {
        tpl_err_set(err, "%s: cannot write the log: %s", path, strerror(errno));
        return -1;
    }
    char when[32] = "";
    time_t now = time(NULL);
    struct tm utc;
    if (gmtime_r(&now, &utc)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    errno = 0;
    fprintf(l->f, "{\"kind\":\"run\",\"started\":\"%s\",%s", when,
            record_json + 1); /* then the record's members */
    end_line(l);
    if (!l->error) return 0;
    tpl_err_set(err, "%s: cannot write the log: %s", path, strerror(l->error));
    fclose(l->f);
    l->f = NULL;
    return -1;
}

void runlog_step(run_log *l, const tpl_fit_report *r) {
    if (!l->f || l->every <= 0) return;
    const int t = r->last_task;
    l->loss[t] += r->loss, l->acc[t] += r->acc, l->steps[t]++;
    if (r->step % l->every != 0) return;
    fprintf(l->f, "{\"kind\":\"step\",\"step\":%ld,\"epoch\":%d,\"lr\":%.6g,\"elapsed_s\":%.1f,"
                  "\"tasks\":{", r->step, r->epoch, r->lr, r->elapsed_s);
    int first = 1;
    for (int k = 0; k < l->n_tasks; k++) {
        if (!l->steps[k]) continue;
        fprintf(l->f, "%s\"%s\":{\"loss\":%.6f,\"acc\":%.6f}", first ? "" : ",", l->names[k],
                l->loss[k] / l->steps[k], l->acc[k] / l->steps[k]);
        l->loss[k] = l->acc[k] = 0.0, l->steps[k] = 0, first = 0;
    }
    fputs("}}", l->f);
    end_line(l);
}

void runlog_epoch(run_log *l, const tpl_fit_report *r) {
    if (!l->f) return;
    double te_loss = 0.0, te_acc = 0.0;
    for (int t = 0; t < l->n_tasks; t++) {
        te_loss += r->task[t].test_loss;
        te_acc += r->task[t].test_acc;
    }
    fprintf(l->f,
            "{\"kind\":\"epoch\",\"epoch\":%d,\"step\":%ld,\"lr\":%.6g,\"train_loss\":%.6f,"
            "\"train_acc\":%.6f,\"test_loss\":%.6f,\"test_acc\":%.6f,\"img_s\":%.1f,"
            "\"elapsed_s\":%.1f",
            r->epoch, r->step, r->lr, r->train_loss, r->train_acc, te_loss / l->n_tasks,
            te_acc / l->n_tasks, r->epoch_img_s, r->elapsed_s);
    for (int t = 0; l->multi && t < l->n_tasks; t++) {
        const tpl_fit_task_report *k = &r->task[t];
        fprintf(l->f,
                "%s\"%s\":{\"train_loss\":%.6f,\"train_acc\":%.6f,\"test_loss\":%.6f,"
                "\"test_acc\":%.6f}",
                t ? "," : ",\"tasks\":{", l->names[t], k->train_loss, k->train_acc,
                k->test_loss, k->test_acc);
    }
    fputs(l->multi ? "}}" : "}", l->f);
    end_line(l);
}

int runlog_close(run_log *l, tpl_err *err) {
    if (!l->f) return 0;
    if (fclose(l->f) == EOF && !l->error) l->error = errno ? errno : EIO;
    l->f = NULL;
    if (!l->error) return 0;
    tpl_err_set(err, "%s: cannot write the log: %s", l->path, strerror(l->error));
    return -1;
}
