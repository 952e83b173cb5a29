#!/usr/bin/env bash
# A user's own data, end to end, with no conversion step: image folders of
# PNG and JPEG files of mixed sizes, grey and colour, with class names, and
# a CSV list; they train one bank, transfer, adapt (to an unlabelled
# folder), evaluate (per class, with a confusion matrix picture) and
# predict, with the class names everywhere.
#
# usage: bash tests/cli_folders.sh PATH/TO/templar   (MAKE_IMAGEFOLDER: the generator)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_folders "${1:-}"
GEN=${MAKE_IMAGEFOLDER:-}
if [ ! -x "$GEN" ]; then echo "cli_folders: MAKE_IMAGEFOLDER is not set to the generator" >&2; exit 1; fi

"$GEN" "$T/pets" 3 30 1 split         # pets/{train,test}/{cat,dog,red fox}/
"$GEN" "$T/more" 4 24 2               # more/{cat,dog,red fox,owl}/: split by templar
"$GEN" "$T/new" 3 24 3                # a task for transfer
"$GEN" "$T/dom1" 3 24 4               # two domains of one label set, and a third unlabelled
"$GEN" "$T/dom2" 3 24 5
"$GEN" "$T/wild" 3 16 6 unlabelled
RUNS=(--batch 16 --eval-batch 16 --threads 2)
COMMON=(--width 16 --layers 2 --templates 2 "${RUNS[@]}")

# ---- train: two folder tasks of mixed sizes on one bank, 24x24 -----------------
run train --tasks "pets=folder:$T/pets,more=folder:$T/more" --size 24x24 --channels 3 "${COMMON[@]}" \
    --steps 40 --out "$T/m.safetensors"
[ "$rc" -eq 0 ] && ok || bad "train on folders: exit $rc"
grep -q "task 'pets': [0-9]* images resized or converted to 3x24x24" "$T/stderr" && ok ||
    bad "no word of the resized images: $(grep -v '^epoch' "$T/stderr" | head -3)"
grep -q '^task=pets test_loss=' "$T/stdout" && grep -q '^task=more test_loss=' "$T/stdout" && ok ||
    bad "train's results: $(cat "$T/stdout")"
run train --tasks "pets=folder:$T/pets,more=folder:$T/more" --size 24x24 --channels 3 "${COMMON[@]}" \
    --steps 1 --out "$T/again.safetensors"
grep -q 'decoded' "$T/stderr" && bad "the second load decoded again (no cache)" || ok

# ---- eval: per class with names, a confusion picture -------------------------------
run eval "$T/m.safetensors" --plot
[ "$rc" -eq 0 ] && grep -q '^  class=2 name=red fox images=[0-9]* acc=' "$T/stdout" &&
    grep -q '^  confusion (rows: true class, columns: predicted):' "$T/stdout" && ok ||
    bad "eval per class: exit $rc, $(head -5 "$T/stdout")"
[ "$(head -c 4 "$T/m.pets.confusion.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ] &&
    grep -q '<svg' "$T/m.more.confusion.svg" && ok || bad "eval --plot: no confusion pictures"
run eval "$T/m.safetensors" --task pets --images "$T/pets/test"
[ "$rc" -eq 0 ] && grep -q '^model=.* task=pets images=' "$T/stdout" && ok || bad "eval --images: exit $rc"
mv "$T/more" "$T/moved"
run eval "$T/m.safetensors"
[ "$rc" -eq 1 ] && grep -q "task 'more' skipped: .*--data more=idx:DIR" "$T/stderr" &&
    grep -q '^task=pets ' "$T/stdout" && ok || bad "eval with a task's data gone: exit $rc, $(cat "$T/stderr")"
run eval "$T/m.safetensors" --data "more=folder:$T/moved"
[ "$rc" -eq 0 ] && grep -q '^task=more ' "$T/stdout" && ok || bad "eval --data NAME=SPEC: exit $rc"
mv "$T/moved" "$T/more"

# ---- predict: names, top-K, formats; a directory ------------------------------------
img=$(ls "$T/pets/test/red fox/"* | head -n 1)
run predict "$T/m.safetensors" --task pets "$img" --top 3
[ "$rc" -eq 0 ] && [ "$(lines "$T/stdout")" -eq 3 ] && grep -q '^.* task=pets class=[0-2] name=.* prob=' "$T/stdout" &&
    grep -q '^  rank=3 class=' "$T/stdout" && ok || bad "predict --top 3: exit $rc, $(cat "$T/stdout")"
