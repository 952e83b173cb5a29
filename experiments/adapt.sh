#!/usr/bin/env bash
# Unsupervised multi-source domain adaptation on the four digits domains
# (templar data digits), leave one domain out: train on the other three
# with per-domain mixtures and one shared head, then meet the held-out
# domain without its labels: source-only (the sources' mean mixture and
# BN), AdaBN (BN statistics re-estimated) and mixture adaptation (the
# target's mixture logits trained by information maximisation, BN
# statistics re-estimated).
#
#   experiments/adapt.sh [OUTDIR]            (default runs/adapt)
# Environment: TEMPLAR (binary), DIGITS (default runs/digits), JOBS
# (targets at once, default 1), THREADS (default 2), STEPS (source
# training, default 4500), ADAPT_STEPS (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TEMPLAR:-build/templar}
OUT=${1:-runs/adapt}
DIGITS=${DIGITS:-runs/digits}
JOBS=${JOBS:-1}
THREADS=${THREADS:-2}
STEPS=${STEPS:-4500}
ADAPT_STEPS=${ADAPT_STEPS:-300}
DOMAINS=(handwritten optical printed blended)
mkdir -p "$OUT"
[ -d "$DIGITS/printed" ] || { echo "adapt: no $DIGITS/printed: run templar data digits --out $DIGITS" >&2; exit 1; }

target() { # one held-out domain: train on the rest, then adapt three ways
    local t=$1 sources="" d
    for d in handwritten optical printed blended; do
        [ "$d" = "$t" ] || sources+="${sources:+,}$d=idx:$DIGITS/$d"
    done
    if [ ! -s "$OUT/src_$t.out" ]; then
        "$BIN" train --tasks "$sources" --shared-head --width 32 --layers 6 --templates 4 --no-flip \
            --steps "$STEPS" --threads "$THREADS" --seed 1 --out "$OUT/src_$t.safetensors" --force \
            >"$OUT/src_$t.out.tmp" 2>"$OUT/src_$t.err" && mv "$OUT/src_$t.out.tmp" "$OUT/src_$t.out"
    fi
    for mode in source adabn mixture; do
        [ -s "$OUT/${mode}_$t.out" ] && continue
        "$BIN" adapt --from "$OUT/src_$t.safetensors" --target "$t=idx:$DIGITS/$t" --mode $mode \
            --steps "$ADAPT_STEPS" --threads "$THREADS" --seed 1 --out "$OUT/${mode}_$t.safetensors" --force \
            >"$OUT/${mode}_$t.out.tmp" 2>"$OUT/${mode}_$t.err" && mv "$OUT/${mode}_$t.out.tmp" "$OUT/${mode}_$t.out"
    done
}
export -f target
export BIN OUT DIGITS THREADS STEPS ADAPT_STEPS
printf '%s\n' "${DOMAINS[@]}" | xargs -P "$JOBS" -I{} bash -c 'target {}'
for t in "${DOMAINS[@]}"; do # the mixtures: sources, then the adapted target
    "$BIN" inspect "$OUT/mixture_$t.safetensors" --png "$OUT/mixtures_$t.png" \
        --svg "$OUT/mixtures_$t.svg" >"$OUT/inspect_$t.txt"
done
echo "adapt: done in $OUT" >&2
