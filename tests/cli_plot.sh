#!/usr/bin/env bash
# templar plot, through the binary: the loss and accuracy curves of a
# training log written here by hand (the run/step/epoch lines of train,
# transfer and adapt, with a torn last line as a killed run leaves it), and
# of an old log (epoch lines only).  SVG by default (the log's name ending
# .svg), PNG with --png or an --out ending .png, --metric; an existing
# output is kept unless --force; bad cases fail with one line (exit 1 or 2)
# and leave no file, never touching the log.
#
# usage: bash tests/cli_plot.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_plot "${1:-}"

# ---- a two-task log in the current format ---------------------------------------
{
    echo '{"kind":"run","templar":"0.2.0","command":"templar train --tasks fashion,digits --log run.jsonl","seed":1}'
    for s in 10 20 30 40 50 60 70 80; do
        echo "{\"kind\":\"step\",\"step\":$s,\"epoch\":$(((s - 1) / 40 + 1)),\"lr\":0.1,\"elapsed_s\":$s.5,\"tasks\":{\"fashion\":{\"loss\":$(awk "BEGIN{print 2/(1+$s/20)}"),\"acc\":$(awk "BEGIN{print 1-0.9/(1+$s/20)}")},\"digits\":{\"loss\":$(awk "BEGIN{print 2.5/(1+$s/30)}"),\"acc\":$(awk "BEGIN{print 1-0.9/(1+$s/30)}")}}}"
        if [ $((s % 40)) -eq 0 ]; then
            echo "{\"kind\":\"epoch\",\"epoch\":$((s / 40)),\"step\":$s,\"lr\":0.1,\"train_loss\":1,\"train_acc\":0.5,\"test_loss\":1,\"test_acc\":0.5,\"img_s\":500,\"elapsed_s\":$s,\"tasks\":{\"fashion\":{\"train_loss\":0.9,\"train_acc\":0.7,\"test_loss\":$(awk "BEGIN{print 1/(1+$s/40)}"),\"test_acc\":0.8},\"digits\":{\"train_loss\":1.1,\"train_acc\":0.6,\"test_loss\":1.2,\"test_acc\":$(awk "BEGIN{print 0.5+$s/400}")}}}"
        fi
    done
    printf '{"kind":"step","step":90,"epoch":3,"tasks":{"fash'  # killed mid-line
} >"$T/run.jsonl"
cp "$T/run.jsonl" "$T/run.orig"

run plot "$T/run.jsonl"
[ "$rc" -eq 0 ] && ok || bad "plot: exit $rc"
grep -q "^$T/run.jsonl: 10 records of 2 tasks -> $T/run.svg\$" "$T/stdout" && ok ||
    bad "plot: stdout '$(cat "$T/stdout")'"
[ "$(lines "$T/stderr")" -eq 1 ] && grep -q 'warning: .*1 line skipped (line 12' "$T/stderr" && ok ||
    bad "plot: the torn last line is not one warning"
svg_ok "$T/run.svg" && ok || bad "plot: $T/run.svg is not a closed SVG"
for want in '>fashion</text>' '>digits</text>' '>loss</text>' '>accuracy</text>' '>step</text>' \
    '>train</text>' '>test</text>' '>training curves: run.jsonl</text>' 'templar train --tasks'; do
    grep -qF -- "$want" "$T/run.svg" && ok || bad "SVG lacks $want"
done
[ "$(grep -c '<polyline' "$T/run.svg")" -ge 8 ] && ok || bad "SVG: fewer lines than 2 tasks x 2 metrics x train/test"
cmp -s "$T/run.jsonl" "$T/run.orig" && ok || bad "the log was changed"
[ -z "$(tmp_left)" ] && ok || bad "temporary files left: $(tmp_left)"

# ---- PNG ---------------------------------------------------------------------------
run plot "$T/run.jsonl" --png "$T/c.png" --out "$T/c.svg"
[ "$rc" -eq 0 ] && [ "$(png_sig "$T/c.png")" = "$PNG_SIG" ] && svg_ok "$T/c.svg" && ok ||
    bad "--png with --out: exit $rc or a file missing"
read -r w h < <(png_size "$T/c.png")
[ "${w:-0}" -ge 400 ] && [ "$w" -le 3000 ] && [ "${h:-0}" -ge 300 ] && [ "$h" -le 3000 ] && ok ||
    bad "PNG size ${w:-?}x${h:-?} is implausible"
grep -q "<svg .*width=\"$w\" height=\"$h\"" "$T/c.svg" && ok || bad "the SVG is not the PNG's ${w}x$h"
run plot "$T/run.jsonl" --out "$T/only.png"
[ "$rc" -eq 0 ] && [ "$(png_sig "$T/only.png")" = "$PNG_SIG" ] && [ ! -e "$T/only.svg" ] &&
    [ ! -e "$T/run.svg.tmp" ] && ok || bad "--out F.png: exit $rc, or not just a PNG"
run plot "$T/run.jsonl" --png "$T/png-only.png"
[ "$rc" -eq 0 ] && [ "$(png_sig "$T/png-only.png")" = "$PNG_SIG" ] && ok || bad "--png alone: exit $rc"
cmp -s "$T/only.png" "$T/png-only.png" && ok || bad "--out F.png and --png F.png differ"

# ---- --metric -------------------------------------------------------------------
run plot "$T/run.jsonl" --metric loss --out "$T/loss.svg"
[ "$rc" -eq 0 ] && grep -q '>loss</text>' "$T/loss.svg" && ! grep -q 'accuracy' "$T/loss.svg" && ok ||
    bad "--metric loss: exit $rc or an accuracy panel"
