#!/usr/bin/env bash
# Mixture granularity and the logits' learning rate in transfer: Table 2's
# setting (a bank of width 32, 6 blocks, K = 4 pretrained on fashion and
# handwritten; optical as the new task with 10, 50 or all labels per class)
# with one mixture per block, per conv, or per group of 8 or 4 output
# channels (--mix), each new task trained in mixture mode with the logits'
# learning rate x1 and x10 (--logit-lr); full fine-tuning and training from
# scratch of the per-block bank give the ceiling.  The table is made by
# experiments/results.sh from what the runs print.
#
#   experiments/granularity.sh [OUTDIR]     (default: runs/granularity)
#
# Environment: TEMPLAR (binary, default build/templar), EPOCHS (pretraining,
# default 6), THREADS (default 2), TRANSFER_STEPS (default 500).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TEMPLAR:-build/templar}
OUT=${1:-runs/granularity}
EPOCHS=${EPOCHS:-6}
THREADS=${THREADS:-2}
TSTEPS=${TRANSFER_STEPS:-500}
ARCH=(--width 32 --layers 6 --templates 4 --threads "$THREADS" --seed 1)
mkdir -p "$OUT"

. experiments/run.sh # run NAME ARGS...

# transfer NAME BANK MODE PER_CLASS [FLAGS...]
transfer() {
    local name=$1 bank=$2 mode=$3 n=$4
    shift 4
    run "$name" transfer --from "$OUT/pretrain_$bank.safetensors" --task optical --mode "$mode" \
        --per-class "$n" --steps "$TSTEPS" --threads "$THREADS" --seed 1 "$@" \
        --out "$OUT/$name.safetensors" --force
}

for mix in block conv group:8 group:4; do
    bank=${mix/:/}
    run "pretrain_$bank" train --tasks fashion,handwritten "${ARCH[@]}" --mix "$mix" --epochs "$EPOCHS" \
        --out "$OUT/pretrain_$bank.safetensors" --force
    for n in 10 50 0; do
        for lr in 1 10; do
            transfer "mixture_${bank}_lr${lr}_$n" "$bank" mixture "$n" --logit-lr "$lr"
        done
    done
done
for n in 10 50 0; do
    for mode in full scratch; do transfer "${mode}_block_$n" block "$mode" "$n"; done
done
