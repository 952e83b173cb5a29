#!/usr/bin/env bash
# Block kinds through the binary: --block inverted (--expand E) trains in
# fp32 and bf16, info says the kind and counts a task's bytes (no BN scale
# or shift of the blocks: the templates hold them), eval and export agree
# (the plain file's accuracy is the model's), a new task re-mixes it, and
# bad choices fail with one line and no model file.
#
# usage: bash tests/cli_blocks.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_blocks "${1:-}"

idx_dir "$T/d1" 12 64 32 4 17
INV=(--data "$T/d1" --width 16 --layers 2 --templates 2 --block inverted --expand 2 --batch 16
     --eval-batch 16 --threads 2 --steps 40)

for p in fp32 bf16; do
    run train "${INV[@]}" --precision "$p" --out "$T/inv_$p.safetensors"
    if [ "$p" = bf16 ] && grep -q 'bf16' "$T/stderr" && grep -q 'not support\|no AVX-512 BF16' "$T/stderr"; then continue; fi
    [ "$rc" -eq 0 ] && [ -s "$T/inv_$p.safetensors" ] && ok || bad "train --block inverted --precision $p: exit $rc"
done

run info "$T/inv_fp32.safetensors"
# a task's own: logits 2x2 floats, stem BN scale and shift 2x16, head 4x16+4;
# running statistics (mean and variance): stem 16, blocks 2 x (2x2+1 rows of 16), 4 bytes each;
# feature moments: 2 rows of 16
grep -q '2 inverted-bottleneck blocks from 2 templates' "$T/stdout" &&
    grep -q "bytes = mixture logits 16 + BN 128 + head 272 (+ 1408 bytes of BN running statistics, 128 of feature moments)" "$T/stdout" &&
    ok || bad "info of an inverted model: $(grep -e 'stage 0' -e "task '" "$T/stdout")"

run eval "$T/inv_fp32.safetensors" --data "$T/d1"
[ "$rc" -eq 0 ] && ok || bad "eval of an inverted model: exit $rc"
want=$(value test_acc "$(results "$T/stdout")")
run export "$T/inv_fp32.safetensors" "$T/plain.safetensors"
[ "$rc" -eq 0 ] && ok || bad "export of an inverted model: exit $rc"
run eval "$T/plain.safetensors" --data "$T/d1"
got=$(value test_acc "$(results "$T/stdout")")
[ "$rc" -eq 0 ] && [ -n "$want" ] && [ "$got" = "$want" ] && ok ||
    bad "the plain file of an inverted model evaluates to $got, the model to $want"

run transfer --from "$T/inv_fp32.safetensors" --task "again=idx:$T/d1" --steps 4 --batch 16 --eval-batch 16 --threads 2 --out "$T/more.safetensors"
[ "$rc" -eq 0 ] && grep -q 'mode=mixture' "$T/stdout" && grep -q '(logits 16, BN 128, BN statistics 1408)' "$T/stdout" && ok ||
    bad "transfer to an inverted bank: exit $rc, $(grep new_task "$T/stdout")"

expect_error 1 "--block: 'mobile'" "an unknown block kind" -- train "${INV[@]}" --block mobile --out "$T/x.safetensors"
expect_error 2 "--expand" "an expansion of 0" -- train "${INV[@]}" --expand 0 --out "$T/x.safetensors"
expect_error 1 "not outputs" "inverted experts" -- train "${INV[@]}" --aggregate outputs --out "$T/x.safetensors"
no_file "$T/x.safetensors" "bad block choices"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
