#!/usr/bin/env bash
# Deployment through the binary: export bakes a task into a plain network
# that evaluates exactly as the task did; predict classifies PNG files; the
# installed header, libraries and pkg-config file build and run the example
# program of examples/.  Bad invocations fail with one line.
#
# usage: bash tests/cli_deploy.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
. "$HERE/harness.sh"
harness_start cli_deploy "${1:-}"

idx_dir "$T/d1" 12 96 32 4 17
idx_dir "$T/d2" 12 80 24 3 99
run train --tasks "a=idx:$T/d1,b=idx:$T/d2" --width 16 --layers 3 --templates 2 --batch 16 --eval-batch 16 --threads 2 --steps 10 --out "$T/m.safetensors"
[ "$rc" -eq 0 ] && ok || bad "training: exit $rc"

# ---- export ------------------------------------------------------------------
run export "$T/m.safetensors" "$T/b.safetensors" --task b
[ "$rc" -eq 0 ] && grep -q '^model=.* task=b exported=' "$T/stdout" && ok || bad "export: exit $rc"
run eval "$T/m.safetensors" --task b --batch 16
orig=$(results "$T/stdout" | tail -n 1)
run eval "$T/b.safetensors" --batch 16
baked=$(results "$T/stdout" | tail -n 1)
if [ "$rc" -ne 0 ]; then bad "eval of the export: exit $rc"
elif [ "$(value test_acc "$orig")" != "$(value test_acc "$baked")" ] || [ "$(value test_loss "$orig")" != "$(value test_loss "$baked")" ]; then
    bad "export evaluates differently: '$orig' vs '$baked'"
else ok; fi
run info "$T/b.safetensors"
grep -q 'fixed-onehot' "$T/stdout" && grep -q '3 blocks from 3 templates' "$T/stdout" && ok || bad "export: not a plain network: $(head -3 "$T/stdout")"
expect_error 1 "--task" "export of a 2-task model without --task" -- export "$T/m.safetensors" "$T/x.safetensors"
expect_error 1 "no task 'zz'" "export of an unknown task" -- export "$T/m.safetensors" "$T/x.safetensors" --task zz
expect_error 1 "$T/nope.safetensors" "export of a missing model" -- export "$T/nope.safetensors" "$T/x.safetensors" --task a
expect_error 2 "usage" "export without OUT" -- export "$T/m.safetensors"
no_file "$T/x.safetensors" "failed exports"

# ---- predict -----------------------------------------------------------------
run inspect "$T/m.safetensors" --png "$T/picture.png" --svg "$T/picture.svg"   # any PNG will do
run predict "$T/m.safetensors" --task b "$T/picture.png" "$T/picture.png"
line=$(head -n 1 "$T/stdout")
if [ "$rc" -ne 0 ]; then bad "predict: exit $rc"
elif [ "$(lines "$T/stdout")" -ne 2 ]; then bad "predict: not a line per image"
elif ! [[ $line =~ ^$T/picture.png\ task=b\ class=[0-2]\ prob=[01]\.[0-9]{4}$ ]]; then bad "predict: '$line'"
else ok; fi
run predict "$T/b.safetensors" "$T/picture.png"
[ "$(value class "$(cat "$T/stdout")")" = "$(value class "$line")" ] && ok || bad "predict: the export answers differently"
expect_error 1 "not a PNG" "predict on a non-PNG" -- predict "$T/m.safetensors" --task a "$T/m.safetensors"
expect_error 1 "--task" "predict with a 2-task model and no --task" -- predict "$T/m.safetensors" "$T/picture.png"
expect_error 1 "no task 'zz'" "predict with an unknown task" -- predict "$T/m.safetensors" --task zz "$T/picture.png"
expect_error 2 "at least one image" "predict without images" -- predict "$T/m.safetensors"

# ---- make install, pkg-config and the example program --------------------------
if cmake --install "$(dirname "$BIN")" --prefix "$T/prefix" >/dev/null 2>"$T/stderr"; then ok; else bad "cmake --install failed"; fi
for f in include/templar.h include/templar_image.h lib/libtemplar.a lib/libtemplar.so \
    lib/libtemplar-image.so lib/pkgconfig/templar.pc lib/pkgconfig/templar-image.pc bin/templar; do
    [ -e "$T/prefix/$f" ] && ok || bad "install: $f missing"
done
flags=$(PKG_CONFIG_PATH=$T/prefix/lib/pkgconfig pkg-config --cflags --libs templar 2>"$T/stderr")
iflags=$(PKG_CONFIG_PATH=$T/prefix/lib/pkgconfig pkg-config --cflags --libs templar-image 2>"$T/stderr")
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Werror ${EXAMPLE_CFLAGS:-} "$SRC/examples/classify.c" $iflags -o "$T/classify" 2>"$T/stderr"; then ok; else bad "the example does not build against the installed tree"; fi
# no LD_LIBRARY_PATH: pkg-config's flags leave a RUNPATH to the prefix
out=$("$T/classify" "$T/m.safetensors" a "$T/picture.png" 2>"$T/stderr")
[[ $out =~ ^$T/picture.png\ class=[0-3]\ prob=[01]\.[0-9]{4}\ \(resized\ or\ converted\)$ ]] && ok || bad "example program: '$out'"

# the library trains too: two tasks with tpl_fit, saved, reloaded, classified
# shellcheck disable=SC2086
if cc -std=c11 -Wall -Wextra -Werror ${EXAMPLE_CFLAGS:-} "$SRC/examples/train.c" $flags -o "$T/train" 2>"$T/stderr"; then ok; else bad "examples/train.c does not build against the installed tree"; fi
out=$("$T/train" "$T/d1" "$T/d2" "$T/lib.safetensors" 2>"$T/stderr")
if [ "$(grep -c '^epoch [12]/2 step [0-9]* task0_test_acc=[01]\.[0-9]* task1_test_acc=' <<<"$out")" -eq 2 ] &&
   grep -q '^saved=.*lib.safetensors reloaded task=b class=[0-2] prob=' <<<"$out"; then ok
else bad "examples/train: '$out'"; fi
run eval "$T/lib.safetensors" --task b --data "$T/d2" --batch 16
[ "$rc" -eq 0 ] && ok || bad "the library's model does not evaluate: exit $rc"

# the installed libraries: the core one holds no image, font or plot code
# and its pkg-config file names only what it links
syms=$(nm -D --defined-only "$T/prefix/lib/libtemplar.so" | grep -ciE 'jpeg|png|\bFT_|freetype|canvas|heatmap|plot')
[ "$syms" -eq 0 ] && ok || bad "libtemplar.so defines $syms image/font/plot symbols"
undef=$(nm -D --undefined-only "$T/prefix/lib/libtemplar.so" | grep -cE 'jpeg|png|\bFT_')
[ "$undef" -eq 0 ] && ok || bad "libtemplar.so uses $undef image/font symbols"
grep -qE 'jpeg|png|freetype' "$T/prefix/lib/pkgconfig/templar.pc" && bad "templar.pc names image or font libraries" || ok

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
