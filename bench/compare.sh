#!/usr/bin/env bash
# templar vs PyTorch (Debian python3-torch, CPU) on the same models, batch and
# threads, run one after the other on this machine; prints each side's figures
# and the ratios.  Run from the repository root after `make build`:
#   bench/compare.sh            # as the environment is
#   env -u OPENBLAS_CORETYPE bench/compare.sh
set -euo pipefail
BUILD=${BUILD:-build}
PY=${PY:-/usr/bin/python3}
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}  $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
field() { sed -n 's/.*"'"$1"'": *\([0-9.]*\).*/\1/p' | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
for model in "64 8 4" "32 4 2"; do
  set -- $model
  args="--width $1 --layers $2 --templates $3 --batch 64 --threads 2"
  echo; echo "== width $1, $2 blocks, $3 templates, batch 64, 2 threads"
  # Each side runs twice: training + latency, then training alone for peak RSS.
  t=$("$BUILD/bench_speed" $args --json); echo "$t" | grep -v '^{'
  p=$("$PY" bench/torch_ref.py $args --json); echo "$p" | grep -v '^{'
  trss=$("$BUILD/bench_speed" $args --mode train --steps 10 --json | field peak_rss_mib)
  prss=$("$PY" bench/torch_ref.py $args --mode train --steps 10 --json | field peak_rss_mib)
  ti=$(echo "$t" | field train_img_s); pi=$(echo "$p" | field train_img_s)
  tl=$(echo "$t" | field latency_ms_median); pl=$(echo "$p" | field latency_ms_median)
  echo "-- train img/s: templar $ti, pytorch $pi, ratio $(ratio "$ti" "$pi")x"
  echo "-- batch-1 latency ms (median): templar $tl, pytorch $pl, templar/pytorch $(ratio "$tl" "$pl")"
  echo "-- peak RSS of a training run MiB: templar $trss, pytorch $prss"
done
