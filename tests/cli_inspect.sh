#!/usr/bin/env bash
# templar inspect, through the binary.  A tiny two-task model (two IDX tasks
# made with printf): inspect prints each task's mixtures (summing to 1), a
# similarity row per block whose verdict and preferred templates agree with
# the numbers printed, and writes a PNG and an SVG of one size; --png/--svg
# choose the files, --no-plot writes none; a one-task model says similarity
# needs two; bad cases fail with one line (exit 1 or 2) and leave no file.
#
# usage: bash tests/cli_inspect.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_inspect "${1:-}"

idx_dir "$T/d1" 12 96 32 4 17
idx_dir "$T/d2" 12 80 24 3 99
SMALL=(--width 16 --layers 2 --templates 2 --batch 16 --eval-batch 16 --threads 2 --steps 6)
run train --tasks "a=idx:$T/d1,b=idx:$T/d2" "${SMALL[@]}" --out "$T/m.safetensors"
[ "$rc" -eq 0 ] && [ -s "$T/m.safetensors" ] && ok || bad "train of the test model: exit $rc"

# ---- the report -------------------------------------------------------------
run inspect "$T/m.safetensors"
cp "$T/stdout" "$T/report"
[ "$rc" -eq 0 ] && [ ! -s "$T/stderr" ] && ok || bad "inspect: exit $rc"
grep -q "^model $T/m.safetensors: 2 tasks, 1 stage" "$T/report" && ok || bad "inspect: no model line"
grep -q 'Jensen-Shannon' "$T/report" && ok || bad "inspect: similarity header does not say what it measures"
# mixture rows "  L  a0 a1   b0 b1", each task's weights summing to 1
mix=$(awk '/^stage 0: mixture weights/ { on = 1; next } on && /^ +block/ { next }
           on && /^ +[0-9]+ +[0-9.]+ / { print; next } { on = 0 }' "$T/report")
[ "$(printf '%s\n' "$mix" | grep -c .)" -eq 2 ] && ok || bad "inspect: not 2 mixture rows: $mix"
awk '{ if (NF != 5 || ($2 + $3 - 1)^2 > 1e-5 || ($4 + $5 - 1)^2 > 1e-5) exit 1 }' <<<"$mix" && ok ||
    bad "inspect: mixtures do not sum to 1: $mix"
# similarity rows "  L  sim_ab  mean  verdict  a:K b:K": one per block; with
# two tasks the mean is the pair; the verdict follows the mean; the top
# templates are the argmax of the mixture rows
sim=$(grep -E '^ +[0-9]+ +[0-9.]+ +[0-9.]+ +(shared|partly shared|specialised) +a:[0-9] b:[0-9]$' "$T/report")
[ "$(printf '%s\n' "$sim" | grep -c .)" -eq 2 ] && ok || bad "inspect: not one similarity row per block: $(cat "$T/report")"
awk '{ v = $4 == "partly" ? "partly shared" : $4
       want = $3 >= 0.9 ? "shared" : $3 < 0.6 ? "specialised" : "partly shared"
       if ($2 != $3 || $2 < 0 || $2 > 1 || v != want) exit 1 }' <<<"$sim" && ok ||
    bad "inspect: similarity, mean and verdict disagree: $sim"
tops=$(sed 's/.* a:\([0-9]\) b:\([0-9]\)$/\1 \2/' <<<"$sim")
want=$(awk '{ print ($3 > $2 ? 1 : 0), ($5 > $4 ? 1 : 0) }' <<<"$mix")
[ "$tops" = "$want" ] && ok || bad "inspect: top templates '$tops', the mixtures say '$want'"
grep -qE '^stage 0 blocks: [0-2] shared, [0-2] partly shared, [0-2] specialised' "$T/report" && ok ||
    bad "inspect: no per-stage summary"

# ---- the pictures -----------------------------------------------------------
png="$T/m.mixtures.png" svg="$T/m.mixtures.svg"
[ "$(png_sig "$png")" = "$PNG_SIG" ] && ok || bad "PNG signature: $(png_sig "$png")"
[ "$(od -An -c -j12 -N4 "$png" | tr -d ' ')" = IHDR ] && ok || bad "PNG: no IHDR first"
read -r w h < <(png_size "$png")
[ "${w:-0}" -ge 100 ] && [ "$w" -le 4000 ] && [ "${h:-0}" -ge 80 ] && [ "$h" -le 4000 ] && ok ||
    bad "PNG size ${w:-?}x${h:-?} is implausible"
