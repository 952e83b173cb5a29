#!/usr/bin/env bash
# A many-task bank and transfer by re-mixing to scripts it never saw.
#
# One bank (width 32, 6 blocks, K = 4, 28x28) is trained on 13 tasks: ten
# letter scripts of `templar data scripts` (their test images in fonts no
# training image uses), fashion, handwritten and optical.  Four scripts are
# held out (armenian, bengali, thai, katakana) and each becomes a new task
# with 10, 50 or all training images per class: mixture (the task's logits,
# BNs and head train), head (only the head), full (everything) and scratch
# (a network of its own).  Every transfer trains TRANSFER_STEPS steps of
# batch 32 from the closest old task.  The variants differ in block kind and
# mixture granularity; the first runs all four modes, the others mixture
# only (full and scratch do not depend on how a bank is mixed).
#
#   experiments/remix.sh [OUTDIR]     (default: runs/remix)
#
# Environment: TEMPLAR (binary, default build/templar), SCRIPTS (the suite,
# default OUTDIR/scripts, made when missing), STEPS (pretraining steps,
# default 12000), TRANSFER_STEPS (default 500), THREADS (default 2),
# VARIANTS (default "basic:conv basic:block inverted:conv"; a variant
# is BLOCK:MIX, the inverted one with --expand 3), STAGE (all, or pretrain:
# the banks alone, as `make pretrain` runs it), MODES (the first bank's, default
# "mixture head full scratch"), LABELS (labels per class of the transfers,
# default "10 50 0", 0 for all), RECIPE (0: no recipe sweep).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TEMPLAR:-build/templar}
OUT=${1:-runs/remix}
TSTEPS=${TRANSFER_STEPS:-500}
THREADS=${THREADS:-2}
VARIANTS=${VARIANTS:-basic:conv basic:block inverted:conv}
STAGE=${STAGE:-all}
MODES=${MODES:-mixture head full scratch}
RECIPE=${RECIPE:-1}
LABELS=${LABELS:-10 50 0}
mkdir -p "$OUT"

. experiments/run.sh   # run NAME ARGS...
. experiments/suite.sh # HELD, SUITE_SPECS (the pretraining tasks), SCRIPTS, STEPS

first=1
for variant in $VARIANTS; do
    block=${variant%%:*} mix=${variant#*:}
    name=${block}_${mix/:/}
    run "bank_$name" train --tasks "$SUITE_SPECS" --width 32 --layers 6 --templates 4 --block "$block" --expand 3 \
        --mix "$mix" --steps "$STEPS" --threads "$THREADS" --seed 1 --out "$OUT/bank_$name.safetensors" --force
    [ "$STAGE" = pretrain ] && continue
    modes=(mixture)
    [ "$first" = 1 ] && read -ra modes <<<"$MODES"
    for s in "${HELD[@]}"; do
        for n in $LABELS; do
            for mode in "${modes[@]}"; do
                run "${name}_${s}_${mode}_$n" transfer --from "$OUT/bank_$name.safetensors" \
                    --task "$s=folder:$SCRIPTS/$s" --mode "$mode" --per-class "$n" --steps "$TSTEPS" \
                    --threads "$THREADS" --seed 1 --out "$OUT/${name}_${s}_${mode}_$n.safetensors" --force
            done
        done
    done
    first=0
done

[ "$STAGE" = pretrain ] || [ "$RECIPE" = 0 ] && exit 0
# The transfer recipe on the first bank: the logits' learning rate (x1 above,
# x10 and x30 here), their start (the closest task above, uniform here) and
# which parts train (all three above; logits+head and bn+head here).  The
# temperature is the bank's (train --tau), every task's, so a transfer cannot
# change it without changing the old tasks; under SGD, dividing logits by tau
# amounts to scaling their start by 1/tau and their learning rate by 1/tau^2,
# and --logit-lr sweeps the learning-rate part.
name=${VARIANTS%% *}
name=${name%%:*}_$(echo "${VARIANTS%% *}" | cut -d: -f2- | tr -d :)
for s in "${HELD[@]}"; do
    for n in 10 50; do
        for lr in 10 30; do
            run "${name}_${s}_lr${lr}_$n" transfer --from "$OUT/bank_$name.safetensors" --task "$s=folder:$SCRIPTS/$s" \
                --per-class "$n" --logit-lr "$lr" --steps "$TSTEPS" --threads "$THREADS" --seed 1 \
                --out "$OUT/${name}_${s}_lr${lr}_$n.safetensors" --force
        done
        run "${name}_${s}_uniform_$n" transfer --from "$OUT/bank_$name.safetensors" --task "$s=folder:$SCRIPTS/$s" \
            --per-class "$n" --init uniform --steps "$TSTEPS" --threads "$THREADS" --seed 1 \
            --out "$OUT/${name}_${s}_uniform_$n.safetensors" --force
        # which parts train: the BN scale/shift frozen at the start's, or the logits
        for parts in lh:logits+head bh:bn+head; do
            run "${name}_${s}_${parts%%:*}_$n" transfer --from "$OUT/bank_$name.safetensors" --task "$s=folder:$SCRIPTS/$s" \
                --per-class "$n" --train "${parts#*:}" --steps "$TSTEPS" --threads "$THREADS" --seed 1 \
                --out "$OUT/${name}_${s}_${parts%%:*}_$n.safetensors" --force
        done
    done
done