grep -q 'resized' "$T/stderr" && ok || bad "predict does not say it resized"
run predict "$T/m.safetensors" --task pets --format json "$T/pets/test/cat"
[ "$rc" -eq 0 ] && [ "$(lines "$T/stdout")" -eq "$(ls "$T/pets/test/cat" | wc -l)" ] &&
    grep -q '^{"image":".*","task":"pets","top":\[{"class":[0-2],"name":"[a-z ]*","prob":[0-9.]*}\]}$' "$T/stdout" &&
    ok || bad "predict --format json on a directory: exit $rc, $(head -2 "$T/stdout")"
run predict "$T/m.safetensors" --task all --format csv "$img"
[ "$rc" -eq 0 ] && [ "$(head -n 1 "$T/stdout")" = "image,task,rank,class,name,prob" ] && [ "$(lines "$T/stdout")" -eq 3 ] &&
    ok || bad "predict --task all --format csv: exit $rc, $(cat "$T/stdout")"

# ---- transfer: a new folder task over the frozen templates ----------------------------
run transfer --from "$T/m.safetensors" --task "new=folder:$T/new" "${RUNS[@]}" --steps 10 --out "$T/t.safetensors"
[ "$rc" -eq 0 ] && grep -q '^task=new mode=mixture ' "$T/stdout" && ok || bad "transfer a folder task: exit $rc"
run predict "$T/t.safetensors" --task new "$img"
grep -q 'name=' "$T/stdout" && ok || bad "the transferred task has no class names"

# ---- adapt: a shared-head bank of two domains, to an unlabelled folder ------------------
bytes_of() { sed -n 's/.*changed_param_bytes=\([0-9]*\).*/\1/p' "$1"; }
run train --tasks "dom1=folder:$T/dom1,dom2=folder:$T/dom2" --shared-head --size 24x24 "${COMMON[@]}" \
    --steps 20 --out "$T/src.safetensors"
[ "$rc" -eq 0 ] && ok || bad "train the sources: exit $rc"
run info "$T/src.safetensors"
[ "$(grep -c ' of feature moments)' "$T/stdout")" -eq 2 ] && ok || bad "training recorded no feature moments: $(grep "^task '" "$T/stdout")"
# (source-free: the sources' images are gone while it adapts, moments and pseudo-labels too)
mv "$T/dom1" "$T/dom1.away" && mv "$T/dom2" "$T/dom2.away"
run adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --steps 5 --out "$T/a.safetensors"
[ "$rc" -eq 0 ] && grep -q '^task=wild unlabelled' "$T/stdout" && ok || bad "adapt to an unlabelled folder: exit $rc, $(cat "$T/stderr" | tail -2)"
run adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --steps 5 --objective moments+pseudo \
    --force --out "$T/am.safetensors"
[ "$rc" -eq 0 ] && grep -q '^task=wild unlabelled' "$T/stdout" && ok || bad "adapt --objective moments+pseudo source-free: exit $rc, $(tail -2 "$T/stderr")"
run info "$T/am.safetensors"
[ "$(grep -c ' of feature moments)' "$T/stdout")" -eq 3 ] && ok || bad "the adapted target's moments are not recorded"
mv "$T/dom1.away" "$T/dom1" && mv "$T/dom2.away" "$T/dom2"
# joint: the sources train on in the same steps; the target's mixture alone is its own
run adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --steps 6 --objective moments \
    --with-sources "dom1=folder:$T/dom1,dom2=folder:$T/dom2" --force --out "$T/aj.safetensors"
[ "$rc" -eq 0 ] && grep -q 'the bank retrained with the sources' "$T/stdout" && ok || bad "adapt --with-sources: exit $rc, $(tail -2 "$T/stderr")"
bank_of() { run task "$1" "$T/$2.task.safetensors" --task wild; sed -n 's/.* bank=\([0-9a-f]*\) .*/\1/p' "$T/stdout"; }
free_bank=$(bank_of "$T/am.safetensors" free) joint_bank=$(bank_of "$T/aj.safetensors" joint)
run task "$T/src.safetensors" "$T/src.task.safetensors" --task dom1
src_bank=$(sed -n 's/.* bank=\([0-9a-f]*\) .*/\1/p' "$T/stdout")
[ -n "$src_bank" ] && [ "$free_bank" = "$src_bank" ] && [ "$joint_bank" != "$src_bank" ] &&
    ok || bad "banks: sources $src_bank, source-free $free_bank (should be the same), joint $joint_bank (should differ)"