grep -q "^heatmap: $png (${w}x$h), $svg\$" "$T/report" && ok || bad "inspect: heatmap line lacks files or size"
case $(head -c 5 "$svg") in "<?xml" | "<svg"*) ok ;; *) bad "SVG starts with '$(head -c 20 "$svg")'" ;; esac
grep -q '<svg .*width="'"$w"'" height="'"$h"'"' "$svg" && ok || bad "SVG size differs from the PNG's ${w}x$h"
grep -q '>a</text>' "$svg" && grep -q '>b</text>' "$svg" && ok || bad "SVG lacks a task name"
[ "$(tail -n 1 "$svg")" = "</svg>" ] && ok || bad "SVG is not closed"
[ "$(grep -c '<rect' "$svg")" -ge $((2 * 2 * 2)) ] && ok || bad "SVG has fewer rectangles than cells"
[ -z "$(tmp_left)" ] && ok || bad "temporary files left: $(tmp_left)"

# ---- flags ------------------------------------------------------------------
run inspect "$T/m.safetensors" --png "$T/x.png" --svg "$T/x.svg"
[ "$rc" -eq 0 ] && [ "$(png_sig "$T/x.png")" = "$PNG_SIG" ] && grep -q '>a</text>' "$T/x.svg" &&
    cmp -s "$png" "$T/x.png" && cmp -s "$svg" "$T/x.svg" && ok ||
    bad "--png/--svg: exit $rc, or files differ from the defaults"
rm -f "$png" "$svg"
run inspect "$T/m.safetensors" --no-plot
[ "$rc" -eq 0 ] && [ ! -e "$png" ] && [ ! -e "$svg" ] && ! grep -q '^heatmap' "$T/stdout" &&
    [ "$(grep -c 'shared\|specialised' "$T/stdout")" -ge 2 ] && ok || bad "--no-plot: exit $rc or files written"
run inspect --help
[ "$rc" -eq 0 ] && grep -q -- '--png' "$T/stdout" && grep -q -- '--no-plot\|--plot' "$T/stdout" && ok ||
    bad "inspect --help: exit $rc"

# ---- one task ---------------------------------------------------------------
run train --data "$T/d1" --task solo "${SMALL[@]}" --out "$T/one.safetensors"
run inspect "$T/one.safetensors" --no-plot
[ "$rc" -eq 0 ] && grep -q 'needs 2+ tasks' "$T/stdout" && ! grep -q 'specialised  \|shared  ' "$T/stdout" &&
    ok || bad "one task: exit $rc, or no note that similarity needs 2 tasks"

# ---- bad cases: one line, exit 1 or 2, no file --------------------------------
expect_error 1 "$T/nosuch.safetensors" "missing model" -- inspect "$T/nosuch.safetensors"
expect_error 1 "templar inspect:" "missing model, prefix" -- inspect "$T/nosuch.safetensors"
no_file "$T/nosuch.mixtures.png" "missing model writes no PNG"
expect_error 2 "--bogus" "unknown flag" -- inspect "$T/m.safetensors" --bogus
expect_error 2 "which model" "no model named" -- inspect
expect_error 2 "unexpected" "two models" -- inspect "$T/m.safetensors" "$T/m.safetensors"
expect_error 2 "--svg" "empty --svg" -- inspect "$T/m.safetensors" --svg ""
expect_error 1 /nonexistent/x.png "unwritable --png" -- inspect "$T/m.safetensors" --png /nonexistent/x.png
no_file /nonexistent/x.png "unwritable --png"
# the temporary file is written but cannot replace a directory: it goes
mkdir "$T/adir"
expect_error 1 "$T/adir" "--svg onto a directory" -- inspect "$T/m.safetensors" --png "$T/y.png" --svg "$T/adir"
[ -z "$(tmp_left)" ] && ok || bad "--svg onto a directory: temporary files left: $(tmp_left)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
