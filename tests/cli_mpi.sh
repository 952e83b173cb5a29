#!/usr/bin/env bash
# Training on several processes (docs/DISTRIBUTED.md), through mpirun:
# two ranks with --sync-bn and a global batch of 64 make the model one
# process makes with a batch of 64 (logits within 1e-4 after 50 steps,
# augmentation on), and so do transfer and adapt; --task-parallel on two
# ranks makes the one-process --task-parallel model; rank 0 alone writes
# and speaks; a failure on one rank stops both with one message and no
# file; a run stopped on two ranks resumes on one.  Skipped (77) without MPI in the build or mpirun.
#
# usage: bash tests/cli_mpi.sh PATH/TO/templar   (COMPARE_LOGITS: the tool;
#        TEMPLAR_WITH_MPI=1: the build has MPI; set by CTest)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_mpi "${1:-}"

if [ "${TEMPLAR_WITH_MPI:-0}" != 1 ]; then
    echo "cli_mpi: templar was built without MPI (install libopenmpi-dev and openmpi-bin)"; exit 77
fi
if ! command -v mpirun >/dev/null 2>&1; then
    echo "cli_mpi: no mpirun (install openmpi-bin)"; exit 77
fi
CMP=${COMPARE_LOGITS:?COMPARE_LOGITS names the compare_logits tool}
# One thread a rank; --oversubscribe: more ranks than this machine's cores
# is fine for a test; as root (CI containers) mpirun wants to be told; -q
# keeps mpirun's own notes about failed ranks out of the one-line errors;
# no single-copy transfers, which containers often forbid (ptrace).
export OMP_NUM_THREADS=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIRUN=(mpirun -q --oversubscribe -x OMP_NUM_THREADS)
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
# Open MPI keeps allocations past MPI_Finalize, which LeakSanitizer would
# report as the test's: a sanitized build checks leaks everywhere but here.
[ "${TEMPLAR_SANITIZED:-0}" = 1 ] && export ASAN_OPTIONS=detect_leaks=0
mpi() { local n=$1; shift; "${MPIRUN[@]}" -np "$n" "$BIN" "$@" >"$T/stdout" 2>"$T/stderr"; rc=$?; }

# within TOL: compare_logits A B DIR says the logits differ by at most TOL
within() {
    local out
    out=$("$CMP" "$1" "$2" "$3") || { bad "$5: compare_logits failed"; return; }
    awk -v tol="$4" '{ split($1, kv, "="); exit !(kv[2] + 0 <= tol) }' <<<"$out" && ok ||
        bad "$5: $out (tolerance $4)"
}

idx_dir "$T/a" 12 256 64 4 3
idx_dir "$T/b" 12 192 64 4 5
# fp32: the equivalences below are of the arithmetic; bf16 rounds each rank's share
# of a batch on its own, which no tolerance of 1e-4 holds
NET=(--widths 8,16 --layers 2 --templates 2 --eval-batch 64 --precision fp32)

# ---- data parallel: the global batch shared out -----------------------------------
DP=(train --data "$T/a" "${NET[@]}" --steps 50 --batch 64 --crop-pad 1 --flip)
run "${DP[@]}" --out one.safetensors
[ "$rc" -eq 0 ] && ok || bad "one process: exit $rc"
mpi 2 "${DP[@]}" --sync-bn --out two.safetensors --log two.jsonl
[ "$rc" -eq 0 ] && ok || bad "two ranks --sync-bn: exit $rc"
within one.safetensors two.safetensors "$T/a" 1e-4 "two ranks with --sync-bn against one process"
[ "$(grep -c '^model=two.safetensors steps=50 ' stdout)" -eq 1 ] && ok ||
    bad "rank 0 alone reports: $(cat stdout)"
[ "$(grep -c '"kind":"run"' two.jsonl)" -eq 1 ] && ok || bad "the log has $(grep -c '"kind":"run"' two.jsonl) records"
# per-rank BN statistics: another model, as documented
mpi 2 "${DP[@]}" --out own-bn.safetensors
[ "$rc" -eq 0 ] && ok || bad "two ranks, their own BN statistics: exit $rc"
# three ranks, a batch that does not divide: shares of 21, 21 and 22
mpi 3 "${DP[@]}" --sync-bn --out three.safetensors
[ "$rc" -eq 0 ] && ok || bad "three ranks: exit $rc"
within one.safetensors three.safetensors "$T/a" 1e-4 "three ranks with --sync-bn against one process"

# ---- transfer and adapt: the same data parallel steps ------------------------------
run train --tasks "A=idx:$T/a,B=idx:$T/b" "${NET[@]}" --steps 10 --batch 32 --shared-head --out src.safetensors
[ "$rc" -eq 0 ] && ok || bad "the source model: exit $rc"
TR=(transfer --from src.safetensors --task "c=idx:$T/b" --steps 30 --batch 64 --eval-batch 64 --precision fp32)
run "${TR[@]}" --out tr1.safetensors
mpi 2 "${TR[@]}" --sync-bn --out tr2.safetensors
[ "$rc" -eq 0 ] && [ "$(grep -c '^model=tr2.safetensors steps=30 ' stdout)" -eq 1 ] && ok ||
    bad "two ranks transfer: exit $rc, $(tail -n 1 stderr)"
