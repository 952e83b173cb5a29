#!/usr/bin/env bash
# The templar CLI on bad input: flags, data sets and model files.  Every
# error must exit with the documented code (2 = usage, 1 = failure), print
# exactly one line on stderr naming the culprit, and leave no model file
# behind.  Also a tiny end-to-end run: train twice with one seed (identical
# files), eval and info.
#
# usage: bash tests/cli_errors.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_errors "${1:-}"
idx_dir "$T/data" 12 96 32 4 17
if [ "$(stat -c %s "$T/data/train-images-idx3-ubyte")" -ne $((16 + 96 * 144)) ] ||
    [ "$(stat -c %s "$T/data/t10k-labels-idx1-ubyte")" -ne $((8 + 32)) ]; then
    bad "generated IDX files have the wrong size"
fi

SMALL=(--width 16 --layers 2 --templates 2 --batch 16 --eval-batch 16 --steps 6 --threads 2)

# ---- --help --------------------------------------------------------------
for cmd in "" train eval info; do
    run $cmd --help
    if [ "$rc" -ne 0 ]; then bad "templar $cmd --help: exit $rc"
    elif ! grep -q '^usage: templar' "$T/stdout"; then bad "templar $cmd --help: no usage on stdout"
    elif [ -s "$T/stderr" ]; then bad "templar $cmd --help: wrote to stderr"
    else ok; fi
done
run train --help
grep -q -- '--lr' "$T/stdout" && grep -q -- '--out' "$T/stdout" && ok || bad "train --help lacks --lr/--out"
run
[ "$rc" -eq 2 ] && [ -s "$T/stderr" ] && ok || bad "templar with no command: exit $rc, expected 2 and usage on stderr"

# ---- bad flags: exit 2, one line -----------------------------------------
expect_error 2 frobnicate "unknown command" -- frobnicate
expect_error 2 --bogus "unknown flag" -- train --bogus
expect_error 2 --bogus "unknown flag after good ones" -- train --width 16 --bogus 3
expect_error 2 --epochs "flag missing its value" -- train --epochs
expect_error 2 --lr "non-numeric" -- train --lr abc
expect_error 2 --lr "trailing garbage" -- train --lr 0.1x
expect_error 2 --batch "out of range" -- train --batch 0
expect_error 2 --batch "float for an int" -- train --batch 1.5
expect_error 2 --batch "negative" -- train --batch -4
expect_error 2 --lr "NaN" -- train --lr nan
expect_error 2 --lr "infinity" -- train --lr inf
expect_error 2 --seed "int overflow" -- train --seed 99999999999999999999
expect_error 2 --width "too wide" -- train --width 100000
expect_error 2 --steps "negative steps" -- train --steps -1
expect_error 2 --flip "value on a switch" -- train --flip=1
expect_error 2 --lr "= form checked too" -- train --lr=abc
expect_error 2 stray "positional argument to train" -- train stray
expect_error 2 --bogus "eval unknown flag" -- eval m.safetensors --bogus
expect_error 2 --batch "eval out of range" -- eval m.safetensors --batch 0
expect_error 2 "which model" "eval without a model" -- eval
expect_error 2 "which model" "info without a model" -- info
expect_error 2 --bogus "info unknown flag" -- info m.safetensors --bogus
expect_error 2 extra "info with two models" -- info m.safetensors extra
no_file "$T/fashion.safetensors" "bad flags leave no default model file"

# ---- missing data --------------------------------------------------------
expect_error 1 "$T/nope" "missing data dir" -- train --data "$T/nope" "${SMALL[@]}" --out "$T/m.safetensors"
no_file "$T/m.safetensors" "missing data dir"
expect_error 1 "$T/nodir/m.safetensors" "--out into a missing directory" -- \
    train --data "$T/data" "${SMALL[@]}" --out "$T/nodir/m.safetensors"
no_file "$T/nodir" "--out into a missing directory"

# ---- a tiny run, twice with one seed -------------------------------------
run train --data "$T/data" "${SMALL[@]}" --seed 3 --out "$T/a.safetensors"
last_a=$(tail -n 1 "$T/stdout")
if [ "$rc" -ne 0 ]; then bad "train: exit $rc"
elif ! [[ $last_a =~ test_acc=0\.[0-9]{4}$ ]]; then bad "train: last line '$last_a'"
elif [ ! -s "$T/a.safetensors" ]; then bad "train: no model file"
else ok; fi
no_file "$T/a.safetensors.tmp" "train leaves no temporary file"
run train --data "$T/data" "${SMALL[@]}" --seed 3 --out "$T/b.safetensors"
[ "$rc" -eq 0 ] && [ "$(tail -n 1 "$T/stdout" | sed 's/.*steps=//')" = "$(echo "$last_a" | sed 's/.*steps=//')" ] &&
    ok || bad "second train run: exit $rc or different result"
same_tensors "$T/a.safetensors" "$T/b.safetensors" 2>/dev/null && ok ||
    bad "same seed, different model files (cmp a b)"
