#!/usr/bin/env bash
# templar data digits and scripts, through the binary: bad flags fail with
# one line and exit 2; an output that cannot be written fails with one line
# and exit 1 before any work, leaving nothing behind (and replacing nothing
# it did not write).  Where the Debian sources are installed (opencv-doc,
# python3-sklearn, fonts-dejavu-core, fonts-liberation, fonts-freefont-ttf),
# a small digits build runs: four 3x28x28 IDX domains and a preview, the
# same bytes for the same seed, and a short training run of all four on one
# bank.  Where fonts-noto-core and fonts-noto-cjk are, a small script suite
# is built: class folders, classes.txt, fonts.txt, a preview, the same bytes
# for the same seed.  Exits 77 (skipped) when either set of sources is
# missing and nothing failed.
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
expect_error 2 "--blended-copies 0 is outside" "no blended copies" -- data digits --out "$T/o" --blended-copies 0
expect_error 2 "--blended-copies 11 is outside" "too many blended copies" -- data digits --out "$T/o" --blended-copies 11
expect_error 2 "which data set" "no data set named" -- data --out "$T/o"
expect_error 2 "unknown data set 'letters'" "unknown data set" -- data letters --out "$T/o"
expect_error 2 "--out DIR is required" "no --out" -- data digits
expect_error 2 "unexpected argument 'more'" "extra argument" -- data digits more --out "$T/o"
no_file "$T/o" "bad flags"
run data --help
[ "$rc" -eq 0 ] && grep -q '^usage: templar data digits --out DIR' "$T/stdout" &&
    grep -q -- '--printed-per-class N .*\[2000\]' "$T/stdout" &&
    grep -q '^usage: templar data scripts --out DIR' "$T/stdout" && ok || bad "data --help: exit $rc"
run data scripts --help
[ "$rc" -eq 0 ] && grep -q '^usage: templar data scripts --out DIR' "$T/stdout" &&
    grep -q -- '--train-per-class N .*\[200\]' "$T/stdout" &&
    ! grep -q -- 'printed-per-class' "$T/stdout" && ok || bad "data scripts --help: exit $rc"
expect_error 2 "unknown script 'latin'" "unknown script" -- data scripts --out "$T/o" --scripts greek,latin
expect_error 2 "'greek' is named twice" "script named twice" -- data scripts --out "$T/o" --scripts greek,greek
expect_error 2 "--train-per-class 0 is outside" "no train images" -- data scripts --out "$T/o" --train-per-class 0
expect_error 2 "--test-per-class 10000 is outside" "too many test images" -- data scripts --out "$T/o" --test-per-class 10000
expect_error 2 "unknown flag '--printed-per-class'" "a digits flag for scripts" -- data scripts --out "$T/o" --printed-per-class 5
expect_error 2 "--out DIR is required" "scripts without --out" -- data --seed 3 scripts
no_file "$T/o" "bad script flags"

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

expect_error 1 "$T/file: exists and is not a directory" "scripts --out is a file" -- data scripts --out "$T/file"
mkdir -p "$T/mine/greek" && echo notes >"$T/mine/greek/notes.txt"
expect_error 1 "notes.txt" "--out holds a script directory it did not write" -- data scripts --out "$T/mine" --scripts greek
[ "$(cat "$T/mine/greek/notes.txt")" = notes ] && [ "$(ls -A "$T/mine" | tr '\n' ' ')" = "greek printed " ] && ok ||
    bad "foreign files touched or temporary files left: $(ls -A "$T/mine")"

# ---- a small script suite, where the Noto fonts are installed ----------------
skipped=0
SCR=(--scripts hebrew,hangul --train-per-class 3 --test-per-class 2 --seed 3)
run data scripts --out "$T/s" "${SCR[@]}"
if [ "$rc" -ne 0 ] && grep -q 'apt-get install fonts-noto' "$T/stderr"; then
    echo "cli_data: the Noto fonts are not installed, script checks skipped: $(cat "$T/stderr")"
    [ "$(lines "$T/stderr")" -eq 1 ] && ok || bad "missing fonts: not one line"
    no_file "$T/s" "missing fonts"
    skipped=1
else
    want="script=hebrew classes=22 train=66 test=44 shape=1x32x32 dir=$T/s/hebrew
