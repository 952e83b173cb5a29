/* Available memory (see meminfo.h): the kernel's own estimate of what can be
 * allocated without swapping, bounded by a container's memory limit. */
#include "meminfo.h"

#include <stdio.h>
#include <string.h>

/* MemAvailable in bytes, or 0. */
static size_t meminfo_available(void) {
    FILE *fp = fopen("/proc/meminfo", "r");
    if (!fp) return 0;
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) break;
    fclose(fp);
    return (size_t)kib * 1024;
}

/* One number from a cgroup file, or 0 when absent or "max". */
static unsigned long long cgroup_number(const char *path) {
    FILE *fp = fopen(path, "r");
    unsigned long long v = 0;
    if (fp) {
        if (fscanf(fp, "%llu", &v) != 1) v = 0;
        fclose(fp);
    }
    return v;
}

/* What the process's cgroup (v2: the line "0::PATH" of /proc/self/cgroup)
 * leaves of its memory.max beyond memory.current, or 0 when it sets none. */
static size_t cgroup_available(void) {
    char line[512], path[640];
    FILE *fp = fopen("/proc/self/cgroup", "r");
    int found = 0;
    while (fp && !found && fgets(line, sizeof line, fp))
        found = !strncmp(line, "0::", 3);
    if (fp) fclose(fp);
    if (!found) return 0;
    line[strcspn(line, "\n")] = 0;
    const char *dir = strcmp(line + 3, "/") ? line + 3 : "";
    snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", dir);
    const unsigned long long max = cgroup_number(path);
    if (!max) return 0;
    snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.current", dir);
    const unsigned long long used = cgroup_number(path);
    return used < max ? (size_t)(max - used) : 1;
}

size_t tpl_mem_available(void) {
    size_t sys = meminfo_available(), cg = cgroup_available();
    if (!sys) return cg;
    return cg && cg < sys ? cg : sys;
}
