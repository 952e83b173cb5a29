/* A tiny learnable data set for model tests: side x side greyscale stripes
 * with a random phase and pixel noise, the label their orientation (0
 * horizontal, 1 vertical, 2 diagonal, 3 anti-diagonal; classes <= 4).  The
 * network ends in global average pooling, so the rule is about local
 * texture, not position.  Header only; exits 2 when memory runs out
 * (setting up a test is not what it tests). */
#ifndef TPL_TEST_STRIPES_H
#define TPL_TEST_STRIPES_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "data.h"
#include "rng.h"

static inline void stripes_dataset(tpl_dataset *d, int n, int side, int classes, uint64_t seed) {
    tpl_rng r;
    tpl_rng_seed(&r, seed);
    if (tpl_dataset_alloc(d, n, side, side, 1, classes)) {
        fprintf(stderr, "stripes: out of memory\n");
        exit(2);
    }
    for (int i = 0; i < n; i++) {
        int q = (int)tpl_rng_below(&r, classes), phase = (int)tpl_rng_below(&r, 4);
        d->labels[i] = (uint8_t)q;
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                int u = q == 0 ? y : q == 1 ? x : q == 2 ? x + y : x - y + side;
                int v = ((u + phase) % 4 < 2 ? 150 : 20) + (int)tpl_rng_below(&r, 90);
                d->pixels[((size_t)i * side + y) * side + x] = (uint8_t)v;
            }
    }
}
#endif
