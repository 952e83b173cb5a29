#!/usr/bin/env bash
# Training on several processes against one (docs/DISTRIBUTED.md): the
# reference model (bench_dist's defaults) on this machine, each set-up
# REPEATS times, taken in turn so that the machine's other work falls on
# all of them alike; prints every run's figures, then each figure's median
# and spread (min..max), and the load average before and after.  Run from
# the repository root after a build with MPI:
#   bench/dist.sh                      # BUILD=build REPEATS=5 STEPS=20
set -euo pipefail
BUILD=${BUILD:-build}
REPEATS=${REPEATS:-5}
STEPS=${STEPS:-20}
BENCH=$BUILD/bench_dist
[ -x "$BENCH" ] || { echo "bench/dist.sh: no $BENCH (build with MPI: libopenmpi-dev)" >&2; exit 1; }
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMP_NUM_THREADS=1
MPIRUN=(mpirun -q --oversubscribe -x OMP_NUM_THREADS)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)

# name|mpirun flags|bench_dist flags
# (mpirun -np 1 binds its rank to one core: a rank of two threads asks
# for two, --map-by slot:PE=2; two ranks are bound a core each, Open MPI's
# default for two, or left to the kernel's scheduler, --bind-to none)
SETUPS=(
  "1x2 data|-np 1 --map-by slot:PE=2|--threads 2"
  "2x1 data|-np 2 --bind-to core|--threads 1"
  "2x1 data unbound|-np 2 --bind-to none|--threads 1"
  "2x1 2 tasks data|-np 2 --bind-to core|--threads 1 --tasks 2"
  "1x2 2 tasks task-par|-np 1 --map-by slot:PE=2|--threads 2 --tasks 2 --task-parallel"
  "2x1 2 tasks task-par|-np 2 --bind-to core|--threads 1 --tasks 2 --task-parallel"
)
FIELDS=(img_s step_s grad_bytes_per_step skew_s sum_wait_s sum_progress_s other_collectives_s
        compute_s sum_alone_s sum_blocking_s overlap)

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "$(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "loadavg before: $(cat /proc/loadavg)"
for ((r = 1; r <= REPEATS; r++)); do
  for s in "${SETUPS[@]}"; do
    IFS='|' read -r name mflags bflags <<<"$s"
    load=$(cat /proc/loadavg)
    # shellcheck disable=SC2086 # the flags are words
    text=$("${MPIRUN[@]}" $mflags "$BENCH" --steps "$STEPS" $bflags)
    echo "== run $r: $name: mpirun $mflags bench_dist --steps $STEPS $bflags (loadavg before: $load)"
    echo "$text"
    line="$r|$name"
    for f in "${FIELDS[@]}"; do
      v=$(tr ' ' '\n' <<<"$text" | sed -n "s/^$f=//p" | head -n 1)
      line+="|$f=${v:-}"
    done
    echo "$line" >>"$out"
  done
done
echo "loadavg after: $(cat /proc/loadavg)"

echo
echo "== medians over $REPEATS runs [min..max]"
for s in "${SETUPS[@]}"; do
  name=${s%%|*}
  printf '%s:' "$name"
  for f in "${FIELDS[@]}"; do
    grep -F "|$name|" "$out" | tr '|' '\n' | sed -n "s/^$f=//p" | sort -g |
      awk -v f="$f" 'NF { v[n++] = $1 } END {
          if (!n) exit
          m = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
          printf " %s=%.6g [%.6g..%.6g]", f, m, v[0], v[n - 1] }'
  done
  echo
done
median() { sort -g | awk 'NF { v[n++] = $1 } END { print n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2 }'; }
# img R NAME: run R's images/s of set-up NAME
img() { grep -F "$1|$2|" "$out" | tr '|' '\n' | sed -n 's/^img_s=//p'; }
# ratio A B: median over the runs of A's images/s over B's in the same run
# (neighbours in time, so a change of the machine's load cancels out),
# then the runs' ratios
ratio() {
  local r all=""
  for ((r = 1; r <= REPEATS; r++)); do
    all+="$(awk -v a="$(img "$r" "$1")" -v b="$(img "$r" "$2")" 'BEGIN { printf "%.3f", a / b }') "
  done
  printf '%s (runs: %s)' "$(tr ' ' '\n' <<<"$all" | median)" "${all% }"
}
echo "images/s of 2 ranks x 1 thread over 1 rank x 2 threads: $(ratio '2x1 data' '1x2 data')"
echo "  not bound: $(ratio '2x1 data unbound' '1x2 data')"
echo "  task parallel, 2 tasks: $(ratio '2x1 2 tasks task-par' '1x2 2 tasks task-par')"
