#!/usr/bin/env bash
# What must fail cleanly, through the binary: a kill -9 during a model write
# (the old file or the new one, never a partial one; no temporary file after
# the next run), a full disk (one line, the old file untouched), a diverging
# run (exit 1, no model file), model bombs and invalid models (one line,
# fast, little memory), and configs too big for the machine (refused before
# anything is allocated).  Signals other than kill -9 are cli_errors' matter.
#
# usage: bash tests/cli_hardening.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_hardening "${1:-}"
REG="$HERE/../fuzz/regressions/model"
idx_dir "$T/data" 12 96 32 4 17

# fail_line CODE NEEDLE DESC: exit CODE, and the last line on stderr (after
# any progress lines) is the one error line "templar CMD: ...NEEDLE...".
fail_line() {
    local errors
    errors=$(grep -c '^templar [a-z]*: ' "$T/stderr")
    if [ "$rc" -ne "$1" ]; then bad "$3: exit $rc, expected $1"
    elif [ "$errors" -ne 1 ] || ! tail -n 1 "$T/stderr" | grep -q '^templar [a-z]*: '; then
        bad "$3: not one error line at the end of stderr"
    elif ! tail -n 1 "$T/stderr" | grep -qF -- "$2"; then bad "$3: the error does not say '$2'"
    else ok; fi
}

# peak_kb CMD...: runs the binary like run, and sets kb to its peak RSS in KB
# (0 when /usr/bin/time is missing: the memory checks are then skipped).
peak_kb() {
    kb=0
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%M' -o "$T/rss" "$BIN" "$@" >"$T/stdout" 2>"$T/stderr"
        rc=$?
        kb=$(tail -n 1 "$T/rss")
    else
        run "$@"
    fi
}
small_rss() { # DESC: under 150 MB
    if [ "$kb" -gt 0 ] && [ "$kb" -gt 153600 ]; then bad "$1: peak RSS $kb KB"; else ok; fi
}

# ---- model bombs and invalid models: refused at load, at once ------------
peak_kb info "$REG/bomb-1024-wide.safetensors"
fail_line 1 "tensor 'stem.weight' is missing" "model bomb (metadata: widths 1024)"
small_rss "model bomb"
peak_kb info "$REG/negative-running-var.safetensors"
fail_line 1 "holds a negative variance" "negative BN running variance"
small_rss "negative BN running variance"
idx_dir "$T/d8" 8 16 8 2 5
run eval "$REG/overflowing-forward.safetensors" --task a --data "$T/d8"
fail_line 1 "task 'a': the forward overflows" "finite weights that overflow"
grep -qi nan "$T/stdout" && bad "an overflowing model printed NaN" || ok

# ---- configs too big: refused before allocating ---------------------------
peak_kb train --data "$T/data" --width 1024 --layers 256 --templates 256 --out "$T/huge.safetensors"
fail_line 1 "MiB available" "--width 1024 --layers 256 --templates 256"
small_rss "--width 1024 --layers 256 --templates 256"
no_file "$T/huge.safetensors" "a refused config"
run train --data "$T/data" --width 16 --layers 2 --templates 2 --steps 2 --max-memory 1 --out "$T/huge.safetensors"
fail_line 1 "allowed (the memory limit)" "--max-memory 1"
no_file "$T/huge.safetensors" "--max-memory 1"

# ---- divergence: exit 1, no model ----------------------------------------
run train --data "$T/data" --width 8 --layers 2 --templates 2 --batch 16 --eval-batch 16 \
    --threads 2 --steps 300 --lr 100 --schedule const --out "$T/diverged.safetensors"
fail_line 1 "training diverged at step" "--lr 100"
no_file "$T/diverged.safetensors" "a diverged run"