run train --data "$T/data" "${SMALL[@]}" --seed 4 --out "$T/c.safetensors"
[ "$rc" -eq 0 ] && ! same_tensors "$T/a.safetensors" "$T/c.safetensors" && ok ||
    bad "different seed: exit $rc or identical model file"

run eval "$T/a.safetensors" --data "$T/data"
last=$(results "$T/stdout" | tail -n 1)
if [ "$rc" -ne 0 ]; then bad "eval: exit $rc"
elif [ "${last##*test_acc=}" != "${last_a##*test_acc=}" ]; then
    bad "eval test_acc '${last##*test_acc=}' != train's '${last_a##*test_acc=}'"
else ok; fi
# same batch size as training's final evaluation: the same loss too
run eval "$T/a.safetensors" --data "$T/data" --batch 16 --threads 2
last=$(results "$T/stdout" | tail -n 1)
[ "$rc" -eq 0 ] && [ "${last##*test_loss=}" = "${last_a##*test_loss=}" ] && ok ||
    bad "eval --batch 16: '$last' vs train '$last_a'"
expect_error 1 nosuch "eval of a task the model lacks" -- eval "$T/a.safetensors" --data "$T/data" --task nosuch
run info "$T/a.safetensors"
[ "$rc" -eq 0 ] && grep -q 'stage 0: width 16, 2 blocks from 2 templates, 12x12' "$T/stdout" &&
    grep -q 'block  1:' "$T/stdout" && ok || bad "info: exit $rc or unexpected output"
# --stem-stride overrides the choice by image size (12x12 input: 1)
run train --data "$T/data" "${SMALL[@]}" --stem-stride 2 --out "$T/s2.safetensors"
run info "$T/s2.safetensors"
[ "$rc" -eq 0 ] && grep -q 'stem stride 2' "$T/stdout" && grep -q 'width 16, 2 blocks from 2 templates, 6x6' "$T/stdout" &&
    ok || bad "--stem-stride 2: exit $rc or not recorded"
expect_error 2 stem-stride "--stem-stride out of range" -- train --data "$T/data" "${SMALL[@]}" --stem-stride 5 --out "$T/m.safetensors"

# ---- bad data sets ------------------------------------------------------
cp -r "$T/data" "$T/magic"
printf '\x01' | dd of="$T/magic/train-images-idx3-ubyte" bs=1 count=1 conv=notrunc 2>/dev/null
expect_error 1 "$T/magic/train-images-idx3-ubyte" "wrong IDX magic" -- \
    train --data "$T/magic" "${SMALL[@]}" --out "$T/m.safetensors"
no_file "$T/m.safetensors" "wrong IDX magic"

cp -r "$T/data" "$T/short"
head -c 5000 "$T/data/train-images-idx3-ubyte" >"$T/short/train-images-idx3-ubyte"
expect_error 1 truncated "truncated IDX images" -- train --data "$T/short" "${SMALL[@]}" --out "$T/m.safetensors"
grep -qF "$T/short/train-images-idx3-ubyte" "$T/stderr" && ok || bad "truncated IDX: file not named"
no_file "$T/m.safetensors" "truncated IDX images"
head -c 10 "$T/data/train-images-idx3-ubyte" >"$T/short/train-images-idx3-ubyte"
expect_error 1 truncated "truncated IDX header" -- train --data "$T/short" "${SMALL[@]}" --out "$T/m.safetensors"
no_file "$T/m.safetensors" "truncated IDX header"

cp -r "$T/data" "$T/count"
idx_labels "$T/count/train-labels-idx1-ubyte" 95 4
expect_error 1 "$T/count/train-labels-idx1-ubyte" "label and image counts differ" -- \
    train --data "$T/count" "${SMALL[@]}" --out "$T/m.safetensors"
no_file "$T/m.safetensors" "label and image counts differ"

cp -r "$T/data" "$T/gz"
gzip -n "$T/gz/train-images-idx3-ubyte"
run train --data "$T/gz" "${SMALL[@]}" --seed 3 --out "$T/gz.safetensors"
[ "$rc" -eq 0 ] && [ "$(tail -n 1 "$T/stdout" | sed 's/.*steps=//')" = "${last_a##*steps=}" ] && ok ||
    bad "gzipped images: exit $rc or a different result"
head -c 300 "$T/gz/train-images-idx3-ubyte.gz" >"$T/gz/cut" && mv "$T/gz/cut" "$T/gz/train-images-idx3-ubyte.gz"
expect_error 1 "$T/gz/train-images-idx3-ubyte.gz" "truncated gzip" -- \
    train --data "$T/gz" "${SMALL[@]}" --out "$T/m.safetensors"
no_file "$T/m.safetensors" "truncated gzip"

expect_error 1 "batch" "fewer images than one batch" -- \
    train --data "$T/data" "${SMALL[@]}" --batch 128 --out "$T/m.safetensors"
