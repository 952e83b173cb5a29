/* A monotonic clock in seconds, for rates and ETAs (never for results). */
#ifndef TPL_CLOCK_H
#define TPL_CLOCK_H
double tpl_now(void);
#endif