# ---- a full disk: one line, the old file as it was ----------------------
BIG_S="--force --data $T/data --width 32 --layers 4 --templates 4 --batch 16 --eval-batch 16 --threads 2 --steps 1"
TINY_S="--force --data $T/data --width 8 --layers 1 --templates 1 --batch 16 --eval-batch 16 --threads 2 --steps 1"
# full_disk DIR: a small model into DIR/m.safetensors, then a 300 KB one over
# it; prints the second run's exit code, whether the file changed, and what
# DIR holds afterwards (the second run's stderr goes to DIR/../full.err).
full_disk() {
    # shellcheck disable=SC2086
    "$BIN" train $TINY_S --out "$1/m.safetensors" >/dev/null 2>&1 || echo "small write failed"
    local before
    before=$(cksum <"$1/m.safetensors")
    # shellcheck disable=SC2086
    "$BIN" train $BIG_S --out "$1/m.safetensors" >/dev/null 2>"$1/../full.err"
    echo "rc=$?"
    [ "$before" = "$(cksum <"$1/m.safetensors")" ] && echo "unchanged" || echo "changed"
    (cd "$1" && ls)
}
mkdir -p "$T/full"
export BIN T TINY_S BIG_S
export -f full_disk
if unshare -rm true 2>/dev/null; then
    # a 128 KB tmpfs in a mount namespace of our own: ENOSPC, and no mount left behind
    unshare -rm bash -c 'mount -t tmpfs -o size=128k tmpfs "$T/full" && full_disk "$T/full"' \
        >"$T/full.out" 2>&1
    need="No space left on device"
else
    # no namespace: the file size limit (SIGXFSZ ignored, so writes fail with EFBIG)
    (trap '' XFSZ; ulimit -f 128; full_disk "$T/full") >"$T/full.out" 2>&1
    need="File too large"
fi
if ! grep -q '^rc=1$' "$T/full.out"; then bad "full disk: $(tr '\n' ' ' <"$T/full.out")"
elif [ "$(grep -c '^templar train: ' "$T/full.err")" -ne 1 ] ||
    ! tail -n 1 "$T/full.err" | grep -qF "$need"; then bad "full disk: error '$(tail -n 1 "$T/full.err")'"
elif ! grep -q '^unchanged$' "$T/full.out"; then bad "full disk: the old model file changed"
elif grep -q 'tmp' "$T/full.out"; then bad "full disk: a temporary file was left: $(tr '\n' ' ' <"$T/full.out")"
else ok; fi

# ---- kill -9 during a model write ----------------------------------------
# A 38 MB model, so that writing it takes a while; the kill lands as soon as
# its temporary file appears.
KILL=(--force --data "$T/data" --width 256 --layers 4 --templates 8 --batch 16 --eval-batch 16 --threads 2 --steps 1)
run train "${KILL[@]}" --out "$T/k.safetensors"
[ "$rc" -eq 0 ] && cp "$T/k.safetensors" "$T/old.safetensors" && ok || bad "kill -9: first write, exit $rc"
"$BIN" train "${KILL[@]}" --seed 2 --out "$T/k.safetensors" >/dev/null 2>&1 &
pid=$!
for ((i = 0; i < 6000; i++)); do
    [ -e "$T/k.safetensors.tmp.$pid" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ -e "$T/k.safetensors.tmp.$pid" ]; then mid=1; else mid=0; fi
if cmp -s "$T/k.safetensors" "$T/old.safetensors"; then ok
else
    run info "$T/k.safetensors" # the new file, whole
    [ "$rc" -eq 0 ] && ok || bad "kill -9 left a file that does not load"
fi
[ "$mid" -eq 1 ] || echo "note: kill -9 did not land during the write this time" >&2
# a stale file of a PID that surely is not running, in case the kill missed
sleep 0 & dead=$!
wait "$dead"
printf 'partial' >"$T/k.safetensors.tmp.$dead"
# shellcheck disable=SC2086
run train $TINY_S --out "$T/k.safetensors"
[ "$rc" -eq 0 ] && ok || bad "the run after kill -9: exit $rc"
ls "$T"/k.safetensors.tmp.* >/dev/null 2>&1 && bad "temporary files left: $(ls "$T"/k.safetensors.tmp.*)" || ok

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
