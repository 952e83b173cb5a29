#!/usr/bin/env bash
# templar serve through the binary and curl: the server starts on a free
# loopback port; it classifies PNG and JSON pixels as templar predict does
# (the model's tasks) and as tpl_model_classify does on the task appended
# to the model (a task file: serve_helper expect); a batch answers like its
# items alone; a task is added with PUT (401 without the token, 409 for
# another bank's, 400 for a broken file, nothing left behind) and removed
# with DELETE; every malformed request gets its 4xx with a JSON error; a
# full queue answers 503 with Retry-After; /healthz and /metrics answer;
# SIGTERM lets a request under way finish and exits 0.
#
# usage: bash tests/cli_serve.sh PATH/TO/templar   (SERVE_HELPER: serve_helper)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_serve "${1:-}"
if ! command -v curl >/dev/null 2>&1; then
    echo "SKIPPED: curl is not installed (Debian package curl)"
    exit 77
fi
H=${SERVE_HELPER:-}
if [ -z "$H" ] || [ ! -x "$H" ]; then
    echo "cli_serve: SERVE_HELPER must name the serve_helper binary (CTest sets it)" >&2
    exit 2
fi

# ---- a bank of three tasks (one with class names), and task files --------
idx_dir "$T/d1" 12 96 32 4 17
idx_dir "$T/d2" 12 80 24 3 99
for c in cat dog; do
    mkdir -p "$T/pets/$c"
    for i in 1 2 3 4 5 6 7 8 9 10; do "$H" png "$T/pets/$c/$i.png" 12 12 1 $((i * 7 + ${#c} * 31)); done
done
run train --tasks "a=idx:$T/d1,b=idx:$T/d2,pets=folder:$T/pets" --width 16 --layers 2 --templates 2 \
    --batch 8 --eval-batch 8 --threads 2 --steps 4 --out "$T/m.safetensors"
[ "$rc" -eq 0 ] && ok || bad "training the bank: exit $rc"
run train --tasks "a=idx:$T/d1" --width 16 --layers 2 --templates 2 --batch 8 --threads 2 --steps 1 \
    --seed 5 --out "$T/other.safetensors"
[ "$rc" -eq 0 ] && ok || bad "training another bank: exit $rc"
mkdir -p "$T/tasks"
run task "$T/m.safetensors" "$T/tasks/bx.safetensors" --task b
if [ "$rc" -ne 0 ] || ! grep -q '^model=.* task=b file=.* bank=[0-9a-f]\{16\} bytes=[0-9]*$' "$T/stdout"; then
    bad "templar task: exit $rc, $(cat "$T/stdout")"
else ok; fi
run task "$T/m.safetensors" "$T/pets.safetensors" --task pets
[ "$rc" -eq 0 ] && ok || bad "templar task pets: exit $rc"
run task "$T/other.safetensors" "$T/foreign.safetensors"
[ "$rc" -eq 0 ] && ok || bad "templar task of another bank: exit $rc"
expect_error 1 "no task 'zz'" "task: unknown task" -- task "$T/m.safetensors" "$T/zz.safetensors" --task zz
no_file "$T/zz.safetensors" "task: unknown task"
expect_error 2 "usage" "task: no output" -- task "$T/m.safetensors"

"$H" png "$T/img1.png" 12 12 1 3
"$H" png "$T/img2.png" 20 16 1 8 # resized to 12x12, as predict does
"$H" png "$T/img3.png" 9 14 3 4  # resized and made grey
"$H" png "$T/big.png" 300 10 1 1
"$H" json "$T/img1.png" 1 >"$T/img1.json"
"$H" json "$T/img2.png" 1 >"$T/img2.json"
"$H" json "$T/img3.png" 3 >"$T/img3.json"
printf 'sesame\n' >"$T/token"

# ---- the server ------------------------------------------------------------
# start_server NAME ARGS...: runs it in the background, waits for its line,
# sets PORT and PID.
start_server() {
    local name=$1
    shift
    "$BIN" serve "$@" >"$T/$name.out" 2>"$T/$name.err" &
    PID=$!
    PORT=
    for _ in $(seq 1 200); do
        PORT=$(sed -n 's/^templar serve: listening on http:\/\/127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$T/$name.out")
        [ -n "$PORT" ] && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    bad "$name: did not start: $(cat "$T/$name.out" "$T/$name.err")"
    return 1
}
# req METHOD PATH [CURL ARGS...]: status in $code, body in $T/body, headers in $T/headers
req() {
    local method=$1 path=$2
    shift 2
    code=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$method" "$@" "http://127.0.0.1:$PORT$path")
}
# expect_status CODE DESC: and, for 4xx/5xx, a JSON error naming the status
expect_status() {
    if [ "$code" != "$1" ]; then bad "$2: status $code, expected $1: $(head -c 300 "$T/body")"
    elif [ "$1" -ge 400 ] && ! grep -q "^{\"error\":\".*\",\"status\":$1}\$" "$T/body"; then bad "$2: error body $(head -c 300 "$T/body")"
    else ok; fi
}
# first class and prob of a classify answer
answer() { sed -n 's/^{"task":"[^"]*","classes":\[{"class":\([0-9]*\),"name":[^,]*,"prob":\([0-9.e-]*\)}.*/class=\1 prob=\2/p' "$T/body"; }
# same_answer "class=K prob=P" "class=K prob=Q" TOL DESC
same_answer() {
    local k1=${1%% *} k2=${2%% *} p1=${1##*prob=} p2=${2##*prob=}
    if [ -z "$1" ] || [ "$k1" != "$k2" ] || ! awk -v a="$p1" -v b="$p2" -v t="$3" 'BEGIN { d = a - b; exit !(d <= t && d >= -t) }'; then
        bad "$4: '$1' vs '$2'"
    else ok; fi
}

start_server main "$T/m.safetensors" --tasks-dir "$T/tasks" --listen 127.0.0.1:0 --token-file "$T/token" \
    --threads 2 --max-body-kb 64 --max-side 256 || exit 1
grep -q "(4 tasks, bank [0-9a-f]\{16\};" "$T/main.out" && ok || bad "start line: $(cat "$T/main.out")"

req GET /healthz
expect_status 200 "healthz"
grep -q '"status":"ok","tasks":4' "$T/body" && ok || bad "healthz body: $(cat "$T/body")"
req GET /v1/tasks
expect_status 200 "list tasks"
for t in '"name":"a","classes":4' '"name":"b","classes":3' '"name":"bx","classes":3,"class_names":null,"bytes":[0-9]*,"source":"tasks-dir"' \
         '"name":"pets","classes":2,"class_names":\["cat","dog"\],"bytes":[0-9]*,"source":"model"'; do
    grep -q "$t" "$T/body" && ok || bad "list tasks: no $t in $(cat "$T/body")"
done

# ---- answers: the model's tasks against templar predict --------------------
for task in a b pets; do
    for img in img1 img2 img3; do
        run predict "$T/m.safetensors" "$T/$img.png" --task $task
        want=$(sed -n 's/.* class=\([0-9]*\)\( name=[^ ]*\)\{0,1\} prob=\([0-9.]*\)$/class=\1 prob=\3/p' "$T/stdout")
        req POST "/v1/tasks/$task/classify" -H 'Content-Type: image/png' --data-binary "@$T/$img.png"
        expect_status 200 "classify $task $img (PNG)"
        same_answer "$(answer)" "$want" 0.00006 "task $task, $img as PNG against predict"
        png=$(answer)
        req POST "/v1/tasks/$task/classify" -H 'Content-Type: application/json' --data-binary "@$T/$img.json"
        expect_status 200 "classify $task $img (JSON)"
        [ "$(answer)" = "$png" ] && ok || bad "task $task, $img: JSON pixels '$(answer)', PNG '$png'"
    done
done
req POST "/v1/tasks/pets/classify?top=2" --data-binary "@$T/img1.png"
expect_status 200 "classify, sniffed PNG, top 2"
grep -q '^{"task":"pets","classes":\[{"class":[01],"name":"\(cat\|dog\)","prob":[0-9.e-]*},{"class":[01],"name":"\(cat\|dog\)","prob":[0-9.e-]*}\]}$' "$T/body" \
    && ok || bad "top 2 with class names: $(cat "$T/body")"
req POST "/v1/tasks/a/classify?top=1" --data-binary "@$T/img1.png"
[ "$(grep -o '"class"' "$T/body" | wc -l)" -eq 1 ] && ok || bad "top 1: $(cat "$T/body")"

# ---- a task file from the tasks directory, against tpl_model_classify ------
want=$("$H" expect "$T/m.safetensors" "$T/tasks/bx.safetensors" "$T/img2.png")
req POST /v1/tasks/bx/classify -H 'Content-Type: image/png' --data-binary "@$T/img2.png"
expect_status 200 "classify bx"
same_answer "$(answer)" "$want" 0.000001 "task file bx against the task appended to the model"

# ---- a batch answers like its items alone ------------------------------------
req POST /v1/tasks/a/classify --data-binary "@$T/img1.png"
one_a=$(answer)
req POST /v1/tasks/bx/classify --data-binary "@$T/img2.png"
one_bx=$(answer)
printf '{"items": [{"task": "a", %s, {"task": "bx", %s, {"task": "a", %s], "top": 1}' \
    "$(sed 's/^{//' "$T/img1.json")" "$(sed 's/^{//' "$T/img2.json")" "$(sed 's/^{//' "$T/img1.json")" >"$T/batch.json"
req POST /v1/classify -H 'Content-Type: application/json' --data-binary "@$T/batch.json"
expect_status 200 "batch"
sed 's/^{"results":\[//; s/\]}$//; s/},{"task"/}\n{"task"/g' "$T/body" >"$T/results"
n=0
while IFS= read -r line; do
    printf '%s\n' "$line" >"$T/body"
    case $n in 0 | 2) want=$one_a ;; 1) want=$one_bx ;; esac
    [ "$(answer)" = "$want" ] && ok || bad "batch item $n: '$(answer)', alone '$want'"
    n=$((n + 1))
done <"$T/results"
[ $n -eq 3 ] && ok || bad "batch: $n results: $(cat "$T/results")"

# ---- adding and removing tasks ---------------------------------------------
req PUT /v1/tasks/newt --data-binary "@$T/pets.safetensors"
expect_status 401 "PUT without a token"
grep -qi '^WWW-Authenticate: Bearer' "$T/headers" && ok || bad "401 without WWW-Authenticate"
req PUT /v1/tasks/newt -H 'Authorization: Bearer sesamE' --data-binary "@$T/pets.safetensors"
expect_status 401 "PUT with a wrong token"
req PUT /v1/tasks/newt -H 'Authorization: Bearer sesame' --data-binary "@$T/pets.safetensors"
expect_status 201 "PUT"
[ -f "$T/tasks/newt.safetensors" ] && cmp -s "$T/tasks/newt.safetensors" "$T/pets.safetensors" && ok || bad "PUT: file not written"
req POST /v1/tasks/newt/classify --data-binary "@$T/img1.png"
expect_status 200 "classify a task just added"
want=$("$H" expect "$T/m.safetensors" "$T/pets.safetensors" "$T/img1.png")
same_answer "$(answer)" "$want" 0.000001 "added task against the task appended to the model"
grep -q '"name":"\(cat\|dog\)"' "$T/body" && ok || bad "added task: no class names: $(cat "$T/body")"
req PUT /v1/tasks/newt -H 'Authorization: Bearer sesame' --data-binary "@$T/tasks/bx.safetensors"
expect_status 200 "PUT replacing a task"
req POST "/v1/tasks/newt/classify?top=3" --data-binary "@$T/img1.png"
[ "$(grep -o '"class"' "$T/body" | wc -l)" -eq 3 ] && ok || bad "replaced task: not 3 classes: $(cat "$T/body")"
req PUT /v1/tasks/alien -H 'Authorization: Bearer sesame' --data-binary "@$T/foreign.safetensors"
expect_status 409 "PUT of another bank's task"
grep -q 'another bank' "$T/body" && ok || bad "another bank: $(cat "$T/body")"
head -c 300 "$T/pets.safetensors" >"$T/cut.safetensors"
req PUT /v1/tasks/cut -H 'Authorization: Bearer sesame' --data-binary "@$T/cut.safetensors"
expect_status 400 "PUT of a truncated file"
req PUT /v1/tasks/model -H 'Authorization: Bearer sesame' --data-binary "@$T/m.safetensors"
[ "$code" = 400 ] || [ "$code" = 413 ] && ok || bad "PUT of a model file: $code"
req PUT /v1/tasks/a -H 'Authorization: Bearer sesame' --data-binary "@$T/pets.safetensors"
expect_status 409 "PUT over a model's task"
left=$(cd "$T/tasks" && ls -A | grep -v '^\(bx\|newt\)\.safetensors$')
[ -z "$left" ] && ok || bad "the tasks directory holds: $left"
req DELETE /v1/tasks/newt
expect_status 401 "DELETE without a token"
req DELETE /v1/tasks/newt -H 'Authorization: Bearer sesame'
expect_status 200 "DELETE"
[ ! -e "$T/tasks/newt.safetensors" ] && ok || bad "DELETE left the file"
req POST /v1/tasks/newt/classify --data-binary "@$T/img1.png"
expect_status 404 "classify a removed task"
req DELETE /v1/tasks/newt -H 'Authorization: Bearer sesame'
expect_status 404 "DELETE twice"
req DELETE /v1/tasks/a -H 'Authorization: Bearer sesame'
expect_status 409 "DELETE a model's task"

# ---- malformed requests: each its 4xx ---------------------------------------
req GET /nowhere
expect_status 404 "unknown path"
req GET /v1/tasks/a/classify
expect_status 405 "GET classify"
req POST /v1/tasks
expect_status 405 "POST tasks"
req POST /v1/tasks/no.pe/classify --data-binary "@$T/img1.png"
expect_status 400 "task name with a dot"
req POST /v1/tasks/..%2F..%2Fetc/classify --data-binary "@$T/img1.png"
[ "$code" = 400 ] || [ "$code" = 404 ] && ok || bad "escaping path: $code"
req PUT "/v1/tasks/..%2Fescape" -H 'Authorization: Bearer sesame' --data-binary "@$T/pets.safetensors"
[ "$code" = 400 ] || [ "$code" = 404 ] && ok || bad "PUT escaping path: $code"
[ ! -e "$T/escape.safetensors" ] && ok || bad "PUT wrote outside the tasks directory"
req POST /v1/tasks/zz/classify --data-binary "@$T/img1.png"
expect_status 404 "unknown task"
req POST /v1/tasks/a/classify -H 'Content-Type: application/json' --data-binary '{"width": 12, "height": 12'
expect_status 400 "truncated JSON"
req POST /v1/tasks/a/classify -H 'Content-Type: application/json' --data-binary '{"width": 2, "height": 2, "channels": 1, "pixels": [1, 2, 3]}'
expect_status 400 "too few pixels"
req POST /v1/tasks/a/classify -H 'Content-Type: application/json' --data-binary '{"width": 1, "height": 1, "channels": 1, "pixels": [256]}'
expect_status 400 "pixel over 255"
req POST /v1/tasks/a/classify -H 'Content-Type: application/json' --data-binary '{"width": 1, "height": 1, "channels": 2, "pixels": [1, 2]}'
expect_status 400 "two channels"
req POST /v1/tasks/a/classify -H 'Content-Type: application/json' --data-binary '{"width": 1, "height": 1, "channels": 3, "pixels": [10, 20, 30]}'
expect_status 200 "RGB pixels for a grey model (converted, as predict converts files)"
req POST /v1/tasks/a/classify -H 'Content-Type: application/json' --data-binary '{"widht": 1}'
expect_status 400 "unknown key"
req POST /v1/tasks/a/classify -H 'Content-Type: application/json' --data-binary '{"width": 9999, "height": 1, "channels": 1, "pixels": []}'
expect_status 400 "width past --max-side"
req POST /v1/tasks/a/classify -H 'Content-Type: text/plain' --data-binary 'hello'
expect_status 415 "text body"
req POST /v1/tasks/a/classify -H 'Content-Type: image/png' --data-binary 'not a png at all'
expect_status 400 "broken PNG"
req POST /v1/tasks/a/classify -H 'Content-Type: image/png' --data-binary "@$T/big.png"
expect_status 413 "image past --max-side"
req POST /v1/tasks/a/classify
expect_status 400 "empty body"
head -c 70000 /dev/zero >"$T/zeros"
req POST /v1/tasks/a/classify -H 'Content-Type: image/png' --data-binary "@$T/zeros"
expect_status 413 "body past --max-body-kb"
for top in 0 1001 abc -1 2x ''; do
    req POST "/v1/tasks/a/classify?top=$top" --data-binary "@$T/img1.png"
    expect_status 400 "top=$top"
done
req POST /v1/classify -H 'Content-Type: application/json' --data-binary '{"items": []}'
expect_status 400 "empty batch"
req POST /v1/classify -H 'Content-Type: application/json' --data-binary '{"items": [{"width": 1}]}'
expect_status 400 "batch item without a task"
printf '{"items": [{"task": "ghost", %s]}' "$(sed 's/^{//' "$T/img1.json")" >"$T/ghost.json"
req POST /v1/classify -H 'Content-Type: application/json' --data-binary "@$T/ghost.json"
expect_status 404 "batch item of an unknown task"

req GET /metrics
expect_status 200 "metrics"
for m in 'templar_requests_total{route="classify",code="200"} [1-9]' 'templar_requests_total{route="task_put",code="401"} 2' \
         'templar_request_duration_seconds_bucket{route="classify",le="+Inf"} [1-9]' 'templar_batch_size_bucket{le="1"} [1-9]' \
         'templar_queue_depth 0' 'templar_tasks_loaded 4' 'templar_cache_lookups_total{result="hit"} [1-9]' \
         'templar_request_errors_total{route="classify"} [1-9]'; do
    grep -q "^$m" "$T/body" && ok || bad "metrics: no '$m'"
done

kill -TERM "$PID"
wait "$PID"
src=$?
[ $src -eq 0 ] && grep -q 'SIGTERM: stopped, every request answered' "$T/main.out" && ok || bad "SIGTERM: exit $src, $(tail -1 "$T/main.out")"

# ---- a full queue, and a drain with a request under way -----------------------
# The batcher waits 1.5 s for a fuller batch, so the first image holds the
# one place in the queue.
start_server slow "$T/m.safetensors" --listen 127.0.0.1:0 --queue 1 --max-batch 8 --max-wait-ms 1500 --threads 2 || exit 1
curl -s -o "$T/first" -w '%{http_code}' --data-binary "@$T/img1.png" "http://127.0.0.1:$PORT/v1/tasks/a/classify" >"$T/first.code" &
first=$!
sleep 0.5
req POST /v1/tasks/a/classify --data-binary "@$T/img1.png"
expect_status 503 "a full queue"
grep -qi '^Retry-After: 1' "$T/headers" && ok || bad "503 without Retry-After"
kill -TERM "$PID"
sleep 0.3
req GET /healthz
[ "$code" = 503 ] || [ "$code" = 000 ] && ok || bad "healthz while draining: $code"
wait $first
[ "$(cat "$T/first.code")" = 200 ] && grep -q '"task":"a"' "$T/first" && ok || bad "the request under way at SIGTERM: $(cat "$T/first.code") $(cat "$T/first")"
wait "$PID"
src=$?
[ $src -eq 0 ] && grep -q 'every request answered' "$T/slow.out" && ok || bad "drain: exit $src, $(cat "$T/slow.out" "$T/slow.err")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
[ "$code" = 000 ] && ok || bad "still answering after the drain: $code"

# ---- start errors ---------------------------------------------------------------
expect_error 1 "missing.safetensors" "serve: no model" -- serve "$T/missing.safetensors" --listen 127.0.0.1:0
expect_error 1 "not ADDRESS:PORT" "serve: bad --listen" -- serve "$T/m.safetensors" --listen localhost
expect_error 1 "not an IP address" "serve: bad address" -- serve "$T/m.safetensors" --listen nowhere:80
cp "$T/foreign.safetensors" "$T/tasks/alien.safetensors"
expect_error 1 "alien.safetensors: the task file is for another bank" "serve: a task file of another bank" -- \
    serve "$T/m.safetensors" --tasks-dir "$T/tasks" --listen 127.0.0.1:0
rm "$T/tasks/alien.safetensors"
expect_error 1 "cannot read the token file" "serve: missing token file" -- serve "$T/m.safetensors" --token-file "$T/none" --listen 127.0.0.1:0
expect_error 2 "usage" "serve: no model argument" -- serve
start_server busy "$T/m.safetensors" --listen 127.0.0.1:0 || exit 1
expect_error 1 "cannot listen on 127.0.0.1:$PORT" "serve: port in use" -- serve "$T/m.safetensors" --listen "127.0.0.1:$PORT"
kill -TERM "$PID"
wait "$PID"

echo "cli_serve: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
