#!/usr/bin/env bash
# Multi-task learning and transfer on one template bank: the experiments
# behind docs/RESULTS.md (Tables 1 and 2).  Every run is a templar command
# with a fixed seed; the tables are made from what the runs print.
#
#   experiments/multitask.sh [OUTDIR]     (default: runs/multitask)
#
# Budget: every multi-task arm trains EPOCHS epochs of the round robin over
# fashion, handwritten and optical (an epoch = 3 x 937 steps of 64 images),
# so each task gets EPOCHS x 937 steps; the independent networks train each
# task alone for EPOCHS x 60000 / 64 steps (5,625 for 6 epochs: 3 more).
# Transfer: a bank pretrained on fashion and handwritten meets optical with
# 10, 50 and all training labels per class.
# Environment: TEMPLAR (binary, default build/templar), EPOCHS (default 6),
# THREADS (default 2), TRANSFER_STEPS (default 500), TABLES (default "1 2";
# "1" runs Table 1 alone and leaves docs/RESULTS.md as it is).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TEMPLAR:-build/templar}
OUT=${1:-runs/multitask}
EPOCHS=${EPOCHS:-6}
THREADS=${THREADS:-2}
TSTEPS=${TRANSFER_STEPS:-500}
TABLES=${TABLES:-1 2}
ARCH=(--width 32 --layers 6 --threads "$THREADS" --seed 1)
TASKS=fashion,handwritten,optical
mkdir -p "$OUT"

. experiments/run.sh # run NAME ARGS...

# ---- Table 1: multi-task --------------------------------------------------
per_task_steps=$((EPOCHS * 60000 / 64))
run bank_k4 train --tasks $TASKS "${ARCH[@]}" --templates 4 --epochs "$EPOCHS" --out "$OUT/bank_k4.safetensors" --force
run bank_k2 train --tasks $TASKS "${ARCH[@]}" --templates 2 --epochs "$EPOCHS" --out "$OUT/bank_k2.safetensors" --force
# a mixture per conv (Table 5's finding for transfer), at one more logit a block per conv
run bank_k4_conv train --tasks $TASKS "${ARCH[@]}" --templates 4 --mix conv --epochs "$EPOCHS" --out "$OUT/bank_k4_conv.safetensors" --force
run shared train --tasks $TASKS "${ARCH[@]}" --templates 4 --shared-mixture --epochs "$EPOCHS" --out "$OUT/shared.safetensors" --force
for t in fashion handwritten optical; do
    run "indep_$t" train --tasks $t "${ARCH[@]}" --plain --steps "$per_task_steps" --out "$OUT/indep_$t.safetensors" --force
done
"$BIN" inspect "$OUT/bank_k4.safetensors" --png docs/multitask-mixtures.png --svg docs/multitask-mixtures.svg >"$OUT/inspect_bank_k4.txt"

case " $TABLES " in *" 2 "*) ;; *) exit 0 ;; esac

# ---- Table 2: transfer ----------------------------------------------------
run pretrain train --tasks fashion,handwritten "${ARCH[@]}" --templates 4 --epochs "$EPOCHS" --out "$OUT/pretrain.safetensors" --force
for n in 10 50 0; do
    for mode in mixture head full scratch; do
        run "transfer_${mode}_$n" transfer --from "$OUT/pretrain.safetensors" --task optical --mode $mode \
            --per-class $n --steps "$TSTEPS" --threads "$THREADS" --seed 1 --out "$OUT/transfer_${mode}_$n.safetensors" --force
    done
done

experiments/results.sh "$OUT" >docs/RESULTS.md
echo "wrote docs/RESULTS.md" >&2
