#!/usr/bin/env bash
# Records and resumption: the model file and the log's first line record the
# run (version, command line, every flag, threads, data); --save-every and a
# stop by SIGINT/SIGTERM leave a resumable file, and --resume continues the
# run bit for bit (the same sha256 as an uninterrupted run, with random
# crops, rotations and zooms on); a signal while data loads leaves --out
# untouched; outputs are never silently replaced; a log that cannot be
# written fails the run.
#
# usage: bash tests/cli_resume.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_resume "${1:-}"

idx_dir "$T/d1" 12 96 32 4 17
idx_dir "$T/d2" 12 80 24 3 99
TASKS="a=idx:$T/d1,b=idx:$T/d2"
RUN=(train --tasks "$TASKS" --width 16 --layers 2 --templates 2 --batch 16 --eval-batch 16
     --threads 2 --steps 240 --optim adamw --lr 0.003 --routing gumbel --topk 1 --crop-pad 1
     --rotate 10 --scale 0.1)

run --version
[[ $(cat "$T/stdout") =~ ^templar\ [0-9]+\.[0-9]+\.[0-9]+ ]] && ok || bad "--version: '$(cat "$T/stdout")'"

# (The signals must land while the run trains, on any machine, fast or
# under sanitizers: the run is frozen by SIGSTOP as soon as its line shows,
# signalled, then let go.)

# ---- the uninterrupted run, in its own directory ------------------------------
mkdir "$T/whole" "$T/parts"
cd "$T/whole" || exit 1
run "${RUN[@]}" --out m.safetensors --save-every 70 --log m.jsonl --log-every 20
[ "$rc" -eq 0 ] && ok || bad "the whole run: exit $rc"
head -n 1 m.jsonl | grep -q '^{"kind":"run","started":.*"command":\["train","--tasks",.*"flags":{.*"lr":0.00300000003,.*"crop-pad":1,"flip":true,"rotate":10,"scale":0.100000001,"jitter":0,.*"threads":2,"data":"a=idx:/' &&
    ok || bad "the log's record: $(head -c 300 m.jsonl)"
[ "$(grep -c '"kind":"step"' m.jsonl)" -eq 12 ] && [ "$(grep -c '"kind":"epoch"' m.jsonl)" -ge 1 ] && ok ||
    bad "--log-every 20: $(grep -c '"kind":"step"' m.jsonl) step lines"
grep -q '"record":"{\\"templar\\":' <(head -c 100000 m.safetensors) && ok || bad "the model file records no run"

# ---- the same run in pieces: stopped by SIGINT, then SIGTERM, then resumed -------
cd "$T/parts" || exit 1
env --default-signal=INT "$BIN" "${RUN[@]}" --out m.safetensors --save-every 70 --log m.jsonl --log-every 20 >stdout 2>stderr &
pid=$!
for _ in $(seq 3000); do grep -q 'epoch' stderr 2>/dev/null && break; sleep 0.02; done
kill -STOP $pid; kill -INT $pid; kill -CONT $pid; wait $pid; rc=$?
[ "$rc" -eq 130 ] && grep -q 'interrupted at step [0-9]* of 240: the run so far is in m.safetensors (templar train --resume m.safetensors continues it)' stderr &&
    [ "$(lines stderr | tr -d ' ')" -ge 1 ] && ok || bad "SIGINT: exit $rc, $(tail -n 1 stderr)"
run eval m.safetensors --task a --data "$T/d1" --batch 16
[ "$rc" -eq 0 ] && ok || bad "the interrupted run's model does not evaluate: exit $rc"
env --default-signal=INT "$BIN" train --resume m.safetensors >stdout 2>stderr &
pid=$!
for _ in $(seq 3000); do grep -q 'resuming' stderr 2>/dev/null && break; sleep 0.02; done
kill -STOP $pid; kill -TERM $pid; kill -CONT $pid; wait $pid; rc=$?
[ "$rc" -eq 143 ] && ok || bad "SIGTERM: exit $rc, $(tail -n 1 stderr)"
run train --resume m.safetensors
[ "$rc" -eq 0 ] && grep -q 'resuming m.safetensors at step' "$T/stderr" && ok || bad "--resume: exit $rc"
if [ "$(sha256sum <m.safetensors | cut -c1-64)" = "$(sha256sum <"$T/whole/m.safetensors" | cut -c1-64)" ]; then ok
else bad "the resumed run's file differs from the uninterrupted one's"; fi
[ "$(grep -c '"kind":"run"' m.jsonl)" -ge 2 ] && ok || bad "the resumed run's log has no record of its own"
expect_error 1 "holds no training state" "--resume of a finished run" -- train --resume m.safetensors --force
expect_error 1 "not of 'templar transfer'" "--resume with another command" -- transfer --resume m.safetensors

# ---- a signal before training starts: --out untouched -------------------------------
# (the log is a FIFO nobody reads, so the run waits in its set-up)
cp m.safetensors keep.safetensors
mkfifo stuck.jsonl
"$BIN" "${RUN[@]}" --out m.safetensors --force --log stuck.jsonl >/dev/null 2>&1 &
pid=$!
sleep 1
kill -TERM $pid; wait $pid
cmp -s m.safetensors keep.safetensors && ok || bad "a signal while loading replaced --out"

# ---- outputs ---------------------------------------------------------------------------
cd "$T" || exit 1
expect_error 1 "m.safetensors: exists; give --force" "an existing --out" -- "${RUN[@]}" --steps 2 --out "$T/whole/m.safetensors"
run train --tasks "$TASKS" --width 8 --layers 1 --templates 1 --batch 16 --eval-batch 16 --steps 1 --threads 2
[ "$rc" -eq 0 ] && [ -s "$T/a+b.safetensors" ] && ok || bad "the default --out is not a+b.safetensors: $(ls "$T")"
expect_error 1 "/dev/full: cannot write the log" "a log that cannot be written" -- "${RUN[@]}" --steps 20 --log-every 1 --log /dev/full --out "$T/full.safetensors"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
