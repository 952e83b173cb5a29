#!/usr/bin/env bash
# templar data digits, through the binary: bad flags fail with one line and
# exit 2; an output that cannot be written fails with one line and exit 1
# before any work, leaving nothing behind (and replacing nothing it did not
# write).  Where the Debian sources are installed (opencv-doc,
# python3-sklearn, fonts-dejavu-core, fonts-liberation, fonts-freefont-ttf),
# a small build runs: four 3x28x28 IDX domains and a preview, the same bytes
# for the same seed, and a short training run of all four on one bank.
#
# usage: bash tests/cli_data.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_data "${1:-}"

# ---- bad flags: exit 2, one line ------------------------------------------
expect_error 2 "unknown flag '--nope'" "unknown flag" -- data digits --out "$T/o" --nope
expect_error 2 "--seed needs a value" "flag without its value" -- data digits --out "$T/o" --seed
expect_error 2 "--seed wants a number" "seed not a number" -- data digits --out "$T/o" --seed x
expect_error 2 "--printed-per-class 2 is outside" "too few printed" -- data digits --out "$T/o" --printed-per-class 2
expect_error 2 "--blended-per-class 501 is outside" "more blended than digits.png has" -- data digits --out "$T/o" --blended-per-class 501
expect_error 2 "which data set" "no data set named" -- data --out "$T/o"
expect_error 2 "unknown data set 'letters'" "unknown data set" -- data letters --out "$T/o"
expect_error 2 "--out DIR is required" "no --out" -- data digits
expect_error 2 "unexpected argument 'more'" "extra argument" -- data digits more --out "$T/o"
no_file "$T/o" "bad flags"
run data --help
[ "$rc" -eq 0 ] && grep -q '^usage: templar data digits --out DIR' "$T/stdout" &&
    grep -q -- '--printed-per-class N .*\[2000\]' "$T/stdout" && ok || bad "data --help: exit $rc"

# ---- outputs that cannot be written: exit 1, one line, nothing left --------
echo x >"$T/file"
expect_error 1 "$T/file/out: cannot create directory" "--out under a regular file" -- data digits --out "$T/file/out"
no_file "$T/file/out" "--out under a regular file"
expect_error 1 "$T/file: exists and is not a directory" "--out is a file" -- data digits --out "$T/file"
expect_error 1 "$T/nodir/out: cannot create directory" "--out in a missing directory" -- data digits --out "$T/nodir/out"
no_file "$T/nodir" "--out in a missing directory"
expect_error 1 "$T/nodir/p.png" "--preview in a missing directory" -- data digits --out "$T/new" --preview "$T/nodir/p.png"
no_file "$T/new" "--preview in a missing directory (the --out it made is removed)"
mkdir -p "$T/mine/printed" && echo notes >"$T/mine/printed/notes.txt"
expect_error 1 "notes.txt" "--out holds a domain directory it did not write" -- data digits --out "$T/mine"
[ "$(cat "$T/mine/printed/notes.txt")" = notes ] && [ "$(ls -A "$T/mine")" = printed ] && ok ||
    bad "foreign files touched or temporary files left: $(ls -A "$T/mine")"

# ---- a small build, where the sources are installed -------------------------
SMALL=(--printed-per-class 5 --blended-per-class 5 --seed 3)
run data digits --out "$T/d" "${SMALL[@]}" --preview "$T/p.png"
if [ "$rc" -ne 0 ] && grep -q 'apt-get install' "$T/stderr"; then
    echo "SKIPPED: a source is not installed, build checks skipped: $(cat "$T/stderr")"
    [ "$(lines "$T/stderr")" -eq 1 ] && ok || bad "missing source: not one line"
    no_file "$T/d" "missing source"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && exit 77
    exit 1
fi
cp "$T/stdout" "$T/summary"
want="domain=handwritten train=4000 test=1000 shape=3x28x28 dir=$T/d/handwritten
domain=optical train=1438 test=359 shape=3x28x28 dir=$T/d/optical
domain=printed train=40 test=10 shape=3x28x28 dir=$T/d/printed
domain=blended train=40 test=10 shape=3x28x28 dir=$T/d/blended"
[ "$rc" -eq 0 ] && [ "$(cat "$T/summary")" = "$want" ] && ok || bad "build: exit $rc, summary: $(cat "$T/summary")"
grep -q '^printed: 50 images rendered from [0-9]* fonts -> 40 train / 10 test$' "$T/stderr" &&
    [ "$(grep -c ' images .* -> [0-9]* train / [0-9]* test$' "$T/stderr")" -eq 4 ] && ok ||
    bad "progress lines: $(cat "$T/stderr")"
for d in handwritten optical printed blended; do
    [ "$(ls "$T/d/$d" | tr '\n' ' ')" = "t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz " ] &&
        ok || bad "$d: files $(ls -A "$T/d/$d")"
done
[ "$(ls -A "$T/d" | tr '\n' ' ')" = "blended handwritten optical printed " ] && ok || bad "left in --out: $(ls -A "$T/d")"
[ "$(head -c 4 "$T/p.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ] && ok || bad "preview is not a PNG"

# the same seed gives the same bytes, also over an earlier build
run data digits --out "$T/d2" "${SMALL[@]}"
run data digits --out "$T/d2" "${SMALL[@]}"
same=1
for f in "$T"/d/*/*; do cmp -s "$f" "$T/d2/${f#"$T/d/"}" || same=0; done
[ "$rc" -eq 0 ] && [ "$same" -eq 1 ] && [ "$(ls -A "$T/d2" | wc -l)" -eq 4 ] && ok ||
    bad "a second build with the same seed differs (exit $rc)"

# all four domains train on one bank
D=$T/d
run train --tasks "handwritten=idx:$D/handwritten,optical=idx:$D/optical,printed=idx:$D/printed,blended=idx:$D/blended" \
    --width 16 --layers 2 --templates 2 --steps 20 --threads 2 --no-flip --batch 16 --eval-batch 256 --out "$T/m.safetensors"
[ "$rc" -eq 0 ] && [ "$(grep -c '^task=[a-z]* test_loss=[0-9.]* test_acc=[0-9.]*$' "$T/stdout")" -eq 4 ] &&
    tail -n 1 "$T/stdout" | grep -q "^model=$T/m.safetensors steps=20 " && ok ||
    bad "training on the four domains: exit $rc, $(cat "$T/stdout")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
