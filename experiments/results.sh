#!/usr/bin/env bash
# Turns the outputs of the experiment scripts into docs/RESULTS.md (on
# stdout): multitask.sh (Tables 1, 2), reuse.sh (Table 3), adapt.sh
# (Table 4), granularity.sh (Table 5), remix.sh (Table 6) and
# multitask_suite.sh (Table 7); a section whose runs are missing is left out.  Every figure is read from a run's own output.
#
#   experiments/results.sh [MULTITASK_DIR [REUSE_DIR [ADAPT_DIR [GRANULARITY_DIR [REMIX_DIR [REMIX_LONG_DIR [REUSE_LONG_DIR [REMIX_4000_DIR]]]]]]]] > docs/RESULTS.md
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/multitask}
REUSE=${2:-runs/reuse}
ADAPT=${3:-runs/adapt}
GRAN=${4:-runs/granularity}
REMIX=${5:-runs/remix}
REMIX_LONG=${6:-runs/remix-long}
REUSE_LONG=${7:-runs/reuse-long}
REMIX_4000=${8:-runs/remix-4000}

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
# acc_cell FILE: " ACC |", a table cell of a run's final accuracy, " - |" when it did not run
acc_cell() { if [ -e "$1" ]; then printf ' %s |' "$(last_acc "$1")"; else printf ' - |'; fi; }
# mean_row TABLE LABEL LAST: "| mean | LABEL |" and the mean of columns 4..LAST
# over TABLE's rows of that label ("-" for a column with no figure)
mean_row() {
    awk -F'|' -v n="$2" -v last="$3" '$3 ~ " "n" " { for (i = 4; i <= last; i++) { if ($i ~ /[0-9]/) { s[i] += $i; c[i]++ } } }
        END { printf "| mean | %s |", n; for (i = 4; i <= last; i++) printf (c[i] ? " %.2f |" : " - |"), s[i] / (c[i] ? c[i] : 1); print "" }' "$1"
}

multitask_section() {
cat <<'HEAD'

Made by the scripts of `experiments/` (each table names its own, and
`experiments/results.sh` writes the page from their runs); every number
below is read from the output of a `templar` run with seed 1 on 2 threads.  Data: `fashion` is Fashion-MNIST
(60,000 / 10,000), `handwritten` is OpenCV's digits.png (4,000 / 1,000),
`optical` is scikit-learn's 8x8 digits (1,438 / 359), both digit sets resized
to 28x28 and split by the fixed, seeded, stratified rule of `src/tasks.h`
(20% held out, seed 2026).  Horizontal flips only for fashion.

## Table 1: multi-task learning on one bank

All arms: isometric ResNet, width 32, 6 residual blocks, stride-2 stem, SGD
Nesterov one-cycle, lr 0.1, batch 64, the same number of steps per task (the
round robin gives each task 937 steps an epoch, 5,622 in all; the
independent networks train each task alone for 5,625 steps).  Parameters exclude BN running
statistics.  `--precision auto`: bf16 convolutions on a CPU with AMX, as on the
2-core machine these figures come from.

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
[ -s "$OUT/bank_k4_conv.out" ] && row "template bank, K = 4, a mixture per conv" bank_k4_conv

bp=$(params "$OUT/bank_k4.err")
echo
awk -v bp="$bp" -v ip="$ip" -v a="$(acc "$OUT/bank_k4.out" fashion)" -v b="$(acc "$OUT/bank_k4.out" handwritten)" \
    -v c="$(acc "$OUT/bank_k4.out" optical)" -v ia="$ia" -v ib="$ib" -v ic="$ic" 'BEGIN {
    worst = ia - a; if (ib - b > worst) worst = ib - b; if (ic - c > worst) worst = ic - c
    printf "Bar (template bank within 1.0 point of independent networks on every task, with at most 60%% of their parameters), K = 4: "
    printf "largest shortfall %.2f points, %.1f%% of the parameters: %s.\n", worst, 100 * bp / ip, (worst <= 1.0 && bp <= 0.6 * ip) ? "met" : "NOT met"
}'
# the re-mixing issue's bar: a bank's mean above the hard-shared trunk's and
# within 0.5 of the independent networks', at most 30 % of their parameters
mean_of() { awk -v a="$(acc "$OUT/$1.out" fashion)" -v b="$(acc "$OUT/$1.out" handwritten)" -v c="$(acc "$OUT/$1.out" optical)" 'BEGIN { printf "%.2f", (a + b + c) / 3 }'; }
for bank in bank_k4 bank_k4_conv; do
    [ -s "$OUT/$bank.out" ] || continue
    awk -v name="$bank" -v m="$(mean_of "$bank")" -v s="$(mean_of shared)" -v i="$(awk -v a="$ia" -v b="$ib" -v c="$ic" 'BEGIN { print (a + b + c) / 3 }')" \
        -v bp="$(params "$OUT/$bank.err")" -v ip="$ip" 'BEGIN {
        printf "Bar (bank mean above the hard-shared trunk and within 0.5 of independent networks, at most 30%% of their parameters), %s: %.2f against %.2f and %.2f, %.1f%% of the parameters: %s.\n",
            name, m, s, i, 100 * bp / ip, (m > s && m >= i - 0.5 && bp <= 0.3 * ip) ? "met" : "NOT met" }'
