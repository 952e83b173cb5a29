#!/usr/bin/env bash
# templar transfer through the binary: a new task over a two-task model.
# The mixture transfer exits 0 and reports the bytes the task adds; the old
# tasks evaluate exactly as before; head, full and scratch modes and
# --per-class run; bad invocations fail with one line and leave no file.
#
# usage: bash tests/cli_transfer.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_transfer "${1:-}"

idx_dir "$T/d1" 12 96 32 4 17
idx_dir "$T/d2" 12 80 24 3 99
idx_dir "$T/d3" 12 64 24 5 41
idx_dir "$T/d10" 10 48 16 4 5
COMMON=(--batch 16 --eval-batch 16 --threads 2)
run train --tasks "a=idx:$T/d1,b=idx:$T/d2" --width 16 --layers 3 --templates 2 "${COMMON[@]}" --steps 6 --out "$T/m.safetensors"
[ "$rc" -eq 0 ] && ok || bad "training the source model: exit $rc"
run eval "$T/m.safetensors" --batch 16
grep '^task=' "$T/stdout" >"$T/old.txt"

# ---- mixture transfer -----------------------------------------------------
run transfer --from "$T/m.safetensors" --task "c=idx:$T/d3" "${COMMON[@]}" --steps 8 --out "$T/t.safetensors"
cp "$T/stdout" "$T/transfer.out"
last=$(tail -n 1 "$T/transfer.out")
bytes=$(grep '^task=c mode=mixture ' "$T/transfer.out")
if [ "$rc" -ne 0 ]; then bad "transfer: exit $rc"
elif ! [[ $last =~ ^model=$T/t.safetensors\ steps=8\ test_loss=[0-9.]+\ test_acc=0\.[0-9]{4}$ ]]; then bad "transfer: last line '$last'"
elif ! [[ $bytes =~ new_task_bytes=([0-9]+)\ head_bytes=([0-9]+) ]]; then bad "transfer: no bytes line"
# logits 3x2 + BN (stem 16 + 3x2x16) x 4 floats: (6 + 112 x 4) x 4 bytes; head 5x16 + 5
elif [ "${BASH_REMATCH[1]}" -ne $(((6 + 112 * 4) * 4)) ] || [ "${BASH_REMATCH[2]}" -ne $(((5 * 16 + 5) * 4)) ]; then
    bad "transfer: bytes line '$bytes'"
elif ! grep -q "starting from '[ab]'" "$T/stderr"; then bad "transfer: no closest-task line"
else ok; fi

