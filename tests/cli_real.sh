#!/usr/bin/env bash
# The main job's real loaders end to end, on a few steps: Fashion-MNIST
# (dataset-fashion-mnist), OpenCV's handwritten digits (opencv-doc) and
# scikit-learn's optical digits (python3-sklearn) train one bank; eval
# finds every task's test images from the sources the file records.  Exits
# 77 (skipped) when a package is not installed.
#
# usage: bash tests/cli_real.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_real "${1:-}"

for f in /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz:dataset-fashion-mnist \
         /usr/share/doc/opencv-doc/examples/data/digits.png:opencv-doc \
         /usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz:python3-sklearn; do
    if [ ! -e "${f%%:*}" ]; then
        echo "SKIPPED: ${f%%:*} is not installed (Debian package ${f##*:})"
        exit 77
    fi
done

run train --tasks fashion,handwritten,optical --width 16 --layers 2 --templates 2 --steps 30 \
    --batch 32 --threads 2 --out "$T/m.safetensors"
[ "$rc" -eq 0 ] && ok || bad "train on the built-in tasks: exit $rc"
grep -q '^templar: 3 tasks on one bank, one batch of each in turn: fashion (60000 train / 10000 test images), handwritten (4000 train / 1000 test images), optical (1438 train / 359 test images),' "$T/stderr" &&
    ok || bad "the built-in tasks' sizes: $(head -n 1 "$T/stderr")"
trained=$(grep '^task=' "$T/stdout")
cd / || exit 1   # the recorded sources must not depend on the directory
run eval "$T/m.safetensors" --threads 2
[ "$rc" -eq 0 ] && [ "$(grep '^task=' "$T/stdout" | sed 's/ images=[0-9]*//')" = "$trained" ] && ok ||
    bad "eval of the recorded sources: exit $rc, '$(cat "$T/stdout")' vs '$trained'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