done
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
apart from the head (10 classes x 32 + 10 floats = 1,320 bytes in every arm),
BN running statistics included: mixture-only adds the task's mixture logits
(96 bytes), BN scale and shift (3,328) and BN statistics (3,328); head-only
stores the same tensors, copied from the closest task and frozen (only the
statistics follow the new data); full fine-tuning and training from scratch
need a whole network per task.  Every arm: 500 steps of batch 32 (so with
10 labels per class each of the 100 images is seen about 160 times), SGD
one-cycle, lr 0.1, seed 1.

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
}

# ---- Table 3: block reuse --------------------------------------------------
reuse_section() {
    cat <<'TXT'

## Table 3: block reuse, deeper for the same parameters

Made by `experiments/reuse.sh` (3 epochs each, width 32, seed 1, 2
threads).  A bank of K templates feeds L blocks; `plain` is an ordinary
ResNet of L blocks with its own weights (K = L, fixed one-hot routing).
Parameters exclude BN running statistics.

| data | network | K | L | parameters | test accuracy |
|---|---|---:|---:|---:|---:|
TXT
    local set k l f
    for set in fashion printed; do
        for f in "$REUSE/${set}"_*.out; do
            [ -e "$f" ] || continue
            name=$(basename "$f" .out)
            l=${name##*_l}
            case $name in *plain*) k=$l net=plain ;; *) k=${name#*_k}; k=${k%%_*}; net=bank ;; esac
            printf '%s|%s|%s|%s|%s|%s\n' "$set" "$net" "$k" "$l" "$(params "$REUSE/$name.err")" "$(last_acc "$f")"
        done | sort -t'|' -k1,1 -k3,3n -k4,4n | awk -F'|' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }'
    done
    echo
    experiments/plot_reuse.sh "$REUSE" >docs/reuse.svg
    echo '![accuracy against parameters: reuse (L > K) against plain networks](reuse.svg)'
    echo
    for set in fashion printed; do
        for k in 1 2 4; do
            for l in 2 4 8; do
                [ "$l" -gt "$k" ] && [ -e "$REUSE/${set}_k${k}_l$l.out" ] && [ -e "$REUSE/${set}_plain_l$k.out" ] || continue
                echo "$set $k $l $(last_acc "$REUSE/${set}_k${k}_l$l.out") $(last_acc "$REUSE/${set}_plain_l$k.out")"
            done
        done
    done | awk '{ g = $4 - $5; if (!($1 in best) || g > best[$1]) { best[$1] = g; at[$1] = $2 " " $3 " " $4 " " $5 } }
        END { for (s in best) { split(at[s], v, " ")
            printf "- %s: at equal parameters the largest gain of reuse is K = %d, L = %d: %.2f%% against %.2f%% for the plain %d-block network (%+.2f points)%s.\n",
                s, v[1], v[2], v[3], v[4], v[1], best[s], s == "fashion" ? (best[s] >= 0.5 ? "; bar (>= 0.5 points) met" : "; bar (>= 0.5 points) NOT met") : "" } }'
}