no_file "$T/m.safetensors" "fewer images than one batch"
expect_error 1 --optim "unknown optimiser" -- train --data "$T/data" "${SMALL[@]}" --optim sgdx --out "$T/m.safetensors"
expect_error 1 --schedule "unknown schedule" -- train --data "$T/data" "${SMALL[@]}" --schedule x --out "$T/m.safetensors"
expect_error 1 --widths "bad --widths" -- train --data "$T/data" "${SMALL[@]}" --widths 16,x --out "$T/m.safetensors"
no_file "$T/m.safetensors" "bad train settings"

# ---- bad model files ------------------------------------------------------
head -c 1000 "$T/a.safetensors" >"$T/trunc.safetensors"
expect_error 1 "$T/trunc.safetensors" "truncated model" -- eval "$T/trunc.safetensors" --data "$T/data"
expect_error 1 "$T/trunc.safetensors" "info of a truncated model" -- info "$T/trunc.safetensors"
head -c $(($(stat -c %s "$T/a.safetensors") - 4)) "$T/a.safetensors" >"$T/trunc2.safetensors"
expect_error 1 "$T/trunc2.safetensors" "model cut inside its tensor data" -- eval "$T/trunc2.safetensors" --data "$T/data"
: >"$T/empty.safetensors"
expect_error 1 "$T/empty.safetensors" "empty model file" -- eval "$T/empty.safetensors" --data "$T/data"
expect_error 1 "$T/missing.safetensors" "missing model file" -- eval "$T/missing.safetensors" --data "$T/data"
expect_error 1 "$T/missing.safetensors" "info of a missing model file" -- info "$T/missing.safetensors"
expect_error 1 "$T" "a directory as the model" -- eval "$T" --data "$T/data"

# safetensors FILE JSON [DATA_BYTES]: 8-byte little-endian length, JSON, zeros
safetensors() {
    local len=${#2}
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x\\x00\\x00\\x00\\x00' $((len & 255)) $((len >> 8 & 255)) $((len >> 16 & 255)) $((len >> 24 & 255)))" >"$1"
    printf '%s' "$2" >>"$1"
    head -c "${3:-0}" /dev/zero >>"$1"
}
META='"__metadata__":{"format":"templar-1"}'
safetensors "$T/huge.safetensors" "{$META,\"w\":{\"dtype\":\"F32\",\"shape\":[1000000,1000000],\"data_offsets\":[0,4000000000000]}}" 16
run eval "$T/huge.safetensors" --data "$T/data"
[ "$rc" -eq 1 ] && [ "$(lines "$T/stderr")" -eq 1 ] && grep -qF "$T/huge.safetensors" "$T/stderr" && ok ||
    bad "huge tensor (offsets past the end): exit $rc (1 expected, >= 128 is a crash)"
safetensors "$T/huge2.safetensors" "{$META,\"w\":{\"dtype\":\"F32\",\"shape\":[1000000,1000000],\"data_offsets\":[0,16]}}" 16
run eval "$T/huge2.safetensors" --data "$T/data"
[ "$rc" -eq 1 ] && [ "$(lines "$T/stderr")" -eq 1 ] && ok ||
    bad "huge tensor (shape against offsets): exit $rc"
# 2^32 * 2^32 * 4 bytes wraps to 0 in 64-bit arithmetic
safetensors "$T/wrap.safetensors" "{$META,\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}" 0
run eval "$T/wrap.safetensors" --data "$T/data"
[ "$rc" -eq 1 ] && [ "$(lines "$T/stderr")" -eq 1 ] && ok || bad "shape whose size wraps: exit $rc"
run info "$T/wrap.safetensors"
[ "$rc" -eq 1 ] && [ "$(lines "$T/stderr")" -eq 1 ] && ok || bad "info, shape whose size wraps: exit $rc"
printf '\xff\xff\xff\xff\xff\xff\xff\xff{}' >"$T/hlen.safetensors"
expect_error 1 "$T/hlen.safetensors" "absurd header length" -- info "$T/hlen.safetensors"
safetensors "$T/json.safetensors" '{"__metadata__":{"format":"templar-1"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}' 4
expect_error 1 "$T/json.safetensors" "broken header JSON" -- info "$T/json.safetensors"
safetensors "$T/nometa.safetensors" '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}' 4
expect_error 1 "$T/nometa.safetensors" "no templar metadata" -- eval "$T/nometa.safetensors" --data "$T/data"

# images of the wrong size for the model
mkdir -p "$T/data10"
idx_images "$T/data10/t10k-images-idx3-ubyte" 32 10 10 5
idx_labels "$T/data10/t10k-labels-idx1-ubyte" 32 4
# images of another size are resized to the model's input, and it is said
run eval "$T/a.safetensors" --data "$T/data10"
[ "$rc" -eq 0 ] && grep -q "32 images resized or converted to the model's input" "$T/stderr" && ok ||
    bad "10x10 images against a 12x12 model: exit $rc"
# labels beyond the model's classes
mkdir -p "$T/data6"
cp "$T/data/t10k-images-idx3-ubyte" "$T/data6/"
idx_labels "$T/data6/t10k-labels-idx1-ubyte" 32 6
expect_error 1 "classes" "labels beyond the model's classes" -- eval "$T/a.safetensors" --data "$T/data6"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
