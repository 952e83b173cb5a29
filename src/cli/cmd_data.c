/* placeholder: being written */
#include <stdio.h>

#include "cli.h"

int cmd_data(int argc, char **argv) {
    (void)argc, (void)argv;
    fprintf(stderr, "templar data: not built yet\n");
    return 1;
}