# ---- Table 3, converged: the block-reuse bar's runs, EPOCHS=15 ----------------
reuse_long_section() {
    cat <<'TXT'

The bar's comparison trained to convergence (`EPOCHS=15
ONLY='fashion_(k2_l4|k4_l8|plain_l[24])$' experiments/reuse.sh
runs/reuse-long`): L = 2K blocks from K templates against the plain network
of K blocks, at equal parameters; `bank, per conv` is the same bank with a
mixture per conv (`FLAGS='--mix conv'`, in runs/reuse-long-conv).

| data | network | K | L | parameters | test accuracy |
|---|---|---:|---:|---:|---:|
TXT
    local k acc_bank acc_plain
    for k in 2 4; do
        for f in "plain_l$k:plain:$k:$k" "k${k}_l$((2 * k)):bank:$k:$((2 * k))"; do
            IFS=: read -r name net kk l <<<"$f"
            [ -e "$REUSE_LONG/fashion_$name.out" ] || continue
            printf '| fashion | %s | %s | %s | %s | %s |\n' "$net" "$kk" "$l" "$(params "$REUSE_LONG/fashion_$name.err")" "$(last_acc "$REUSE_LONG/fashion_$name.out")"
        done
        f="$REUSE_LONG-conv/fashion_k${k}_l$((2 * k))"
        if [ -s "$f.out" ]; then
            printf '| fashion | bank, per conv | %s | %s | %s | %s |\n' "$k" "$((2 * k))" "$(params "$f.err")" "$(last_acc "$f.out")"
        fi
    done
    echo
    for k in 2 4; do
        [ -e "$REUSE_LONG/fashion_k${k}_l$((2 * k)).out" ] && [ -e "$REUSE_LONG/fashion_plain_l$k.out" ] || continue
        acc_bank=$(last_acc "$REUSE_LONG/fashion_k${k}_l$((2 * k)).out") acc_plain=$(last_acc "$REUSE_LONG/fashion_plain_l$k.out")
        awk -v k="$k" -v b="$acc_bank" -v p="$acc_plain" 'BEGIN {
            printf "- K = %d: %d blocks from %d templates %.2f%% against the plain %d-block network %.2f%% (%+.2f points): bar (L = 2K beats plain K) %s.\n",
                k, 2 * k, k, b, k, p, b - p, (b > p ? "met" : "NOT met") }'
    done
}

# ---- Table 4: domain adaptation ---------------------------------------------
DOMAINS="handwritten optical printed blended"
# picked FILE: the source a label-free rule picked ("start: RULE picks S (...)")
picked() { sed -n 's/^start: [a-z]* picks \([a-z]*\) .*/\1/p' "$1"; }
# adapt_acc NAME: a run's accuracy, or "-" when it did not run
adapt_acc() { if [ -s "$ADAPT/$1.out" ]; then last_acc "$ADAPT/$1.out"; else echo -; fi; }
# bytes_of NAME: the target's trained bytes a run reported
bytes_of() { grep -o 'changed_param_bytes=[0-9]*' "$ADAPT/$1.out" 2>/dev/null | cut -d= -f2; }
# oracle T: "ACC (SOURCE)", the best single source with AdaBN, by the target's labels
oracle() {
    local t=$1 s best="" at="" acc
    for s in $DOMAINS; do
        [ -s "$ADAPT/adabn_${t}_$s.out" ] || continue
        acc=$(last_acc "$ADAPT/adabn_${t}_$s.out")
        if [ -z "$best" ] || awk -v a="$acc" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$acc at=$s; fi
    done
    echo "$best ($at)"
}
# mean_rows FILE FIRST LAST: a "| mean |" row of columns FIRST..LAST of a table
mean_rows() {
    awk -F'|' -v a="$2" -v b="$3" '{ for (i = a; i <= b; i++) { split($i, v, " "); sum[i] += v[1] } n++ }
        END { if (!n) exit; printf "| mean |"; for (i = a; i <= b; i++) printf " %.2f |", sum[i] / n; printf "\n" }' "$1"
}

adapt_section() {
    cat <<'TXT'

## Table 4: unsupervised domain adaptation

Made by `experiments/adapt.sh` (run as `THREADS=1 JOBS=2 experiments/adapt.sh`) on the
four domains of `templar data digits` (default seed: 4,000 / 1,438 / 16,000 /
12,000 training images; see [the samples](digits-domains.png)).  For each
target, a bank (width 32, 6 blocks, K = 4, one shared head) is trained on
the other three domains with their labels (3,000 steps, one domain a step in
turn, random crops, rotations of up to 10 degrees, zooms of up to 10 % and
colour jitter 0.3).  The target then joins as a new task, and no target label
is used but for the accuracy shown.  Every method but source-only
re-estimates the target's BN running statistics (3,328 bytes).

### Where the target starts

Source-only evaluates the sources' mean (mixture and BN) as it is; AdaBN
re-estimates the BN statistics at a start: the sources' mean, the source a
label-free rule picks, each source tried with its statistics re-estimated
(`confident`: the lowest mean prediction entropy; `closest`: the least
divergence between those statistics and the source's own; `both`, the
default: the lowest product of the two), `combine` (convex weights over every
source's mixture and BN, learned on the target's images by information
maximisation from `both`'s pick), or, as an oracle that reads the target's
labels, the best single source.  The source a rule picked is in brackets.

| target | source-only | AdaBN mean | AdaBN confident | AdaBN closest | AdaBN both | AdaBN combine | oracle: AdaBN best source |
|---|---:|---:|---:|---:|---:|---:|---:|
TXT
    local t
    for t in $DOMAINS; do
        [ -s "$ADAPT/adabn_${t}_both.out" ] || continue
        printf '| %s | %s | %s | %s (%s) | %s (%s) | %s (%s) | %s | %s |\n' "$t" \
            "$(adapt_acc "source_$t")" "$(adapt_acc "adabn_$t")" \
            "$(adapt_acc "adabn_${t}_confident")" "$(picked "$ADAPT/adabn_${t}_confident.out")" \
            "$(adapt_acc "adabn_${t}_closest")" "$(picked "$ADAPT/adabn_${t}_closest.out")" \
            "$(adapt_acc "adabn_${t}_both")" "$(picked "$ADAPT/adabn_${t}_both.out")" \
            "$(adapt_acc "adabn_${t}_combine")" "$(oracle "$t")"
    done | tee "$ADAPT/starts.md"
    mean_rows "$ADAPT/starts.md" 3 9
    adapt_objectives_section
    adapt_mixtures_section
}

# ---- Table 4, the objectives --------------------------------------------------
ADAPT_ARMS="mixture_%s mixture_%s_both mixture_%s_both_pseudo mixture_%s_both_moments mixture_%s_both_moments+pseudo mixture_%s_both_bn mixture_%s_both_bn_moments+pseudo mixture_%s_combine mixture_%s_both_joint_moments+pseudo full_%s_both_infomax full_%s_both_pseudo full_%s_both_moments+pseudo"
adapt_objectives_section() {
    local t arm row
    cat <<'TXT'

### What the target trains, and on what

From the `mean`, `both` or `combine` start, 300 steps of the target's
mixture logits on an objective: `infomax` (confident, class-balanced
predictions), `pseudo` (that plus cross-entropy against pseudo-labels from
the target features' class centroids, SHOT's), `moments` (the mean and mean
square of the target's pooled features matched to the sources', M3SDA's,
against the moments each source's training recorded in the model file: no
source image is read) or `moments+pseudo`.  "+BN" trains the target's BN
scale and shift too.  "Joint" keeps the sources training on their labels in
the same run (`--with-sources`, 1,200 steps, a quarter of them the
target's): the bank moves with them, the target still owns only its logits.
"Ceiling" trains the whole network (`--mode full`) on the objective: a
reference, not a few bytes.  The last row is what the target stores beside
the BN statistics, in bytes.

| target | infomax (mean start) | infomax | pseudo | moments | moments+pseudo | +BN: infomax | +BN: moments+pseudo | combine: infomax | joint: moments+pseudo | ceiling: infomax | ceiling: pseudo | ceiling: moments+pseudo |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
TXT
    for t in $DOMAINS; do
        [ -s "$ADAPT/mixture_${t}_both.out" ] || continue
        row="| $t |"
        for arm in $ADAPT_ARMS; do
            # shellcheck disable=SC2059 # the arm is the format
            row+=" $(adapt_acc "$(printf "$arm" "$t")") |"
        done
        echo "$row"
    done | tee "$ADAPT/objectives.md"
    mean_rows "$ADAPT/objectives.md" 3 14
    row="| bytes |"
    for arm in $ADAPT_ARMS; do
        # shellcheck disable=SC2059
        row+=" $(bytes_of "$(printf "$arm" handwritten)") |"
    done
    echo "$row"
    adapt_bars
    cat <<'TXT'

Reading the tables (seed 1, one run of each; no spread over seeds was
measured):
- The `both` rule picks the oracle's source on all four targets, and
  `combine`'s learned weights stay near that pick (it adds nothing here).
- Training the target's BN scale and shift beside its logits is what lifts
  the far targets (printed 63.22 to 87.20, optical 86.91 to 97.21) for 3.3 KB
  more, so `--train logits+bn` is `adapt`'s default.
- Moment matching against the moments the sources recorded, with the
  logits alone (96 bytes), pulls the target towards the sources' mean
  feature distribution and loses to information maximisation (66.27
  against 75.22); beside pseudo-labels, BN training or the training
  sources it reaches 73-83 %, and joint training with the sources gives
  blended its best figure (63.17).
- The whole network trained on information maximisation alone collapses
  on printed and blended (one class); with pseudo-labels it does not, and
  it still stays below the target's 3.4 KB of logits and BN.
TXT
}

# The bars of the adaptation issue, from the tables' files: the best
# mixture-level column (columns 3..10: at most 8 KB a target) against AdaBN
# from the mean start, the oracle and 75 %; and whether it beats
# source-only and AdaBN (mean and both starts) on every target.
adapt_bars() {
    paste -d'|' "$ADAPT/starts.md" "$ADAPT/objectives.md" | awk -F'|' '
        { target[NR] = $2; gsub(/ /, "", target[NR]); src[NR] = $3 + 0; adabn_mean[NR] = $4 + 0; adabn_both[NR] = $7 + 0; split($9, o, " "); oracle[NR] = o[1]
          for (c = 3; c <= 10; c++) { v[NR, c] = $(c + 10) + 0; sum[c] += $(c + 10) } n = NR }
        END { if (!n) exit
            split("infomax-mean infomax pseudo moments moments+pseudo +BN-infomax +BN-moments+pseudo combine-infomax", name, " ")
            best = 3; for (c = 4; c <= 10; c++) if (sum[c] > sum[best]) best = c
            for (i = 1; i <= n; i++) { a += adabn_mean[i]; orc += oracle[i]
                if (v[i, best] <= src[i] || v[i, best] <= adabn_mean[i]) lose = lose " " target[i]
                if (v[i, best] <= adabn_both[i]) tie = tie " " target[i] }
            m = sum[best] / n; a /= n; orc /= n
            printf "\nThe best mixture-level column by its mean is %s, %.2f %%. Bars:\n", name[best - 2], m
            printf "- at least 10 points above AdaBN from the mean start (%.2f): %+.2f, %s;\n", a, m - a, (m >= a + 10) ? "met" : "NOT met"
            printf "- at least 75 %% absolute: %s;\n", (m >= 75) ? "met" : "NOT met"
            printf "- at least 3 points above the oracle single source with AdaBN (%.2f): %+.2f, %s;\n", orc, m - orc, (m >= orc + 3) ? "met" : "NOT met"
            printf "- above source-only and AdaBN from the mean start on every target: %s", (lose == "") ? "met" : ("NOT met on" lose)
            printf "; above AdaBN from the both start on every target: %s.\n", (tie == "") ? "yes" : ("not on" tie) }'
}

adapt_mixtures_section() {
    local t0
    echo
    echo "Mean similarity of the domains' mixtures per block, first to last (1 - Jensen-Shannon divergence; \`templar inspect\`):"
    echo
    for t0 in $DOMAINS; do
        [ -e "$ADAPT/inspect_$t0.txt" ] || continue
        printf -- '- target %s: %s\n' "$t0" "$(awk '/task similarity/ { on = 1 } on && /^ +[0-9]+ / {
            for (i = 2; i <= NF; i++) if ($i == "shared" || $i == "partly" || $i == "specialised") { printf "%s ", $(i - 1); break } }' "$ADAPT/inspect_$t0.txt")"
    done
    for t0 in $DOMAINS; do
        [ -e "$ADAPT/mixtures_$t0.png" ] || continue
        cp "$ADAPT/mixtures_$t0.png" "docs/adapt-mixtures-$t0.png"
        printf '\nMixtures with %s as the target (sources, then the adapted target):\n\n![%s](adapt-mixtures-%s.png)\n\n```\n%s\n```\n' \
            "$t0" "$t0" "$t0" "$(grep -A20 'task similarity' "$ADAPT/inspect_$t0.txt")"
    done
}

# ---- Table 5: mixture granularity in transfer ---------------------------------
granularity_section() {
    cat <<'TXT'

## Table 5: how finely a new task re-mixes

Made by `experiments/granularity.sh`: Table 2's setting (a bank of width 32,
6 blocks, K = 4 pretrained 6 epochs on fashion and handwritten; optical as
the new task, 500 steps of batch 32 from the closest task, seed 1) with one
bank per mixture granularity (`--mix`): one mixture a block, a conv, or a
group of 8 or 4 output channels of each conv; mixture-mode transfer with the
logits' learning rate x1 and x10 (`--logit-lr`).  Bytes: the new task's,
apart from its head (1,320 bytes), BN statistics included; "logits" is the
mixtures' share of it.

| bank | logit lr | 10 labels/class | 50 | all | bytes per task | of which logits |
|---|---:|---:|---:|---:|---:|---:|
TXT
    local mix lr f n row
    {
    for mix in block conv group8 group4; do
        for lr in 1 10; do
            [ -e "$GRAN/mixture_${mix}_lr${lr}_0.out" ] || continue
            row="| $mix (mixture) | x$lr"
            for n in 10 50 0; do row+=" | $(last_acc "$GRAN/mixture_${mix}_lr${lr}_$n.out")"; done
            f=$GRAN/mixture_${mix}_lr${lr}_0.out
            echo "$row | $(field "$f" new_task_bytes) | $(grep -o 'logits [0-9]*' "$f" | head -n 1 | cut -d' ' -f2) |"
        done
    done
    for mode in full scratch; do
        [ -e "$GRAN/${mode}_block_0.out" ] || continue
        row="| block ($mode) | -"
        for n in 10 50 0; do row+=" | $(last_acc "$GRAN/${mode}_block_$n.out")"; done
        echo "$row | $(field "$GRAN/${mode}_block_0.out" new_task_bytes) | - |"
    done
    } | tee "$GRAN/table.md"
    echo
    # each label count: the best mixture row against full fine-tuning and scratch
    awk -F'|' '$2 ~ /full/ { for (i = 4; i <= 6; i++) full[i] = $i }
        $2 ~ /scratch/ { for (i = 4; i <= 6; i++) scr[i] = $i }
        $2 ~ /mixture/ { for (i = 4; i <= 6; i++) if ($i + 0 > best[i] + 0) { best[i] = $i; who[i] = $2 "," $3 } }
        END { split("10 labels/class,50 labels/class,all labels", lab, ",")
            for (i = 4; i <= 6; i++) { w = who[i]; gsub(/ +/, " ", w)
                gsub(/^ | $/, "", w); sub(/ \(mixture\) ?, ?/, ", logit lr ", w)
                printf "- %s: the best mixture (%s) %.2f %%, %+.2f points from full fine-tuning, %+.2f from scratch.\n", lab[i - 3], w, best[i], best[i] - full[i], best[i] - scr[i] } }' \
        "$GRAN/table.md"
}

# ---- Table 6: the many-task bank and held-out scripts ---------------------------
remix_section() {
    cat <<'TXT'

## Table 6: a many-task bank re-mixed for scripts it never saw

Made by `experiments/remix.sh`: one bank (width 32, 6 blocks, K = 4, 28x28
input, 12,000 steps, seed 1) trained on 13 tasks: ten scripts of `templar
data scripts` (test images in fonts no training image uses), fashion,
handwritten and optical.  Each held-out script joins as a new task with 10,
50 or all training images per class and trains 500 steps of batch 32 from
the closest old task.  Mixture columns: the task's logits, BNs and head
train, in banks of basic blocks mixed per conv (the finest that helped in
Table 5), basic blocks mixed per block, and inverted bottlenecks (expansion
3) mixed per conv; head, full and scratch on the first bank: only the head;
everything; a network of its own.  Bytes per task (apart from the head) are
in the last rows; a dash is an arm that was not run; the means are over the
scripts each column has.

| script | labels/class | mixture (basic, conv) | mixture (basic, block) | mixture (inverted, conv) | head | full | scratch |
|---|---:|---:|---:|---:|---:|---:|---:|
TXT
    local s n label
    for s in armenian bengali thai katakana; do
        for n in 10 50 0; do
            [ -e "$REMIX/basic_conv_${s}_mixture_$n.out" ] || continue
            label=$n; [ "$n" = 0 ] && label=all
            printf '| %s | %s |' "$s" "$label"
            for f in basic_conv_${s}_mixture basic_block_${s}_mixture inverted_conv_${s}_mixture \
                basic_conv_${s}_head basic_conv_${s}_full basic_conv_${s}_scratch; do
                acc_cell "$REMIX/${f}_$n.out"
            done
            echo
        done
    done | tee "$REMIX/table.md"
    {
    for n in 10 50 all; do
        mean_row "$REMIX/table.md" "$n" 9
    done
    printf '| bytes per task | |'
    for f in basic_conv basic_block inverted_conv; do
        if [ -e "$REMIX/${f}_armenian_mixture_0.out" ]; then printf ' %s |' "$(field "$REMIX/${f}_armenian_mixture_0.out" new_task_bytes)"; else printf ' - |'; fi
    done
    for f in head full scratch; do
        if [ -e "$REMIX/basic_conv_armenian_${f}_0.out" ]; then printf ' %s |' "$(field "$REMIX/basic_conv_armenian_${f}_0.out" new_task_bytes)"; else printf ' - |'; fi
    done
    echo
    } | tee "$REMIX/summary.md"
    experiments/plot_remix.sh "$REMIX" >docs/remix.svg
    echo
    echo '![mean accuracy on the held-out scripts against labels per class, each arm with its bytes per task](remix.svg)'
    echo
    # per mixture column: mean gap to full at all and 50 labels, least lead over scratch at 10
    awk -F'|' '{ gsub(/ /, "", $3); for (i = 4; i <= 6; i++) if ($i ~ /[0-9]/) {
            if ($3 == "all" && $8 ~ /[0-9]/) { all[i] += $i - $8; na[i]++ }
            if ($3 == "50" && $8 ~ /[0-9]/) { f50[i] += $i - $8; n50[i]++ }
            if ($3 == "10" && $9 ~ /[0-9]/ && (!(i in lead) || $i - $9 < lead[i])) lead[i] = $i - $9 } }
        END { name[4] = "basic, conv"; name[5] = "basic, block"; name[6] = "inverted, conv"
            for (i = 4; i <= 6; i++) if (na[i]) printf "- mixture (%s) against full fine-tuning, mean over the held-out scripts that have both: %+.2f points at all labels (bar: within 2: %s), %+.2f at 50 (bar: within 3: %s); its least lead over scratch at 10 labels %+.2f (bar: +5 on every script: %s).\n",
                name[i], all[i] / na[i], (all[i] / na[i] >= -2 ? "met" : "NOT met"), f50[i] / n50[i], (f50[i] / n50[i] >= -3 ? "met" : "NOT met"), lead[i], (lead[i] >= 5 ? "met" : "NOT met") }' "$REMIX/table.md"
    [ -e "$REMIX/basic_conv_armenian_lr10_10.out" ] || return 0
    cat <<'TXT'

The transfer recipe on the first bank (basic blocks mixed per conv, mixture
mode): the logits' learning rate as a multiple of the others'
(`--logit-lr`), their start (`--init`: the closest old task, or uniform),
and which parts train (`--train`: all three, the logits and head with the
BN scale/shift frozen at the start's, or the BN and head with the logits
frozen).

| script | labels/class | closest, x1 | closest, x10 | closest, x30 | uniform, x1 | logits+head | bn+head |
|---|---:|---:|---:|---:|---:|---:|---:|
TXT
    for s in armenian bengali thai katakana; do
        for n in 10 50; do
            printf '| %s | %s |' "$s" "$n"
            for f in mixture lr10 lr30 uniform lh bh; do
                acc_cell "$REMIX/basic_conv_${s}_${f}_$n.out"
            done
            echo
        done
    done | tee "$REMIX/recipe.md"
    awk -F'|' '{ for (i = 4; i <= 9; i++) if ($i ~ /[0-9]/) { sum[i] += $i; c[i]++ } }
        END { printf "| mean | 10 and 50 |"; for (i = 4; i <= 9; i++) printf (c[i] ? " %.2f |" : " - |"), sum[i] / (c[i] ? c[i] : 1); print "" }' "$REMIX/recipe.md"
    cat <<'TXT'

The closest task is the start to keep (a uniform start loses 2 to 10
points); the logits' learning rate moves single scripts by up to 2.4 points
either way but no multiple wins on the mean.  Of the parts, the BN
scale/shift carry most of what a task learns in this bank (freezing them
costs 4.4 points on the mean, freezing the logits 0.3), and all three
together are best, so `templar transfer` keeps its defaults (`--init
closest`, `--logit-lr 1`, `--train logits+bn+head`).  Logits never take
weight decay (optim.c decays templates, convs and head weights only).  The
temperature is not a transfer setting: it is the bank's (`train --tau`),
shared by every task, so changing it would change the old tasks (`transfer`
refuses `--tau-end` in mixture and head modes); and under SGD, dividing the
logits by tau amounts to scaling their start by 1/tau and their learning
rate by 1/tau^2, whose learning-rate part `--logit-lr` sweeps.
TXT
}

# ---- Table 6, longer: the same transfers with TRANSFER_STEPS=2000 ------------
remix_long_section() {
    cat <<'TXT'

The same transfers trained four times as long, at 50 and all labels per
class (`TRANSFER_STEPS=2000 LABELS="50 0" MODES="mixture full" RECIPE=0
experiments/remix.sh runs/remix-long`, once with `VARIANTS=inverted:conv`,
once with `VARIANTS=basic:conv`, over the same banks): 500 steps are two
passes over a script's full training set, where the mixture's training loss
is still falling.  Full fine-tuning is run on both banks here; Table 6 has
it on the basic one.  The basic bank's pair also ran 4000 steps at all
labels (`TRANSFER_STEPS=4000 LABELS=0 VARIANTS=basic:conv ...
runs/remix-4000`).

| script | labels/class | mixture (inverted, conv), 500 | 2000 | full (inverted), 2000 | mixture (basic, conv), 500 | 2000 | full (basic), 500 | 2000 | mixture (basic, conv), 4000 | full (basic), 4000 |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
TXT
    local s n label f d
    for s in armenian bengali thai katakana; do
        for n in 50 0; do
            label=$n; [ "$n" = 0 ] && label=all
            printf '| %s | %s |' "$s" "$label"
            for f in "$REMIX/inverted_conv_${s}_mixture" "$REMIX_LONG/inverted_conv_${s}_mixture" "$REMIX_LONG/inverted_conv_${s}_full" \
                "$REMIX/basic_conv_${s}_mixture" "$REMIX_LONG/basic_conv_${s}_mixture" "$REMIX/basic_conv_${s}_full" "$REMIX_LONG/basic_conv_${s}_full" \
                "$REMIX_4000/basic_conv_${s}_mixture" "$REMIX_4000/basic_conv_${s}_full"; do
                acc_cell "${f}_$n.out"
            done
            echo
        done
    done | tee "$REMIX_LONG/table.md"
    for n in 50 all; do
        mean_row "$REMIX_LONG/table.md" "$n" 12
    done | tee "$REMIX_LONG/means.md"
    # the curve: each 2000-step arm's mean at the bytes a task costs it
    local b5 b6 b8 b10
    b5=$(field "$REMIX_LONG/inverted_conv_armenian_mixture_0.out" new_task_bytes 2>/dev/null || true)
    b6=$(field "$REMIX_LONG/inverted_conv_armenian_full_0.out" new_task_bytes 2>/dev/null || true)
    b8=$(field "$REMIX_LONG/basic_conv_armenian_mixture_0.out" new_task_bytes 2>/dev/null || true)
    b10=$(field "$REMIX_LONG/basic_conv_armenian_full_0.out" new_task_bytes 2>/dev/null || true)
    awk -F'|' -v b5="$b5" -v b6="$b6" -v b8="$b8" -v b10="$b10" '{ n = $3; gsub(/ /, "", n)
        if ($5 ~ /[0-9]/ && b5) print n, b5, $5 + 0, "mixture,inverted"
        if ($6 ~ /[0-9]/ && b6) print n, b6, $6 + 0, "full,inverted"
        if ($8 ~ /[0-9]/ && b8) print n, b8, $8 + 0, "mixture,basic"
        if ($10 ~ /[0-9]/ && b10) print n, b10, $10 + 0, "full,basic" }' "$REMIX_LONG/means.md" >"$REMIX_LONG/curve.txt"
    echo
    experiments/plot_bytes.sh "$REMIX_LONG" >docs/remix-bytes.svg
    echo '![mean accuracy on the held-out scripts against the bytes a task stores, 2000-step transfers](remix-bytes.svg)'
    echo
    # 2000 steps: a mixture column (m) against a full column (f)
    local pair
    for pair in "5 6 inverted, conv|inverted" "5 10 inverted, conv|basic" "8 10 basic, conv|basic" "11 12 basic, conv|basic"; do
        awk -F'|' -v m="${pair%% *}" -v f="$(echo "$pair" | cut -d' ' -f2)" -v what="$(echo "$pair" | cut -d' ' -f3-)" '{
            gsub(/ /, "", $3)
            if ($m ~ /[0-9]/ && $f ~ /[0-9]/) { if ($3 == "all") { all += $m - $f; na++ } if ($3 == "50") { f50 += $m - $f; n50++ } } }
            END { split(what, w, "|"); if (!na) exit
                printf "- %d steps, mixture (%s) against full fine-tuning of the %s bank (as many steps), mean over the held-out scripts: %+.2f points at all labels (bar: within 2: %s)",
                    m == 11 ? 4000 : 2000, w[1], w[2], all / na, (all / na >= -2 ? "met" : "NOT met")
                if (n50) printf ", %+.2f at 50 (bar: within 3: %s)", f50 / n50, (f50 / n50 >= -3 ? "met" : "NOT met")
                print "." }' "$REMIX_LONG/table.md"
    done
}

# ---- Table 7: multi-task on the many-task suite ------------------------------
SUITE="fashion handwritten optical greek cyrillic georgian hebrew arabic devanagari tamil ethiopic hiragana hangul"
suite_section() {
    cat <<'TXT'

## Table 7: multi-task learning on the many-task suite

Made by `experiments/multitask_suite.sh` over the banks of
`experiments/remix.sh`: the 13 tasks Table 6's banks trained on (12,000
steps of the round robin, batch 64, width 32, 6 blocks, K = 4, seed 1),
against a hard-shared trunk (one mixture for all tasks) trained the same
way and a plain network of its own for every task trained the 924 steps
the round robin gives a task, in both block kinds (inverted: expansion 3,
mixed per conv).  Parameters exclude BN running statistics; the
independent networks' are the sum of all 13.

| task | independent (basic) | hard-shared (basic) | bank (basic, block) | bank (basic, conv) | independent (inverted) | hard-shared (inverted) | bank (inverted, conv) |
|---|---:|---:|---:|---:|---:|---:|---:|
TXT
    local t f
    # one_acc RUN TASK: the task's accuracy in a run's output, "-" when it did not run
    one_acc() { if [ -s "$REMIX/$1.out" ]; then acc "$REMIX/$1.out" "$2"; else echo -; fi; }
    for t in $SUITE; do
        printf '| %s |' "$t"
        for f in indep_$t shared_basic bank_basic_block bank_basic_conv indep_inverted_$t shared_inverted bank_inverted_conv; do
            printf ' %s |' "$(one_acc "$f" "$t")"
        done
        echo
    done | tee "$REMIX/suite.md"
    awk -F'|' '{ for (i = 3; i <= 9; i++) if ($i ~ /[0-9]/) { s[i] += $i; c[i]++ } }
        END { printf "| mean |"; for (i = 3; i <= 9; i++) printf (c[i] == NR ? " %.2f |" : " - |"), s[i] / NR; print "" }' "$REMIX/suite.md" | tee "$REMIX/suite_mean.md"
    local basic=0 inverted=0
    for t in $SUITE; do
        basic=$((basic + $(params "$REMIX/indep_$t.err")))
        [ -s "$REMIX/indep_inverted_$t.out" ] && inverted=$((inverted + $(params "$REMIX/indep_inverted_$t.err")))
    done
    printf '| parameters | %s | %s | %s | %s | %s | %s | %s |\n' "$basic" "$(params "$REMIX/shared_basic.err")" \
        "$(params "$REMIX/bank_basic_block.err")" "$(params "$REMIX/bank_basic_conv.err")" "$inverted" \
        "$(params "$REMIX/shared_inverted.err" 2>/dev/null || echo -)" "$(params "$REMIX/bank_inverted_conv.err")" | tee "$REMIX/suite_params.md"
    echo
    # a bank column (b) against its independent (i) and hard-shared (h) columns
    paste -d'|' "$REMIX/suite_mean.md" "$REMIX/suite_params.md" | awk -F'|' '
        function bar(b, i, h, what) { if ($b !~ /[0-9]/ || $i !~ /[0-9]/ || $h !~ /[0-9]/ || !($(i + 10) > 0)) return
            share = 100 * $(b + 10) / $(i + 10)
            printf "- bank (%s): mean %.2f against hard-shared %.2f and independent %.2f, %.1f%% of their parameters: bar (above hard-shared, within 0.5 of independent, at most 30%%) %s.\n",
                what, $b, $h, $i, share, (($b > $h && $b >= $i - 0.5 && share <= 30) ? "met" : "NOT met") }
        { bar(5, 3, 4, "basic, block; basic baselines"); bar(6, 3, 4, "basic, conv; basic baselines")
          bar(9, 7, 8, "inverted, conv; inverted baselines"); bar(9, 3, 4, "inverted, conv; basic baselines") }'
}

echo "# Results"
[ -e "$OUT/bank_k4.out" ] && multitask_section
[ -e "$REUSE/fashion_k1_l2.out" ] && reuse_section
[ -e "$REUSE_LONG/fashion_plain_l2.out" ] && reuse_long_section
[ -e "$ADAPT/adabn_handwritten_both.out" ] && adapt_section
[ -e "$GRAN/mixture_block_lr1_10.out" ] && granularity_section
[ -e "$REMIX/basic_conv_armenian_mixture_10.out" ] && remix_section
[ -e "$REMIX_LONG/inverted_conv_armenian_mixture_0.out" ] && remix_long_section
[ -e "$REMIX/indep_hangul.out" ] && suite_section
exit 0