script=hangul classes=40 train=120 test=80 shape=1x32x32 dir=$T/s/hangul"
    [ "$rc" -eq 0 ] && [ "$(cat "$T/stdout")" = "$want" ] && ok || bad "scripts: exit $rc, $(cat "$T/stdout")"
    [ "$(grep -c '^[a-z]*: [0-9]* letters -> [0-9]* train images in [0-9]* fonts\? / [0-9]* test images in [0-9]* fonts\? (.*)$' "$T/stderr")" -eq 2 ] &&
        ok || bad "scripts progress lines: $(cat "$T/stderr")"
    [ "$(ls -A "$T/s" | tr '\n' ' ')" = "hangul hebrew preview.png " ] && ok || bad "left in --out: $(ls -A "$T/s")"
    [ "$(ls "$T/s/hebrew" | tr '\n' ' ')" = "classes.txt fonts.txt test train " ] && ok || bad "hebrew: $(ls "$T/s/hebrew")"
    [ "$(ls "$T/s/hebrew/train" | wc -l)" -eq 22 ] && [ "$(ls "$T/s/hebrew/test/alef" | tr '\n' ' ')" = "0000.png 0001.png " ] &&
        [ "$(find "$T/s/hangul/train" -name '*.png' | wc -l)" -eq 120 ] && ok || bad "class folders: $(ls "$T/s/hebrew/train")"
    [ "$(head -n 1 "$T/s/hebrew/classes.txt")" = "$(printf 'alef\t\xd7\x90\tU+05D0')" ] &&
        [ "$(cut -f 1 "$T/s/hebrew/classes.txt" | tr '\n' ' ')" = "$(ls "$T/s/hebrew/train" | tr '\n' ' ')" ] && ok ||
        bad "classes.txt: $(head -n 2 "$T/s/hebrew/classes.txt")"
    trf=$(grep -c '^train /' "$T/s/hebrew/fonts.txt"); tef=$(grep -c '^test /' "$T/s/hebrew/fonts.txt")
    [ "$trf" -ge 1 ] && [ "$tef" -ge 1 ] && [ "$(cut -d ' ' -f 2 "$T/s/hebrew/fonts.txt" | sort | uniq -d)" = "" ] && ok ||
        bad "fonts.txt: $(cat "$T/s/hebrew/fonts.txt")"
    [ "$(head -c 4 "$T/s/hebrew/train/bet/0001.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ] &&
        [ "$(head -c 4 "$T/s/preview.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ] && ok || bad "not PNG files"
    # the same seed gives the same bytes, also over an earlier suite; another seed other images
    run data scripts --out "$T/s2" "${SCR[@]}"
    run data scripts --out "$T/s2" "${SCR[@]}"
    [ "$rc" -eq 0 ] && diff -r "$T/s" "$T/s2" >/dev/null && [ "$(ls -A "$T/s2" | wc -l)" -eq 3 ] && ok ||
        bad "a second suite with the same seed differs (exit $rc)"
    run data scripts --out "$T/s3" --scripts hebrew --train-per-class 3 --test-per-class 2 --seed 4
    ! cmp -s "$T/s/hebrew/train/bet/0000.png" "$T/s3/hebrew/train/bet/0000.png" && ok || bad "another seed, the same image"
fi

# ---- a small build, where the sources are installed -------------------------
SMALL=(--printed-per-class 5 --blended-per-class 5 --seed 3)
run data digits --out "$T/d" "${SMALL[@]}" --preview "$T/p.png"
if [ "$rc" -ne 0 ] && grep -q 'apt-get install' "$T/stderr"; then
    echo "SKIPPED: a source is not installed, build checks skipped: $(cat "$T/stderr")"
    [ "$(lines "$T/stderr")" -eq 1 ] && ok || bad "missing source: not one line"
    no_file "$T/d" "missing source"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] || exit 1
    exit 77
fi
cp "$T/stdout" "$T/summary"
want="domain=handwritten train=4000 test=1000 shape=3x28x28 dir=$T/d/handwritten
domain=optical train=1438 test=359 shape=3x28x28 dir=$T/d/optical
domain=printed train=40 test=10 shape=3x28x28 dir=$T/d/printed
domain=blended train=120 test=30 shape=3x28x28 dir=$T/d/blended"
[ "$rc" -eq 0 ] && [ "$(cat "$T/summary")" = "$want" ] && ok || bad "build: exit $rc, summary: $(cat "$T/summary")"
grep -q '^printed: 50 images rendered from [0-9]* fonts -> 40 train / 10 test$' "$T/stderr" &&
    grep -q '^blended: 150 images over 3 patches each of [0-9]* colour photos in .* -> 120 train / 30 test$' "$T/stderr" &&
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
[ "$fail" -eq 0 ] || exit 1
[ "$skipped" -eq 0 ] || exit 77
