/* templar serve: answer HTTP requests for many tasks over one bank (see
 * src/serve/serve.h and README.md, "Serving"). */
#include <stdio.h>

#include "args.h"
#include "cli.h"
#include "serve.h"

static int run(int argc, char **argv) {
    tpl_serve_options o;
    tpl_serve_defaults(&o);
    const char *pos[1];
    int npos;
    const arg_spec specs[] = {
        {"tasks-dir", ARG_STR, &o.tasks_dir, "task files to serve (NAME.safetensors); PUT and DELETE change it", 0, 0},
        {"listen", ARG_STR, &o.listen, "ADDRESS:PORT to listen on (port 0: any free one) [127.0.0.1:8080]", 0, 0},
        {"token-file", ARG_STR, &o.token_file, "bearer token for PUT and DELETE (its first line); without it they are refused", 0, 0},
        {"max-batch", ARG_INT, &o.max_batch, "images one forward takes at most [32]", 1, 1024},
        {"max-wait-ms", ARG_INT, &o.max_wait_ms, "how long a batch may wait to fill up [0: run what is queued]", 0, 10000},
        {"queue", ARG_INT, &o.queue, "images waiting at most; beyond, 503 with Retry-After [256]", 1, 1000000},
        {"cache-mb", ARG_INT, &o.cache_mb, "MiB of tasks' mixed weights kept [512]", 0, 1 << 20},
        {"threads", ARG_INT, &o.threads, "threads of each forward (0 = all cores) [1: the other cores parse and decode]", 0, 1024},
        {"max-body-kb", ARG_INT, &o.max_body_kb, "largest request body, KiB [4096]", 1, 1 << 20},
        {"max-side", ARG_INT, &o.max_side, "largest image side, pixels [2048]", 1, 8192},
        {"timeout-s", ARG_INT, &o.timeout_s, "idle connections close after this [10]", 1, 3600},
        {"max-connections", ARG_INT, &o.max_connections, "open connections at most [256]", 1, 65536},
        {"drain-s", ARG_INT, &o.drain_s, "after SIGTERM, time left to requests under way [30]", 0, 3600},
        {"top", ARG_INT, &o.top, "classes answered when a request gives no ?top [5]", 1, 1000},
        {NULL, 0, NULL, NULL, 0, 0},
    };
    int rc = args_parse("serve", "MODEL [--tasks-dir DIR] [--listen 127.0.0.1:8080]",
                        (const arg_spec *const[]){specs, NULL}, argc, argv, 2, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos != 1) {
        fprintf(stderr, "templar serve: which model? (usage: templar serve MODEL [--tasks-dir DIR] "
                        "[--listen 127.0.0.1:8080])\n");
        return 2;
    }
    o.model = pos[0];
    tpl_err err = {{0}};
    if (tpl_serve_run(&o, &err)) {
        fprintf(stderr, "templar serve: %s\n", err.msg);
        return 1;
    }
    return 0;
}

const cli_command cli_command_serve = {"serve", 67, "answer HTTP requests for many tasks over one bank", run};
