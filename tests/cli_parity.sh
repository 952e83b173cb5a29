#!/usr/bin/env bash
# templar against PyTorch: tiny models of each kind are trained a few steps
# (AdamW at a constant rate, so every weight, BN scale and running statistic
# has moved off its initial value), parity_dump runs one training step of
# each on a seeded batch, and tests/parity/parity.py repeats the step in
# PyTorch (float64) from the model file alone and compares the logits, the
# loss and every parameter gradient to 1e-4 relative.  The comparison's
# self-test (PARITY_SELFTEST=1) perturbs one coordinate of each tensor and
# must see every one fail.  Without a python3 that imports numpy and torch
# (Debian python3-torch) the test is skipped.
#
# usage: PARITY_DUMP=PATH/TO/parity_dump bash tests/cli_parity.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_parity "${1:-}"

PY=
for cand in ${PARITY_PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import numpy, torch' >/dev/null 2>&1; then
        PY=$cand
        break
    fi
done
if [ -z "$PY" ]; then
    echo "SKIPPED: no python3 imports numpy and torch (Debian: python3-torch, python3-numpy)"
    exit 77
fi
DUMP=${PARITY_DUMP:-}
if [ -z "$DUMP" ] || [ ! -x "$DUMP" ]; then
    echo "cli_parity: PARITY_DUMP must name the parity_dump program (the CMake test sets it)" >&2
    exit 2
fi

idx_dir "$T/d1" 12 64 16 4 17
idx_dir "$T/d2" 12 48 16 3 99
idx_dir "$T/d3" 12 48 16 4 41
TRAIN=(--batch 16 --eval-batch 16 --threads 2 --steps 3 --optim adamw --lr 0.05 --schedule const)
ONE=(--data "$T/d1" --task a)
ISO=(--width 16 --layers 2 --templates 3)

# variant NAME TASK FLAGS...: trains NAME with FLAGS and dumps a step of task
# number TASK; the pair joins the comparison.
pairs=()
seed=0
variant() {
    local name=$1 task=$2
    shift 2
    seed=$((seed + 1))
    run train "$@" "${TRAIN[@]}" --out "$T/$name.safetensors"
    if [ "$rc" -ne 0 ]; then
        bad "$name: training exit $rc  (templar train $*)"
        return
    fi
    if ! "$DUMP" "$T/$name.safetensors" "$task" 8 "$seed" "$T/$name.step.safetensors" 2>"$T/stderr"; then
        bad "$name: parity_dump failed"
        return
    fi
    ok
    pairs+=("$T/$name.safetensors" "$T/$name.step.safetensors")
}

variant basic 0 "${ONE[@]}" "${ISO[@]}"
variant staged 0 "${ONE[@]}" --widths 16,32 --layers 2 --templates 2
variant outputs 0 "${ONE[@]}" "${ISO[@]}" --aggregate outputs
variant topk 0 "${ONE[@]}" "${ISO[@]}" --routing topk --topk 2
variant top1 0 "${ONE[@]}" "${ISO[@]}" --routing topk --topk 1
# Not top-1 here: a block that runs one expert feeds a_j * branch_j with
# a_j = 1 to a BN, which undoes any scale but for its eps, so the logits'
# true gradient is eps-sized (~1e-8) and float32 rounding decides its digits
# (float32 PyTorch is off by ~1e-4 relative too).
variant topk-outputs 0 "${ONE[@]}" "${ISO[@]}" --routing topk --topk 2 --aggregate outputs
variant tau 0 "${ONE[@]}" "${ISO[@]}" --tau 0.5
variant plain 0 "${ONE[@]}" --width 16 --layers 2 --plain
# two tasks, the second one's step: the first task's own tensors get no gradient
variant multitask 1 --tasks "a=idx:$T/d1,b=idx:$T/d2" "${ISO[@]}"
variant shared-head 1 --tasks "a=idx:$T/d1,c=idx:$T/d3" "${ISO[@]}" --shared-head
variant shared-mixture 1 --tasks "a=idx:$T/d1,b=idx:$T/d2" "${ISO[@]}" --shared-mixture
variant staged-multitask 1 --tasks "a=idx:$T/d1,b=idx:$T/d2" --widths 16,32 --layers 2 --templates 2 --tau 2 --aggregate outputs

if [ "${#pairs[@]}" -gt 0 ]; then
    PARITY_SELFTEST=1 "$PY" "$HERE/parity/parity.py" "${pairs[@]}" >"$T/parity.out" 2>"$T/stderr"
    rc=$?
    cat "$T/parity.out"
    if [ "$rc" -ne 0 ]; then
        bad "parity.py: exit $rc"
    elif ! grep -q "^parity: $((${#pairs[@]} / 2))/$((${#pairs[@]} / 2)) models agree" "$T/parity.out"; then
        bad "parity.py: no summary line"
    elif [ "$(grep -c '^  selftest: a perturbed coordinate was caught' "$T/parity.out")" -ne $((${#pairs[@]} / 2)) ]; then
        bad "parity.py: the self-test did not run for every model"
    else
        ok
    fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
