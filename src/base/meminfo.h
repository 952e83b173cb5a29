/* How much memory this process may still take, as the system sees it. */
#ifndef TPL_MEMINFO_H
#define TPL_MEMINFO_H
#include <stddef.h>

/* Bytes available now: MemAvailable of /proc/meminfo, or less when the
 * process's cgroup (v2) limit leaves less; 0 when neither can be read. */
size_t tpl_mem_available(void);
#endif