run eval "$T/t.safetensors" --batch 16
grep '^task=[ab] ' "$T/stdout" >"$T/new.txt"
if [ "$rc" -ne 0 ]; then bad "eval after transfer: exit $rc"
elif ! cmp -s "$T/old.txt" "$T/new.txt"; then bad "old tasks changed: $(cat "$T/old.txt") vs $(cat "$T/new.txt")"
elif ! grep -q '^task=c ' "$T/stdout"; then bad "eval after transfer: no line for task c (its data not recorded)"
else ok; fi
run info "$T/t.safetensors"
[ "$(grep -c "^task '" "$T/stdout")" -eq 3 ] && ok || bad "info after transfer: not 3 tasks"

# ---- the other modes and few labels --------------------------------------
for mode in head full scratch; do
    run transfer --from "$T/m.safetensors" --task "c=idx:$T/d3" --mode $mode "${COMMON[@]}" --steps 4 --out "$T/$mode.safetensors"
    if [ "$rc" -ne 0 ]; then bad "transfer --mode $mode: exit $rc"
    elif ! grep -q "^task=c mode=$mode " "$T/stdout"; then bad "transfer --mode $mode: no bytes line"
    else ok; fi
done
run info "$T/scratch.safetensors"
[ "$(grep -c "^task '" "$T/stdout")" -eq 1 ] && ok || bad "scratch: not a one-task model"
run transfer --from "$T/m.safetensors" --task "c=idx:$T/d3" --per-class 4 --batch 8 --eval-batch 16 --threads 2 --steps 3 --init b --out "$T/few.safetensors"
if [ "$rc" -ne 0 ]; then bad "transfer --per-class: exit $rc"
elif ! grep -q '20 train' "$T/stderr"; then bad "transfer --per-class 4: not 20 training images"
else ok; fi

# ---- a subset of the mixture's parts trains --------------------------------
run transfer --from "$T/m.safetensors" --task "c=idx:$T/d3" --train logits+head "${COMMON[@]}" --steps 4 --out "$T/lh.safetensors"
all=$(sed -n 's/^task=c mode=mixture trained_params=\([0-9]*\) .*/\1/p' "$T/transfer.out")
some=$(sed -n 's/^task=c mode=mixture trained_params=\([0-9]*\) .*/\1/p' "$T/stdout")
if [ "$rc" -ne 0 ]; then bad "transfer --train logits+head: exit $rc"
elif ! [ -n "$all" ] || ! [ -n "$some" ] || [ "$some" -ge "$all" ]; then
    bad "transfer --train logits+head: $some trained parameters, not fewer than mixture's $all"
else ok; fi

# ---- bad invocations -------------------------------------------------------
expect_error 2 "--train" "--train without the head" -- transfer --from "$T/m.safetensors" --task "c=idx:$T/d3" --train logits+bn --out "$T/x.safetensors"
expect_error 2 "--train" "--train with a part that is none" -- transfer --from "$T/m.safetensors" --task "c=idx:$T/d3" --train logits+templates+head --out "$T/x.safetensors"
expect_error 2 "--mode mixture" "--train with --mode full" -- transfer --from "$T/m.safetensors" --task "c=idx:$T/d3" --mode full --train logits+head --out "$T/x.safetensors"
expect_error 2 "--tau-end" "--tau-end in mixture mode" -- transfer --from "$T/m.safetensors" --task "c=idx:$T/d3" --tau-end 0.5 --out "$T/x.safetensors"
expect_error 2 "--from" "no --from" -- transfer --task "c=idx:$T/d3" --out "$T/x.safetensors"
expect_error 2 "--task" "no --task" -- transfer --from "$T/m.safetensors" --out "$T/x.safetensors"
expect_error 2 "--mode" "unknown mode" -- transfer --from "$T/m.safetensors" --task "c=idx:$T/d3" --mode bogus --out "$T/x.safetensors"
expect_error 1 "$T/nope.safetensors" "missing model" -- transfer --from "$T/nope.safetensors" --task "c=idx:$T/d3" --out "$T/x.safetensors"
expect_error 1 "already has a task 'a'" "a task the model has" -- transfer --from "$T/m.safetensors" --task "a=idx:$T/d3" --out "$T/x.safetensors"
expect_error 1 "no task 'zz'" "--init an unknown task" -- transfer --from "$T/m.safetensors" --task "c=idx:$T/d3" --init zz --out "$T/x.safetensors"
expect_error 1 "per-class" "--per-class too few for a batch" -- transfer --from "$T/m.safetensors" --task "c=idx:$T/d3" --per-class 1 --batch 16 --out "$T/x.safetensors"
no_file "$T/x.safetensors" "failed transfers"

# a new task of another image size: resized to the model's input, and said
run transfer --from "$T/m.safetensors" --task "c=idx:$T/d10" --steps 2 --out "$T/sized.safetensors"
[ "$rc" -eq 0 ] && grep -q "task 'c': [0-9]* images resized or converted to 1x12x12" "$T/stderr" && ok ||
    bad "a new task of another size: exit $rc"
# never over --from, and an existing --out only with --force
cp "$T/m.safetensors" "$T/keep.safetensors"
expect_error 1 "is the model this command reads" "transfer over its --from" -- transfer --from "$T/keep.safetensors" --task "c=idx:$T/d3" --steps 2 --out "$T/keep.safetensors" --force
expect_error 1 "exists; give --force" "transfer over an existing file" -- transfer --from "$T/m.safetensors" --task "c=idx:$T/d3" --steps 2 --out "$T/sized.safetensors"
cmp -s "$T/m.safetensors" "$T/keep.safetensors" && ok || bad "--from was touched"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
