#!/usr/bin/env bash
# Writes the seed corpora of the fuzzing harnesses: OUT/HARNESS/ for each of
# safetensors, model, json, idx, image, csv.  make_seeds writes all but the
# model files; those come from `templar train` on tiny generated IDX data,
# one step each, in a few configurations (isometric, staged, several tasks,
# RGB input, top-k and Gumbel routing, mixed outputs, shared trunk and head,
# a plain ResNet).
#
# usage: fuzz/make-corpus.sh PATH/TO/templar PATH/TO/make_seeds OUT
set -euo pipefail
if [ $# -ne 3 ]; then
    echo "usage: fuzz/make-corpus.sh PATH/TO/templar PATH/TO/make_seeds OUT" >&2
    exit 2
fi
templar=$(realpath "$1") seeds=$2 out=$3
mkdir -p "$out/model"
"$seeds" "$out"
cd "$out" # the model files name their data by relative paths
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

# model NAME FLAGS...: one optimiser step on 8 images, written to model/NAME.
model() {
    local name=$1
    shift
    if ! "$templar" train --steps 1 --batch 8 --eval-batch 4 --threads 1 \
        --out "model/$name" --force "$@" >train.log 2>&1; then
        cat train.log >&2
        echo "make-corpus: templar train $* failed" >&2
        exit 1
    fi
}
g=data-grey g2=data-grey2 rgb=data-rgb
model tiny.safetensors --data "$g" --width 16 --layers 1 --templates 1
model staged.safetensors --data "$g" --widths 4,8 --layers 1 --templates 2
model two-tasks.safetensors --tasks "a=idx:$g,b=idx:$g2" --width 4 --layers 2 --templates 2 \
    --routing topk --topk 1
model rgb-outputs.safetensors --data "$rgb" --width 4 --layers 2 --templates 2 --aggregate outputs
model gumbel.safetensors --data "$g" --width 4 --layers 2 --templates 3 --routing gumbel --topk 2
model shared.safetensors --tasks "a=idx:$g,b=idx:$g" --width 4 --layers 1 --templates 1 \
    --shared-mixture --shared-head
model plain.safetensors --data "$g" --width 4 --layers 2 --plain
rm -f train.log
# a model is a safetensors file too
cp model/tiny.safetensors model/staged.safetensors safetensors/
echo "make-corpus: seeds in $out"
