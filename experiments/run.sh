# Sourced by the experiment scripts, which set BIN (the templar binary) and
# OUT (the output directory).
# run NAME ARGS...: one templar command, its stdout and stderr kept; skipped
# when its output is already there (so an interrupted sweep resumes).
run() {
    local name=$1
    shift
    if [ -s "$OUT/$name.out" ] && grep -q 'test_acc=' "$OUT/$name.out"; then return; fi
    echo "== $name: templar $*" >&2
    "$BIN" "$@" >"$OUT/$name.out.tmp" 2>"$OUT/$name.err"
    mv "$OUT/$name.out.tmp" "$OUT/$name.out"
}
