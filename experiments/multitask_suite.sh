#!/usr/bin/env bash
# Multi-task learning on the many-task suite of experiments/remix.sh: its
# banks (13 tasks: ten scripts, fashion, handwritten, optical; 12,000 steps
# of the round robin) against a hard-shared trunk (one mixture for all
# tasks) trained the same way, and a plain network of its own for every
# task trained as many steps as the round robin gives a task (STEPS / 13),
# both in basic blocks and in inverted bottlenecks.
#
#   experiments/multitask_suite.sh [REMIX_DIR]     (default: runs/remix)
#
# The banks come from experiments/remix.sh (STAGE=pretrain makes them
# alone); the runs here land beside them.  Environment: TEMPLAR (binary,
# default build/templar), SCRIPTS (the suite, default REMIX_DIR/scripts),
# STEPS (default 12000, experiments/suite.sh's, as remix.sh's), THREADS
# (default 2), BLOCKS (the baselines' block kinds, default "basic
# inverted").
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TEMPLAR:-build/templar}
OUT=${1:-runs/remix}
THREADS=${THREADS:-2}
BLOCKS=${BLOCKS:-basic inverted}
mkdir -p "$OUT"

. experiments/run.sh   # run NAME ARGS...
. experiments/suite.sh # SUITE_TASKS, SUITE_SPECS, suite_spec NAME, SCRIPTS, STEPS
ARCH=(--width 32 --layers 6 --threads "$THREADS" --seed 1)

# basic (its runs unprefixed) or inverted (expansion 3, mixed per conv, as remix.sh's bank)
for block in $BLOCKS; do
    if [ "$block" = basic ]; then flags=() prefix=; else flags=(--block inverted --expand 3 --mix conv) prefix=inverted_; fi
    run "shared_$block" train --tasks "$SUITE_SPECS" "${ARCH[@]}" "${flags[@]}" --templates 4 --shared-mixture \
        --steps "$STEPS" --out "$OUT/shared_$block.safetensors" --force
    per_task=$(((STEPS + ${#SUITE_TASKS[@]} - 1) / ${#SUITE_TASKS[@]}))
    for t in "${SUITE_TASKS[@]}"; do
        run "indep_$prefix$t" train --tasks "$(suite_spec "$t")" "${ARCH[@]}" "${flags[@]}" --plain --steps "$per_task" \
            --out "$OUT/indep_$prefix$t.safetensors" --force
    done
done
