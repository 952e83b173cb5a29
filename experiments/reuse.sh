#!/usr/bin/env bash
# Block reuse: L residual blocks from K templates, against plain networks
# with the same parameters (L = K blocks) and with the same depth
# (independent weights).  (K, L) in {1,2,4} x {2,4,8} plus plain L in
# {1,2,4,8}, on Fashion-MNIST and on the 'printed' digits domain.
#
#   experiments/reuse.sh [OUTDIR]            (default runs/reuse)
# Environment: TEMPLAR (binary), JOBS (runs at once, default 1), THREADS
# (threads a run, default 2), EPOCHS (default 3), FASHION (the IDX
# directory, default Debian's), DIGITS (the directory templar data digits
# wrote; default runs/digits; skipped when absent), ONLY (an extended
# regular expression: only the runs whose names match it, e.g.
# 'fashion_(k2_l4|k4_l8|plain_l[24])$' for the bar's four), FLAGS (more
# train flags for every run, e.g. '--block inverted --expand 3').
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TEMPLAR:-build/templar}
OUT=${1:-runs/reuse}
JOBS=${JOBS:-1}
THREADS=${THREADS:-2}
EPOCHS=${EPOCHS:-3}
ONLY=${ONLY:-.}
FLAGS=${FLAGS:-}
DIGITS=${DIGITS:-runs/digits}
FASHION=${FASHION:-/usr/share/datasets/fashion-mnist}
mkdir -p "$OUT"

# one line per run: NAME then the flags
{
    for set in fashion printed; do
        if [ $set = fashion ]; then data=(--data "$FASHION" --task fashion); else
            [ -d "$DIGITS/printed" ] || continue
            data=(--data "$DIGITS/printed" --task printed --no-flip)
        fi
        for k in 1 2 4; do
            for l in 2 4 8; do echo "${set}_k${k}_l$l ${data[*]} --templates $k --layers $l"; done
        done
        for l in 1 2 4 8; do echo "${set}_plain_l$l ${data[*]} --plain --layers $l"; done
    done
} | awk -v only="$ONLY" -v flags="$FLAGS" '$1 ~ only { print $0 (flags == "" ? "" : " " flags) }' >"$OUT/runs.txt"

one() { # NAME FLAGS...: a run, skipped when already done
    local name=$1
    shift
    [ -s "$OUT/$name.out" ] && return 0
    "$BIN" train "$@" --width 32 --epochs "$EPOCHS" --threads "$THREADS" --seed 1 \
        --out "$OUT/$name.safetensors" --force >"$OUT/$name.out.tmp" 2>"$OUT/$name.err" &&
        mv "$OUT/$name.out.tmp" "$OUT/$name.out"
}
export -f one
export BIN OUT EPOCHS THREADS
# longest first (8 blocks), so the last to finish are short
sort -t_ -k3,3r "$OUT/runs.txt" | xargs -P "$JOBS" -L 1 bash -c 'one "$@"' _
echo "reuse: $(ls "$OUT"/*.out | wc -l) runs done in $OUT" >&2
