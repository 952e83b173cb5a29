/* Small seeded RNG (splitmix64 seeding a xoshiro128+-style state).  Every
 * random choice in templar goes through one of these, passed explicitly, so a
 * seed reproduces a run exactly. */
#ifndef TPL_RNG_H
#define TPL_RNG_H
#include <math.h>
#include <stdint.h>

typedef struct tpl_rng {
    uint64_t s[2];
} tpl_rng;

static inline uint64_t tpl_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline void tpl_rng_seed(tpl_rng *r, uint64_t seed) {
    r->s[0] = tpl_splitmix64(&seed);
    r->s[1] = tpl_splitmix64(&seed);
}

/* xorshift128+ */
static inline uint64_t tpl_rng_u64(tpl_rng *r) {
    uint64_t a = r->s[0];
    const uint64_t b = r->s[1];
    r->s[0] = b;
    a ^= a << 23;
    r->s[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
    return r->s[1] + b;
}

/* uniform in [0, 1) with 24 bits */
static inline float tpl_rng_uniform(tpl_rng *r) {
    return (float)(tpl_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

/* uniform integer in [0, n) */
static inline uint32_t tpl_rng_below(tpl_rng *r, uint32_t n) {
    return (uint32_t)(((tpl_rng_u64(r) >> 32) * (uint64_t)n) >> 32);
}

static inline float tpl_rng_normal(tpl_rng *r) {
    float u1 = tpl_rng_uniform(r), u2 = tpl_rng_uniform(r);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}
#endif
