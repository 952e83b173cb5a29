#!/usr/bin/env bash
# Multi-task learning on the many-task suite of experiments/remix.sh: its
# banks (13 tasks: ten scripts, fashion, handwritten, optical; 12,000 steps
# of the round robin) against a hard-shared trunk (one mixture for all
# tasks) trained the same way, and a plain network of its own for every
# task trained as many steps as the round robin gives a task (STEPS / 13).
#
#   experiments/multitask_suite.sh [REMIX_DIR]     (default: runs/remix)
#
# The banks come from experiments/remix.sh (STAGE=pretrain makes them
# alone); the runs here land beside them.  Environment: TEMPLAR (binary,
# default build/templar), SCRIPTS (the suite, default REMIX_DIR/scripts),
# STEPS (default 12000, as remix.sh), THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TEMPLAR:-build/templar}
OUT=${1:-runs/remix}
SCRIPTS=${SCRIPTS:-$OUT/scripts}
STEPS=${STEPS:-12000}
THREADS=${THREADS:-2}
SEEN=(greek cyrillic georgian hebrew arabic devanagari tamil ethiopic hiragana hangul)
mkdir -p "$OUT"

. experiments/run.sh # run NAME ARGS...

[ -d "$SCRIPTS/greek" ] || "$BIN" data scripts --out "$SCRIPTS" >&2
spec() { case $1 in fashion | handwritten | optical) echo "$1" ;; *) echo "$1=folder:$SCRIPTS/$1" ;; esac; }
names=(fashion handwritten optical "${SEEN[@]}")
tasks=$(for t in "${names[@]}"; do spec "$t"; done | paste -sd,)
ARCH=(--width 32 --layers 6 --threads "$THREADS" --seed 1)

run shared_basic train --tasks "$tasks" "${ARCH[@]}" --templates 4 --shared-mixture --steps "$STEPS" \
    --out "$OUT/shared_basic.safetensors" --force
per_task=$(((STEPS + ${#names[@]} - 1) / ${#names[@]}))
for t in "${names[@]}"; do
    run "indep_$t" train --tasks "$(spec "$t")" "${ARCH[@]}" --plain --steps "$per_task" \
        --out "$OUT/indep_$t.safetensors" --force
done
