#!/usr/bin/env bash
# Builds the libFuzzer harnesses (a clang build directory, -DTEMPLAR_FUZZ=ON)
# and runs each for a bounded time under AddressSanitizer and UBSan, one
# after the other on one core.  Inputs that find new coverage are kept in
# $FUZZ_BUILD/corpus/HARNESS (from one run to the next); a crash, leak,
# timeout, out-of-memory or broken property stops that harness, its input
# is saved as $FUZZ_BUILD/findings/HARNESS-KIND-HASH, and the script exits 1
# after the others have run.
#
# usage: fuzz/run.sh [HARNESS...]    (default: all of them)
#   FUZZ_SECONDS  time per harness [60]
#   FUZZ_BUILD    the clang build directory [build-fuzz]
#   FUZZ_ARGS     more libFuzzer flags, e.g. "-only_ascii=1"
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
all=(safetensors model json idx image csv request)
harnesses=("${@:-${all[@]}}")

# longest input per harness: room for the seeds and what they become
declare -A max_len=([safetensors]=32768 [model]=32768 [json]=4096 [idx]=4096
                    [image]=16384 [csv]=8192 [request]=16384)

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang is missing (scripts/deps.sh fuzz installs it)" >&2
    exit 1
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DTEMPLAR_FUZZ=ON >/dev/null || exit 1
fi
cmake --build "$build" -j "${JOBS:-2}" --target fuzzers templar make_seeds >/dev/null || exit 1
bash fuzz/make-corpus.sh "$build/templar" "$build/fuzz/make_seeds" "$build/seeds" >/dev/null || exit 1

export OMP_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/findings"
failed=()
for h in "${harnesses[@]}"; do
    if [ -z "${max_len[$h]:-}" ]; then
        echo "fuzz: no harness '$h' (known: ${all[*]})" >&2
        exit 2
    fi
    mkdir -p "$build/corpus/$h"
    log=$build/findings/$h.log
    echo "fuzz: $h for ${seconds}s"
    # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
    # inputs are at most 32 KB: one allocation of 512 MB is a bomb, not a load
    "$build/fuzz/fuzz_$h" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
        -malloc_limit_mb=512 \
        -max_len="${max_len[$h]}" -dict="fuzz/$h.dict" -print_final_stats=1 \
        -artifact_prefix="$build/findings/$h-" ${FUZZ_ARGS:-} \
        "$build/corpus/$h" "$build/seeds/$h" "fuzz/regressions/$h" >"$log" 2>&1
    rc=$?
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$log" | tr '\n' ' '
    echo
    if [ $rc -ne 0 ]; then
        failed+=("$h")
        echo "fuzz: $h FAILED (exit $rc); the end of $log:" >&2
        grep -E "ERROR|SUMMARY|Test unit written|fuzz: " "$log" | tail -8 >&2
    fi
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: findings in: ${failed[*]} (inputs in $build/findings)" >&2
    exit 1
fi
echo "fuzz: no finding in ${harnesses[*]} (${seconds}s each)"
