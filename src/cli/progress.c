#include "progress.h"

#include "clock.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24
#define PLAIN_EVERY_S 10.0

double progress_now(void) { return tpl_now(); }

void progress_start(progress *p, const char *label, long total) {
    p->label = label;
    p->total = total > 0 ? total : 1;
    p->done = 0;
    p->start = p->last_draw = progress_now();
    p->tty = isatty(fileno(stderr));
}

static void fmt_time(char *out, size_t cap, double s) {
    int t = (int)(s + 0.5);
    if (t >= 3600) snprintf(out, cap, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, cap, "%d:%02d", t / 60, t % 60);
}

static void draw(progress *p, const char *status, int final) {
    double el = progress_now() - p->start;
    double frac = (double)p->done / p->total;
    char eta[32], spent[32];
    fmt_time(spent, sizeof spent, el);
    fmt_time(eta, sizeof eta, p->done > 0 ? el * (1.0 - frac) / frac : 0.0);
    if (p->tty) {
        char bar[BAR_WIDTH + 1];
        int fill = (int)(frac * BAR_WIDTH);
        for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < fill ? '#' : '.';
        bar[BAR_WIDTH] = 0;
        fprintf(stderr, "\r\033[K%s [%s] %3.0f%% %s<%s %s", p->label, bar, frac * 100, spent,
                eta, status);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s %ld/%ld (%.0f%%) elapsed %s eta %s %s\n", p->label, p->done,
                p->total, frac * 100, spent, eta, status);
    }
    fflush(stderr);
}

void progress_update(progress *p, long done, const char *status) {
    p->done = done;
    double now = progress_now();
    if (now - p->last_draw < (p->tty ? 0.2 : PLAIN_EVERY_S)) return;
    p->last_draw = now;
    draw(p, status, 0);
}

void progress_finish(progress *p, const char *status) {
    p->done = p->total;
    draw(p, status, 1);
}
