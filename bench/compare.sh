#!/usr/bin/env bash
# templar vs PyTorch (Debian python3-torch, CPU) on the same models, batch and
# threads, side by side in one run: four rows per model, templar fp32,
# templar bf16 (--precision bf16), PyTorch fp32 and PyTorch bf16 (autocast +
# channels-last, its best CPU setting), run one after the other, ROUNDS times
# in turn (the figures are the median round's); then the ratios.  Run from
# the repository root after `make build`:
#   bench/compare.sh            # as the environment is
#   ROUNDS=3 bench/compare.sh   # three rounds in turn, medians
#   env -u OPENBLAS_CORETYPE bench/compare.sh
#   MODELS="32 6 4 inverted" bench/compare.sh   # inverted bottlenecks (expansion 6)
# bf16 rows need a CPU with AVX-512 BF16 (templar refuses bf16 without it;
# PyTorch would emulate it): without one they are left out.
set -euo pipefail
BUILD=${BUILD:-build}
PY=${PY:-/usr/bin/python3}
ROUNDS=${ROUNDS:-1}
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}  $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "loadavg at start: $(cat /proc/loadavg)"
field() { sed -n 's/.*"'"$1"'": *\([0-9.]*\).*/\1/p' | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'; }
precisions="fp32 bf16"
if ! grep -qw avx512_bf16 /proc/cpuinfo; then
  echo "no avx512_bf16 on this CPU: fp32 rows only"
  precisions="fp32"
fi
# run SIDE PRECISION ARGS...: one benchmark's JSON line (training + latency)
run() {
  local side=$1 p=$2
  shift 2
  if [ "$side" = templar ]; then "$BUILD/bench_speed" "$@" --precision "$p" --json
  else "$PY" bench/torch_ref.py "$@" --precision "$p" --json; fi | grep '^{'
}
# a model: WIDTH BLOCKS TEMPLATES [BLOCK-KIND]
MODELS=${MODELS:-"64 8 4;32 4 2"}
IFS=';' read -ra models <<<"$MODELS"
for model in "${models[@]}"; do
  set -- $model
  args=(--width "$1" --layers "$2" --templates "$3" --block "${4:-basic}" --batch 64 --threads 2)
  echo; echo "== width $1, $2 ${4:-basic} blocks, $3 templates, batch 64, 2 threads"
  declare -A img=() lat=() rss=()
  for ((r = 1; r <= ROUNDS; r++)); do
    for p in $precisions; do
      for side in templar pytorch; do
        j=$(run $side "$p" "${args[@]}")
        img[$side.$p]+=" $(echo "$j" | field train_img_s)"
        lat[$side.$p]+=" $(echo "$j" | field latency_ms_median)"
      done
    done
  done
  # peak RSS of a training run alone (the latency part would add its own)
  for p in $precisions; do
    for side in templar pytorch; do
      rss[$side.$p]=$(run $side "$p" "${args[@]}" --mode train --steps 10 | field peak_rss_mib)
    done
  done
  printf '%-28s %12s %18s %14s\n' "" "train img/s" "batch-1 ms (med.)" "peak RSS MiB"
  for p in $precisions; do
    for side in templar pytorch; do
      label="$side $p"
      [ "$side.$p" = pytorch.bf16 ] && label="pytorch bf16 channels-last"
      printf '%-28s %12.1f %18.3f %14.1f\n' "$label" "$(echo "${img[$side.$p]}" | median)" \
        "$(echo "${lat[$side.$p]}" | median)" "${rss[$side.$p]}"
    done
  done
  if [ "$ROUNDS" -gt 1 ]; then
    for k in "${!img[@]}"; do echo "   rounds $k train img/s:${img[$k]}"; done | sort
  fi
  tf=$(echo "${img[templar.fp32]}" | median); pf=$(echo "${img[pytorch.fp32]}" | median)
  echo "-- train, templar fp32 / pytorch fp32: $(ratio "$tf" "$pf")x"
  if [ "$precisions" != fp32 ]; then
    tb=$(echo "${img[templar.bf16]}" | median); pb=$(echo "${img[pytorch.bf16]}" | median)
    echo "-- train, templar bf16 / pytorch bf16 channels-last: $(ratio "$tb" "$pb")x"
    echo "-- train, templar bf16 / pytorch fp32: $(ratio "$tb" "$pf")x"
    echo "-- train, templar bf16 / templar fp32: $(ratio "$tb" "$tf")x"
    echo "-- batch-1 latency ms, templar fp32 $(echo "${lat[templar.fp32]}" | median), templar bf16 $(echo "${lat[templar.bf16]}" | median)"
  fi
  unset img lat rss
done
echo; echo "loadavg at end: $(cat /proc/loadavg)"