run plot "$T/run.jsonl" --metric acc --out "$T/acc.svg"
[ "$rc" -eq 0 ] && grep -q '>accuracy</text>' "$T/acc.svg" && ! grep -q '>loss</text>' "$T/acc.svg" &&
    grep -q '%</text>' "$T/acc.svg" && ok || bad "--metric acc: exit $rc or a loss panel"

# ---- an old log: epoch lines only, no kind, one unnamed task ------------------------
old="$HERE/../docs/logs/fashion-w32-l6-14ep.jsonl"
if [ -f "$old" ]; then
    cp "$old" "$T/old.jsonl"
    run plot "$T/old.jsonl" --png "$T/old.png"
    [ "$rc" -eq 0 ] && [ ! -s "$T/stderr" ] && grep -q 'records of 1 task' "$T/stdout" &&
        [ "$(png_sig "$T/old.png")" = "$PNG_SIG" ] && ok || bad "old log: exit $rc"
fi
printf '%s\n' '{"epoch":1,"step":100,"train_loss":1.5,"train_acc":0.5,"test_loss":1.4,"test_acc":0.55}' \
    '{"epoch":2,"step":200,"train_loss":1.0,"train_acc":0.7,"test_loss":1.1,"test_acc":0.65}' >"$T/old2.jsonl"
run plot "$T/old2.jsonl"
[ "$rc" -eq 0 ] && svg_ok "$T/old2.svg" && grep -q '>train</text>' "$T/old2.svg" && ok ||
    bad "hand-written old log: exit $rc"

# ---- outputs that exist ---------------------------------------------------------------
cp "$T/run.svg" "$T/run.svg.orig"
expect_error 1 "--force" "existing output" -- plot "$T/run.jsonl"
cmp -s "$T/run.svg" "$T/run.svg.orig" && ok || bad "an existing output was changed without --force"
run plot "$T/run.jsonl" --metric loss --force
[ "$rc" -eq 0 ] && ! grep -q accuracy "$T/run.svg" && ok || bad "--force: exit $rc, or not replaced"

# ---- bad cases: one line, exit 1 or 2, no file ------------------------------------------
expect_error 2 "which log" "no log named" -- plot
expect_error 2 "unexpected" "two logs" -- plot "$T/run.jsonl" "$T/old2.jsonl"
expect_error 2 "--bogus" "unknown flag" -- plot "$T/run.jsonl" --bogus
expect_error 2 "--metric" "bad --metric" -- plot "$T/run.jsonl" --metric speed --out "$T/m.svg"
no_file "$T/m.svg" "bad --metric"
expect_error 2 "--out" "empty --out" -- plot "$T/run.jsonl" --out ""
expect_error 2 "two PNGs" "--out F.png and --png" -- plot "$T/run.jsonl" --out "$T/a.png" --png "$T/b.png"
expect_error 2 "same file" "--out and --png alike" -- plot "$T/run.jsonl" --out "$T/same" --png "$T/same"
no_file "$T/same" "--out and --png alike"
expect_error 2 "the log itself" "--out onto the log" -- plot "$T/run.jsonl" --out "$T/run.jsonl" --force
expect_error 2 "the log itself" "--png onto the log" -- plot "$T/run.jsonl" --png "$T/run.jsonl" --force
cmp -s "$T/run.jsonl" "$T/run.orig" && ok || bad "the log was overwritten"
expect_error 1 "$T/nosuch.jsonl" "missing log" -- plot "$T/nosuch.jsonl"
no_file "$T/nosuch.svg" "missing log"
: >"$T/empty.jsonl"
expect_error 1 "empty" "empty log" -- plot "$T/empty.jsonl"
no_file "$T/empty.svg" "empty log"
printf 'epoch,loss\n1,0.5\n' >"$T/table.jsonl"
expect_error 1 "no training records" "a CSV file" -- plot "$T/table.jsonl"
no_file "$T/table.svg" "a CSV file"
expect_error 1 "no training records" "a PNG file" -- plot "$T/c.png" --out "$T/p.svg"
no_file "$T/p.svg" "a PNG file"
echo '{"kind":"run","command":"templar train"}' >"$T/runonly.jsonl"
expect_error 1 "no training records" "only a run record" -- plot "$T/runonly.jsonl"
expect_error 1 "$T" "a directory as the log" -- plot "$T" --out "$T/d.svg"
no_file "$T/d.svg" "a directory as the log"
expect_error 1 /nonexistent/x.svg "unwritable --out" -- plot "$T/run.jsonl" --out /nonexistent/x.svg
no_file /nonexistent/x.svg "unwritable --out"
# the temporary file is written but cannot replace a directory: it goes
mkdir "$T/adir"
expect_error 1 "exists" "--out a directory" -- plot "$T/run.jsonl" --out "$T/adir"
expect_error 1 "$T/adir" "--out a directory, --force" -- plot "$T/run.jsonl" --out "$T/adir" --force
[ -z "$(tmp_left)" ] && ok || bad "temporary files left: $(tmp_left)"

run plot --help
[ "$rc" -eq 0 ] && grep -q -- '--metric' "$T/stdout" && grep -q -- '--png' "$T/stdout" && ok ||
    bad "plot --help: exit $rc"
run --help
grep -q '^ *plot ' "$T/stdout" && ok || bad "templar --help does not list plot"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
