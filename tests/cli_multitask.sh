#!/usr/bin/env bash
# templar train --tasks: several tasks on one template bank, through the
# binary.  Two tiny IDX tasks (made with printf, with 4 and 3 classes): a
# run exits 0 with a line per task and the mean last; one seed gives one
# file; info shows both tasks; eval finds each task's data from the file or
# from --data; bad task lists fail with one line (exit 1) and no file.
#
# usage: bash tests/cli_multitask.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_multitask "${1:-}"

idx_dir "$T/d1" 12 96 32 4 17
idx_dir "$T/d2" 12 80 24 3 99
idx_dir "$T/d10" 10 48 16 4 5

SMALL=(--width 16 --layers 2 --templates 2 --batch 16 --eval-batch 16 --threads 2)
TASKS="a=idx:$T/d1,b=idx:$T/d2"

# ---- a tiny two-task run, twice with one seed ----------------------------
run train --tasks "$TASKS" "${SMALL[@]}" --steps 6 --seed 3 --log "$T/m.jsonl" --out "$T/m.safetensors"
cp "$T/stdout" "$T/train.out"
last=$(tail -n 1 "$T/train.out")
line_a=$(grep '^task=a ' "$T/train.out")
line_b=$(grep '^task=b ' "$T/train.out")
if [ "$rc" -ne 0 ]; then bad "train --tasks: exit $rc"
elif [ "$(grep -c '^task=a ' "$T/train.out")" -ne 1 ] || [ "$(grep -c '^task=b ' "$T/train.out")" -ne 1 ]; then
    bad "train --tasks: not one line per task: $(cat "$T/train.out")"
elif ! [[ $line_a =~ ^task=a\ test_loss=[0-9.]+\ test_acc=0\.[0-9]{4}$ ]]; then bad "task line '$line_a'"
elif ! [[ $last =~ ^model=$T/m.safetensors\ steps=6\ .*test_acc=0\.[0-9]{4}$ ]]; then bad "train --tasks: last line '$last'"
elif [ ! -s "$T/m.safetensors" ]; then bad "train --tasks: no model file"
else ok; fi
no_file "$T/m.safetensors.tmp" "train --tasks leaves no temporary file"
# the last field is the mean of the tasks' accuracies (to the printed digits)
awk -v a="$(value test_acc "$line_a")" -v b="$(value test_acc "$line_b")" -v m="$(value test_acc "$last")" \
    'BEGIN { d = (a + b) / 2 - m; exit !(m != "" && d < 0.00011 && d > -0.00011) }' && ok ||
    bad "last test_acc is not the mean: '$last' vs ($line_a, $line_b)"
grep -q '"tasks":{"a":{"train_loss":[0-9.]*,"train_acc":[0-9.]*,"test_loss":[0-9.]*,"test_acc":[0-9.]*},"b":{' "$T/m.jsonl" &&
    [ "$(lines "$T/m.jsonl")" -eq 2 ] && head -n 1 "$T/m.jsonl" | grep -q '^{"kind":"run","started":"[0-9T:Z-]*","templar":' &&
    ok || bad "JSON log lacks the record or per-task results: $(cat "$T/m.jsonl")"
grep -q '^epoch 1/1 6/6 .* a [0-9.]*/[0-9.]* test [0-9.]*/[0-9.]*, b ' "$T/stderr" && ok ||
    bad "progress lacks per-task loss/acc: $(cat "$T/stderr")"

run train --tasks "$TASKS" "${SMALL[@]}" --steps 6 --seed 3 --out "$T/m2.safetensors"
[ "$rc" -eq 0 ] && same_tensors "$T/m.safetensors" "$T/m2.safetensors" && ok ||
    bad "same seed, different model files (exit $rc)"
run train --tasks "$TASKS" "${SMALL[@]}" --steps 6 --seed 4 --out "$T/m3.safetensors"
[ "$rc" -eq 0 ] && ! same_tensors "$T/m.safetensors" "$T/m3.safetensors" && ok ||
    bad "different seed: exit $rc or identical model file"

# ---- info: both tasks and their mixtures ---------------------------------
run info "$T/m.safetensors"
[ "$rc" -eq 0 ] && grep -q "^task 'a' (4 classes)" "$T/stdout" && grep -q "^task 'b' (3 classes)" "$T/stdout" &&
    grep -q "^mixtures of task 'a'" "$T/stdout" && grep -q "^mixtures of task 'b'" "$T/stdout" && ok ||
    bad "info: exit $rc or tasks/mixtures missing"

# ---- eval ----------------------------------------------------------------
run eval "$T/m.safetensors" --task b --data "$T/d2" --batch 16
out=$(results "$T/stdout")
[ "$rc" -eq 0 ] && [ "$(results "$T/stdout" | wc -l)" -eq 1 ] && [[ $out =~ ^model=.*\ task=b\ images=24\ test_loss=.*\ test_acc=0\.[0-9]{4}$ ]] &&
    [ "$(value test_loss "$out")" = "$(value test_loss "$line_b")" ] && [ "$(value test_acc "$out")" = "$(value test_acc "$line_b")" ] &&
    ok || bad "eval --task b --data: exit $rc, '$out' vs train's '$line_b'"