expect_error 1 "--with-sources: 'dom3' is not a source task of" "adapt --with-sources dom3=..." -- \
    adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --steps 2 \
    --with-sources "dom3=folder:$T/dom1" --force --out "$T/aj.safetensors"
expect_error 2 "--with-sources trains: it needs --mode mixture or full" "adapt --mode adabn --with-sources" -- \
    adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --mode adabn \
    --with-sources "dom1=folder:$T/dom1" --force --out "$T/aj.safetensors"
# the ceiling: the whole network trains on the objective
run adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --steps 3 --mode full \
    --objective moments+infomax --force --out "$T/af.safetensors"
[ "$rc" -eq 0 ] && [ "$(bytes_of "$T/stdout")" -gt 10000 ] && ok || bad "adapt --mode full: exit $rc, $(bytes_of "$T/stdout") bytes changed"
run predict "$T/a.safetensors" --task wild "$img"
grep -q 'name=' "$T/stdout" && ok || bad "the adapted target has no class names"
for init in both confident closest; do
    run adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --steps 2 --init $init \
        --force --out "$T/a.safetensors"
    [ "$rc" -eq 0 ] && grep -q "^start: $init picks dom[12] (dom1 [0-9.]*, dom2 [0-9.]*)$" "$T/stdout" &&
        ok || bad "adapt --init $init: exit $rc, $(grep start: "$T/stdout")"
done
# combine: convex weights over both sources, summing to 1
run adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --steps 2 --init combine \
    --train logits --force --out "$T/a.safetensors"
[ "$rc" -eq 0 ] && sed -n 's/^start: combine weighs (dom1 \([0-9.]*\), dom2 \([0-9.]*\))$/\1 \2/p' "$T/stdout" |
    awk '{ exit !(NF == 2 && $1 >= 0 && $2 >= 0 && $1 + $2 > 0.999 && $1 + $2 < 1.001) }' &&
    ok || bad "adapt --init combine: exit $rc, $(grep start: "$T/stdout")"
bytes() { bytes_of "$T/stdout"; }
logits_only=$(bytes)
run adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --steps 2 \
    --force --out "$T/a.safetensors"
[ "$rc" -eq 0 ] && [ -n "$logits_only" ] && [ "$(bytes)" -gt "$logits_only" ] &&
    ok || bad "adapt (default --train logits+bn): exit $rc, $(bytes) bytes trained against $logits_only"
run adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --steps 3 --objective pseudo \
    --force --out "$T/a.safetensors"
[ "$rc" -eq 0 ] && [ -s "$T/a.safetensors" ] && ok || bad "adapt --objective pseudo: exit $rc"
expect_error 2 "--objective is not infomax, pseudo, moments, moments+infomax or moments+pseudo" "adapt --objective shot" -- \
    adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --objective shot --force --out "$T/a.safetensors"
run adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --mode source --init dom2 \
    --force --out "$T/a.safetensors"
[ "$rc" -eq 0 ] && grep -q '^start: dom2$' "$T/stdout" && ok || bad "adapt --init dom2: exit $rc"
expect_error 1 "--init: 'dom3' is not both, confident, closest, combine, mean or a source task of" "adapt --init dom3" -- \
    adapt --from "$T/src.safetensors" --target "wild=folder:$T/wild" "${RUNS[@]}" --init dom3 --force --out "$T/a.safetensors"

# ---- a CSV list of images, labels by name ------------------------------------------------
{ echo "path,label"; for f in "$T"/pets/train/*/*; do c=${f%/*}; echo "${f#"$T/"},${c##*/}"; done; } >"$T/list.csv"
run train --tasks "csv=csv:$T/list.csv" --size 24x24 "${COMMON[@]}" --steps 4 --out "$T/c.safetensors"
[ "$rc" -eq 0 ] && ok || bad "train on a CSV list: exit $rc, $(tail -1 "$T/stderr")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
