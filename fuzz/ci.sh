#!/usr/bin/env bash
# CI's fuzzing step: every harness for 30 s (FUZZ_SECONDS) under ASan and
# UBSan, starting from the seeds and fuzz/regressions; any crash, leak,
# timeout, out-of-memory or broken property fails the step, and the input
# that found it is printed in hex (and kept in $FUZZ_BUILD/findings) so it
# can become a file under fuzz/regressions/HARNESS/.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export FUZZ_SECONDS=${FUZZ_SECONDS:-30}
export FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
scripts/deps.sh fuzz || exit 1
mkdir -p "$FUZZ_BUILD"
stamp=$FUZZ_BUILD/ci-started
touch "$stamp"
if fuzz/run.sh "$@"; then exit 0; fi
for f in "$FUZZ_BUILD"/findings/*-*-*; do
    [ -f "$f" ] && [ "$f" -nt "$stamp" ] || continue # this run's only
    echo "fuzz: finding $f ($(wc -c <"$f") bytes):" >&2
    od -A x -t x1z -v "$f" | head -64 >&2
done
exit 1
