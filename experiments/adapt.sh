#!/usr/bin/env bash
# Unsupervised multi-source domain adaptation on the four digits domains
# (templar data digits), leave one domain out: train on the other three
# with per-domain mixtures, one shared head and augmentation (AUG), then
# meet the held-out domain without its labels: source-only (the sources'
# mean mixture and BN), AdaBN (BN statistics re-estimated) and mixture
# adaptation (BN statistics re-estimated, the target's mixture logits
# trained), each from the starts of `adapt --init`: the sources' mean, the
# label-free picks (both, confident, closest) and, as an oracle to compare
# the picks with, each source alone (AdaBN only); and a blend of every
# source learned on the target's images (combine).  From the `both` start,
# every objective (infomax, pseudo, moments, moments+pseudo), with the
# target's BN scale/shift trained too (logits+bn), joint with the sources
# (--with-sources, JOINT_STEPS) and, as a ceiling, the whole network
# trained (--mode full).
#
#   experiments/adapt.sh [OUTDIR]            (default runs/adapt)
# Environment: TEMPLAR (binary), DIGITS (default runs/digits), JOBS
# (targets at once, default 1), THREADS (default 2), STEPS (source
# training, default 3000), ADAPT_STEPS (default 300), JOINT_STEPS (default
# 1200: a quarter of them the target's), AUG (the sources' augmentation).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TEMPLAR:-build/templar}
OUT=${1:-runs/adapt}
DIGITS=${DIGITS:-runs/digits}
JOBS=${JOBS:-1}
THREADS=${THREADS:-2}
STEPS=${STEPS:-3000}
ADAPT_STEPS=${ADAPT_STEPS:-300}
JOINT_STEPS=${JOINT_STEPS:-1200}
AUG=${AUG:---crop-pad 2 --rotate 10 --scale 0.1 --jitter 0.3}
DOMAINS=(handwritten optical printed blended)
mkdir -p "$OUT"
[ -d "$DIGITS/printed" ] || { echo "adapt: no $DIGITS/printed: run templar data digits --out $DIGITS" >&2; exit 1; }

target() { # one held-out domain: train on the rest, then adapt every way
    local t=$1 sources="" names="" d o
    for d in handwritten optical printed blended; do
        [ "$d" = "$t" ] || sources+="${sources:+,}$d=idx:$DIGITS/$d" names+=" $d"
    done
    if [ ! -s "$OUT/src_$t.out" ]; then
        # shellcheck disable=SC2086 # AUG is a list of flags
        "$BIN" train --tasks "$sources" --shared-head --width 32 --layers 6 --templates 4 --no-flip $AUG \
            --steps "$STEPS" --threads "$THREADS" --seed 1 --out "$OUT/src_$t.safetensors" --force \
            >"$OUT/src_$t.out.tmp" 2>"$OUT/src_$t.err" && mv "$OUT/src_$t.out.tmp" "$OUT/src_$t.out" ||
            { echo "adapt: the sources of $t did not train: $OUT/src_$t.err" >&2; return 1; }
    fi
    one "$t" source mean
    for init in mean both confident closest combine $names; do one "$t" adabn "$init"; done
    for init in mean both confident closest combine; do one "$t" mixture "$init"; done
    one "$t" mixture both _bn --train logits+bn
    for o in pseudo moments moments+pseudo; do one "$t" mixture both "_$o" --objective $o; done
    one "$t" mixture both _bn_moments+pseudo --train logits+bn --objective moments+pseudo
    one "$t" mixture both _joint_moments+pseudo --objective moments+pseudo --with-sources "$sources" \
        --steps "$JOINT_STEPS"
    for o in infomax pseudo moments+pseudo; do one "$t" full both "_$o" --objective $o; done
}
one() { # TARGET MODE INIT [SUFFIX FLAGS...]: OUT/MODE_TARGET[_INIT][SUFFIX].out (mean keeps the old names)
    local t=$1 mode=$2 init=$3 suffix=${4:-} name
    shift 4 2>/dev/null || shift 3
    name=${mode}_$t$([ "$init" = mean ] || echo "_$init")$suffix
    [ -s "$OUT/$name.out" ] && return 0
    "$BIN" adapt --from "$OUT/src_$t.safetensors" --target "$t=idx:$DIGITS/$t" --mode "$mode" \
        --init "$init" --steps "$ADAPT_STEPS" --train logits "$@" --threads "$THREADS" --seed 1 \
        --out "$OUT/$name.safetensors" --force \
        >"$OUT/$name.out.tmp" 2>"$OUT/$name.err" && mv "$OUT/$name.out.tmp" "$OUT/$name.out"
}
export -f target one
export BIN OUT DIGITS THREADS STEPS ADAPT_STEPS JOINT_STEPS AUG
printf '%s\n' "${DOMAINS[@]}" | xargs -P "$JOBS" -I{} bash -c 'target {}'
for t in "${DOMAINS[@]}"; do # the mixtures: sources, then the adapted target
    "$BIN" inspect "$OUT/mixture_$t.safetensors" --png "$OUT/mixtures_$t.png" \
        --svg "$OUT/mixtures_$t.svg" >"$OUT/inspect_$t.txt"
done
echo "adapt: done in $OUT" >&2
