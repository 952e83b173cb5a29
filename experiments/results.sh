#!/usr/bin/env bash
# Turns the outputs of experiments/multitask.sh into docs/RESULTS.md (on
# stdout).  Every figure is read from a run's own output.
#
#   experiments/results.sh runs/multitask > docs/RESULTS.md
set -euo pipefail
OUT=${1:?usage: results.sh OUTDIR}

# acc FILE TASK: a task's test accuracy, in percent, from a train/transfer output
acc() {
    awk -v t="$2" '$1 == "task=" t || ($1 ~ "^task=" t "$") { for (i = 1; i <= NF; i++) if ($i ~ /^test_acc=/) { sub("test_acc=", "", $i); printf "%.2f", 100 * $i } }' "$1"
}
# last_acc FILE: the final line's test accuracy, in percent
last_acc() { tail -n 1 "$1" | tr ' ' '\n' | sed -n 's/^test_acc=//p' | awk '{ printf "%.2f", 100 * $1 }'; }
# params FILE.err: the trained parameters the run announced
params() { sed -n 's/.* \([0-9][0-9]*\) trained parameters.*/\1/p' "$1" | head -n 1; }
# field FILE KEY: KEY=VALUE from a transfer's bytes line
field() { grep '^task=' "$1" | head -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }

cat <<'HEAD'
# Results

Made by `experiments/multitask.sh` (which ends by calling
`experiments/results.sh`); every number below is read from the output of a
`templar` run with seed 1 on 2 threads.  Data: `fashion` is Fashion-MNIST
(60,000 / 10,000), `handwritten` is OpenCV's digits.png (4,000 / 1,000),
`optical` is scikit-learn's 8x8 digits (1,438 / 359), both digit sets resized
to 28x28 and split by the fixed, seeded, stratified rule of `src/tasks.h`
(20% held out, seed 2026).  Horizontal flips only for fashion.

## Table 1: multi-task learning on one bank

All arms: isometric ResNet, width 32, 6 residual blocks, stride-2 stem, SGD
Nesterov one-cycle, lr 0.1, batch 64, the same number of steps per task (the
round robin gives each task 937 steps an epoch; the independent networks
train each task alone for as many steps).  Parameters exclude BN running
statistics.

| arm | parameters | fashion | handwritten | optical | mean |
|---|---:|---:|---:|---:|---:|
HEAD
row() { # NAME FILE
    local f=$OUT/$2.out a b c
    a=$(acc "$f" fashion) b=$(acc "$f" handwritten) c=$(acc "$f" optical)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(params "$OUT/$2.err")" "$a" "$b" "$c" \
        "$(awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN { printf "%.2f", (a + b + c) / 3 }')"
}
ia=$(last_acc "$OUT/indep_fashion.out") ib=$(last_acc "$OUT/indep_handwritten.out") ic=$(last_acc "$OUT/indep_optical.out")
ip=$(( $(params "$OUT/indep_fashion.err") + $(params "$OUT/indep_handwritten.err") + $(params "$OUT/indep_optical.err") ))
printf '| independent plain ResNets (K = L = 6, one per task) | %s | %s | %s | %s | %s |\n' "$ip" "$ia" "$ib" "$ic" \
    "$(awk -v a="$ia" -v b="$ib" -v c="$ic" 'BEGIN { printf "%.2f", (a + b + c) / 3 }')"
row "hard-shared trunk (K = 4, one mixture for all tasks)" shared
row "template bank, K = 2" bank_k2
row "template bank, K = 4" bank_k4

bp=$(params "$OUT/bank_k4.err")
echo
awk -v bp="$bp" -v ip="$ip" -v a="$(acc "$OUT/bank_k4.out" fashion)" -v b="$(acc "$OUT/bank_k4.out" handwritten)" \
    -v c="$(acc "$OUT/bank_k4.out" optical)" -v ia="$ia" -v ib="$ib" -v ic="$ic" 'BEGIN {
    worst = ia - a; if (ib - b > worst) worst = ib - b; if (ic - c > worst) worst = ic - c
    printf "Bar (template bank within 1.0 point of independent networks on every task, with at most 60%% of their parameters), K = 4: "
    printf "largest shortfall %.2f points, %.1f%% of the parameters: %s.\n", worst, 100 * bp / ip, (worst <= 1.0 && bp <= 0.6 * ip) ? "met" : "NOT met"
}'
cat <<'MID'

The learned mixtures of the K = 4 bank (`templar inspect`; rows are tasks,
columns blocks, each cell the weights of the 4 templates):

![mixtures](multitask-mixtures.png)

```
MID
cat "$OUT/inspect_bank_k4.txt"
cat <<'MID'
```

## Table 2: transfer to a new task

A bank (width 32, 6 blocks, K = 4) trained on fashion and handwritten meets
optical, with 10, 50 or all training images per class.  Each arm trains for
the same number of steps (batch 32) and starts the new task from the closest
old task (the one whose features give the best nearest-class-mean accuracy on
the new training images).  Bytes per new task: what the model file grows by,
apart from the head (10 classes x 32 + 10 floats = 1,320 bytes in every arm);
full fine-tuning and training from scratch need a whole network per task.

| labels per class | mode | trained parameters | test accuracy | bytes per new task (excl. head) |
|---|---|---:|---:|---:|
MID
for n in 10 50 0; do
    for mode in mixture head full scratch; do
        f=$OUT/transfer_${mode}_$n.out
        printf '| %s | %s | %s | %s | %s |\n' "$( [ "$n" = 0 ] && echo all || echo "$n")" "$mode" \
            "$(field "$f" trained_params)" "$(last_acc "$f")" "$(field "$f" new_task_bytes)"
    done
done
echo
for n in 10 50 0; do
    awk -v n="$( [ "$n" = 0 ] && echo all || echo "$n")" -v m="$(last_acc "$OUT/transfer_mixture_$n.out")" \
        -v h="$(last_acc "$OUT/transfer_head_$n.out")" -v b="$(field "$OUT/transfer_mixture_$n.out" new_task_bytes)" 'BEGIN {
        printf "- %s labels per class: mixture %.2f%% vs head only %.2f%%; mixture stores %d bytes: %s.\n", n, m, h, b, (m > h && b < 8192) ? "bar met" : "bar NOT met"
    }'
done