run eval "$T/m.safetensors" --batch 16   # every task, from the sources the file records
[ "$rc" -eq 0 ] && [ "$(results "$T/stdout" | wc -l)" -eq 3 ] && grep -q '^task=a images=32 ' "$T/stdout" &&
    grep -q '^task=b images=24 ' "$T/stdout" && [ "$(results "$T/stdout" | tail -n 1 | sed 's/.*test_acc=//')" = "${last##*test_acc=}" ] &&
    ok || bad "eval of every task: exit $rc, $(cat "$T/stdout")"
run eval "$T/m.safetensors" --task a
[ "$rc" -eq 0 ] && grep -q "task=a images=32 .*test_acc=$(value test_acc "$line_a")\$" "$T/stdout" && ok ||
    bad "eval --task a (source from the file): exit $rc"
expect_error 2 --task "eval --data of a multi-task model without --task" -- eval "$T/m.safetensors" --data "$T/d2"
expect_error 1 nosuch "eval of a task the model lacks" -- eval "$T/m.safetensors" --task nosuch
expect_error 1 classes "eval of task b on 4-class data" -- eval "$T/m.safetensors" --task b --data "$T/d1"

# ---- one task through --tasks is the single-task run ---------------------
run train --data "$T/d1" --task a "${SMALL[@]}" --steps 6 --seed 3 --out "$T/s1.safetensors"
single=$(tail -n 1 "$T/stdout")
run train --tasks "a=idx:$T/d1" "${SMALL[@]}" --steps 6 --seed 3 --out "$T/s2.safetensors"
one=$(grep '^task=a ' "$T/stdout")
[ "$rc" -eq 0 ] && [ -n "$one" ] && [ "${one#task=a }" = "test_loss=${single##*test_loss=}" ] && ok ||
    bad "--tasks with one task differs from --task/--data: '$one' vs '$single'"

# ---- bad task lists: exit 1, one line, no model file ----------------------
expect_error 1 "unknown task 'nosuch'" "unknown task name" -- train --tasks "a=idx:$T/d1,nosuch" "${SMALL[@]}" --out "$T/x.safetensors"
grep -q 'fashion, handwritten, optical' "$T/stderr" && ok || bad "unknown task: known names not listed"
expect_error 1 "png:" "unknown source kind" -- train --tasks "a=png:$T/d1" "${SMALL[@]}" --out "$T/x.safetensors"
expect_error 1 "twice" "a task named twice" -- train --tasks "a=idx:$T/d1,a=idx:$T/d2" "${SMALL[@]}" --out "$T/x.safetensors"
expect_error 1 "empty" "an empty element" -- train --tasks "a=idx:$T/d1,,b=idx:$T/d2" "${SMALL[@]}" --out "$T/x.safetensors"
expect_error 1 "$T/nope" "a task's missing directory" -- train --tasks "a=idx:$T/d1,b=idx:$T/nope" "${SMALL[@]}" --out "$T/x.safetensors"
expect_error 1 "one batch of 90" "a task smaller than one batch" -- train --tasks "$TASKS" "${SMALL[@]}" --batch 90 --out "$T/x.safetensors"
expect_error 2 "--tasks" "--task with --tasks" -- train --task a --tasks "a=idx:$T/d1" "${SMALL[@]}" --out "$T/x.safetensors"
no_file "$T/x.safetensors" "bad task lists"

# tasks of different image sizes share one bank: each is resized to the
# first's (or --size's), and says so
run train --tasks "a=idx:$T/d1,c=idx:$T/d10" "${SMALL[@]}" --steps 2 --out "$T/sizes.safetensors"
[ "$rc" -eq 0 ] && grep -q "task 'c': [0-9]* images resized or converted to 1x12x12" "$T/stderr" && ok ||
    bad "tasks of two sizes: exit $rc, $(grep -v '^epoch' "$T/stderr" | head -3)"
run train --tasks "a=idx:$T/d1,c=idx:$T/d10" "${SMALL[@]}" --steps 2 --size 10x10 --channels 3 --out "$T/sizes.safetensors" --force
[ "$rc" -eq 0 ] && grep -q "task 'a': [0-9]* images resized or converted to 3x10x10" "$T/stderr" && ok ||
    bad "--size 10x10 --channels 3: exit $rc"
run info "$T/sizes.safetensors"
grep -q '^input 3x10x10' "$T/stdout" && ok || bad "--size: the model's input is $(sed -n 2p "$T/stdout")"
expect_error 1 "--size: 'big'" "a bad --size" -- train --tasks "a=idx:$T/d1" "${SMALL[@]}" --size big --out "$T/y.safetensors"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
