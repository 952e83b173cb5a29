#!/usr/bin/env bash
# Routing choices through the binary: top-k and Gumbel routing train and
# save hard mixtures; mixing outputs (a mixture of experts) trains,
# evaluates and refuses export; --mixtures fixes them from a file (never trained);
# --tau-end anneals the temperature into the file; --mix group:G gives each
# group of output channels its mixture (info and transfer count its bytes);
# bad choices fail with one
# line and no model file.
#
# usage: bash tests/cli_routing.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_routing "${1:-}"

idx_dir "$T/d1" 12 64 16 4 17
SMALL=(--data "$T/d1" --width 16 --layers 3 --templates 3 --batch 16 --eval-batch 16 --threads 2 --steps 6)

# mixture rows of info: "  block  N: a b c"
rows() { grep '^  block' "$T/stdout"; }

run train "${SMALL[@]}" --routing topk --topk 1 --out "$T/top1.safetensors"
[ "$rc" -eq 0 ] && ok || bad "train --routing topk: exit $rc"
run info "$T/top1.safetensors"
if ! grep -q 'topk mixtures' "$T/stdout"; then bad "top-1: info does not say topk"
elif [ "$(rows | awk '{ n = 0; for (i = 3; i <= NF; i++) n += $i != "0.000"; print n }' | sort -u)" != 1 ]; then
    bad "top-1: a block reads more than one template: $(rows)"
else ok; fi

run train "${SMALL[@]}" --routing gumbel --topk 2 --tau-end 0.25 --out "$T/gumbel.safetensors"
[ "$rc" -eq 0 ] && ok || bad "train --routing gumbel: exit $rc"
run info "$T/gumbel.safetensors"
if ! grep -q 'gumbel mixtures (tau 0.25)' "$T/stdout"; then bad "gumbel: tau not annealed to 0.25: $(sed -n 2p "$T/stdout")"
elif [ "$(rows | awk '{ n = 0; for (i = 3; i <= NF; i++) n += $i != "0.000"; print n }' | sort -u)" != 2 ]; then
    bad "top-2 gumbel: not two templates a block: $(rows)"
else ok; fi
run eval "$T/gumbel.safetensors" --data "$T/d1"
[ "$rc" -eq 0 ] && ok || bad "eval of a gumbel model: exit $rc"

printf '1 0 0\n0 1 0\n0 0.5 0.5\n' >"$T/mix.txt"
run train "${SMALL[@]}" --mixtures "$T/mix.txt" --out "$T/fixed.safetensors"
[ "$rc" -eq 0 ] && ok || bad "train --mixtures: exit $rc"
run info "$T/fixed.safetensors"
if [ "$(rows | awk '{ $1 = $2 = ""; print }' | tr -s ' ' | sed 's/^ //')" != "$(printf '1.000 0.000 0.000\n0.000 1.000 0.000\n0.000 0.500 0.500')" ]; then
    bad "--mixtures: not the file's weights after training: $(rows)"
else ok; fi

# ---- mixing outputs: a mixture of experts --------------------------------------
run train "${SMALL[@]}" --aggregate outputs --routing topk --topk 2 --out "$T/moe.safetensors"
[ "$rc" -eq 0 ] && ok || bad "train --aggregate outputs: exit $rc"
run info "$T/moe.safetensors"
grep -q 'of outputs (mixture of experts)' "$T/stdout" && ok || bad "info: not a mixture of experts: $(sed -n 2p "$T/stdout")"
run eval "$T/moe.safetensors" --data "$T/d1"
[ "$rc" -eq 0 ] && ok || bad "eval of a mixture of experts: exit $rc"
expect_error 1 "mixes outputs" "export of a mixture of experts" -- export "$T/moe.safetensors" "$T/x.safetensors"
expect_error 1 "--aggregate" "an unknown aggregation" -- train "${SMALL[@]}" --aggregate both --out "$T/x.safetensors"

printf '1 0 0\n0 1\n' >"$T/short.txt"
expect_error 1 "short.txt" "a mixtures file too short" -- train "${SMALL[@]}" --mixtures "$T/short.txt" --out "$T/x.safetensors"
printf '1 0 0\n0 1 0\n0 0 1\n1\n' >"$T/long.txt"
expect_error 1 "more numbers" "a mixtures file too long" -- train "${SMALL[@]}" --mixtures "$T/long.txt" --out "$T/x.safetensors"
# ---- mixture granularity: a mixture per group of output channels ---------------
run train "${SMALL[@]}" --mix group:8 --routing topk --topk 1 --out "$T/group.safetensors"
[ "$rc" -eq 0 ] && ok || bad "train --mix group:8: exit $rc"
run info "$T/group.safetensors"
# 2 convs x 16/8 groups = 4 mixtures of 3 logits a block, 3 blocks: 36 floats
grep -q 'one mixture per group:8 (4 a block)' "$T/stdout" && grep -q 'mixture logits 144 ' "$T/stdout" &&
    ok || bad "info of --mix group:8: $(grep -e 'stage 0' -e "task '" "$T/stdout")"
run eval "$T/group.safetensors" --data "$T/d1"
[ "$rc" -eq 0 ] && ok || bad "eval of a group-mixed model: exit $rc"
run transfer --from "$T/group.safetensors" --task "again=idx:$T/d1" --steps 2 --batch 16 --eval-batch 16 --out "$T/group2.safetensors"
[ "$rc" -eq 0 ] && grep -q '(logits 144, ' "$T/stdout" && ok ||
    bad "transfer of a group-mixed model (the task's logits: 144 bytes): exit $rc, $(grep new_task "$T/stdout")"
expect_error 1 "do not split width 16" "groups that do not split the width" -- train "${SMALL[@]}" --mix group:5 --out "$T/x.safetensors"
expect_error 1 "--mix: 'blocks'" "an unknown granularity" -- train "${SMALL[@]}" --mix blocks --out "$T/x.safetensors"
expect_error 1 "one mixture per block" "experts mixed per conv" -- train "${SMALL[@]}" --mix conv --aggregate outputs --out "$T/x.safetensors"

expect_error 1 "--routing" "an unknown routing" -- train "${SMALL[@]}" --routing best --out "$T/x.safetensors"
expect_error 1 "topk" "top-k beyond the templates" -- train "${SMALL[@]}" --routing topk --topk 4 --out "$T/x.safetensors"
no_file "$T/x.safetensors" "bad routing choices"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