within tr1.safetensors tr2.safetensors "$T/b" 1e-4 "transfer on two ranks against one process"
AD=(adapt --from src.safetensors --target "w=idx:$T/b" --steps 30 --batch 64 --eval-batch 64 --precision fp32)
run "${AD[@]}" --out ad1.safetensors
mpi 2 "${AD[@]}" --sync-bn --out ad2.safetensors
[ "$rc" -eq 0 ] && [ "$(grep -c '^model=ad2.safetensors steps=30 ' stdout)" -eq 1 ] && ok ||
    bad "two ranks adapt: exit $rc, $(tail -n 1 stderr)"
within ad1.safetensors ad2.safetensors "$T/b" 1e-4 "adapt on two ranks against one process"

# ---- task parallel: a task a rank, the shared parameters' gradients summed ---------
TP=(train --tasks "A=idx:$T/a,B=idx:$T/b,flip" "${NET[@]}" --steps 50 --batch 32 --crop-pad 1
    --entropy 0.05 --task-parallel)
run "${TP[@]}" --out tp1.safetensors
[ "$rc" -eq 0 ] && ok || bad "one process --task-parallel: exit $rc"
mpi 2 "${TP[@]}" --out tp2.safetensors
[ "$rc" -eq 0 ] && ok || bad "two ranks --task-parallel: exit $rc"
within tp1.safetensors tp2.safetensors "$T/a" 1e-4 "task parallel on two ranks against one process"
mpi 3 "${TP[@]}" --out tp3.safetensors
[ "$rc" -eq 1 ] && tail -n 1 stderr | grep -q '^templar train: fit: task parallel on 3 processes needs at least 3 tasks, not 2$' &&
    [ "$(lines stderr)" -eq 2 ] && ok || bad "three ranks, two tasks: exit $rc, $(cat stderr)"
no_file tp3.safetensors "three ranks, two tasks"

# ---- failures: one message, from rank 0, and no file ---------------------------------------
"${MPIRUN[@]}" -np 1 "$BIN" "${DP[@]}" --out fail.safetensors : \
    -np 1 "$BIN" train --data "$T/nowhere" "${NET[@]}" --out fail.safetensors >stdout 2>stderr
rc=$?
[ "$rc" -ne 0 ] && [ "$(lines stderr)" -eq 2 ] &&
    grep -q '^templar train: rank 1: .*nowhere/train-images-idx3-ubyte.gz: No such file' stderr && ok ||
    bad "rank 1 failing alone: exit $rc, $(cat stderr)"
no_file fail.safetensors "rank 1 failing alone"
# the ranks were not given the same run
"${MPIRUN[@]}" -np 1 "$BIN" "${DP[@]}" --out odd.safetensors : \
    -np 1 "$BIN" "${DP[@]}" --steps 49 --out odd.safetensors >stdout 2>stderr
rc=$?
[ "$rc" -ne 0 ] && grep -q 'the ranks were not given the same run' stderr && ok ||
    bad "ranks with different runs: exit $rc, $(tail -n 2 stderr)"
no_file odd.safetensors "ranks with different runs"
# rank 0 alone fails midway (its log): every rank stops, and it saves
mpi 2 "${DP[@]}" --log-every 1 --log /dev/full --out full.safetensors
[ "$rc" -ne 0 ] && [ "$(grep -c 'cannot write the log' stderr)" -eq 1 ] && ok ||
    bad "a log rank 0 cannot write: exit $rc, $(tail -n 2 stderr)"

# a run that diverges: every rank sees the whole batch's loss, so all stop
# at the same step, with one message and no model
mpi 2 train --data "$T/a" "${NET[@]}" --batch 16 --steps 300 --lr 100 --schedule const \
    --out diverged.safetensors
[ "$rc" -eq 1 ] && [ "$(lines stderr)" -ge 1 ] && [ "$(grep -c 'diverged' stderr)" -eq 1 ] &&
    tail -n 1 stderr | grep -q '^templar train: training diverged at step' && ok ||
    bad "two ranks diverging: exit $rc, $(tail -n 2 stderr)"
no_file diverged.safetensors "two ranks diverging"

# ---- stopped on two ranks, resumed on one -----------------------------------------------------
# (50 steps: at 60 this small run turns sensitive enough that even one
# process on 1 and on 2 threads ends 2e-4 apart in the logits)
LONG=(train --data "$T/a" "${NET[@]}" --steps 50 --batch 64 --sync-bn)
run "${LONG[@]}" --out whole.safetensors
"${MPIRUN[@]}" -np 2 "$BIN" "${LONG[@]}" --out part.safetensors >stdout 2>stderr &
pid=$!
for _ in $(seq 200); do grep -q 'epoch' stderr 2>/dev/null && break; sleep 0.05; done
kill -TERM $pid
wait $pid
if grep -q 'terminated at step' stderr; then
    run train --resume part.safetensors
    [ "$rc" -eq 0 ] && grep -q 'resuming part.safetensors at step' stderr && ok ||
        bad "resumed on one process: exit $rc"
    within whole.safetensors part.safetensors "$T/a" 1e-4 "two ranks stopped, one resumed, against one process"
else
    echo "cli_mpi: the run ended before the signal; resume not checked" >&2
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
