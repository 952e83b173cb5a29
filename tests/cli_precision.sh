#!/usr/bin/env bash
# --precision through the binary.  A bad value is a usage error (exit 2, one
# line, no file) for train, transfer, adapt, eval and predict.  On a CPU with
# AVX-512 BF16: train runs in bf16 (its header and info say so), transfer
# and adapt run in bf16, eval and predict run a model in either precision
# with nearly the same answers, and a bf16 run repeats bit for bit; auto
# picks bf16 where oneDNN has AMX and fp32 where it has AVX-512 BF16 alone
# (ONEDNN_MAX_CPU_ISA stands in for such a CPU).  On a CPU without AVX-512
# BF16, --precision bf16 is refused with one line, auto trains in fp32, and
# the bf16 part is skipped (exit 77).
#
# usage: bash tests/cli_precision.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/harness.sh"
harness_start cli_precision "${1:-}"
# value KEY LINE: the value of KEY=... in LINE
value() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

idx_dir "$T/d1" 12 96 32 4 17
idx_dir "$T/d2" 12 64 16 3 99
idx_dir "$T/d3" 12 64 16 4 41
RUNS=(--batch 16 --eval-batch 16 --steps 6 --threads 2)
SMALL=(--width 16 --layers 2 --templates 2 "${RUNS[@]}")
ONE=(--data "$T/d1" --task a)

# ---- bad values: usage errors ------------------------------------------------
expect_error 2 "--precision: 'fp16'" "train --precision fp16" -- train "${ONE[@]}" "${SMALL[@]}" --precision fp16 --out "$T/x.safetensors"
expect_error 2 "--precision: ''" "train --precision empty" -- train "${ONE[@]}" "${SMALL[@]}" --precision= --out "$T/x.safetensors"
expect_error 2 "--precision" "train --precision without a value" -- train "${ONE[@]}" --precision
expect_error 2 "--precision: 'BF16x'" "transfer --precision BF16x" -- transfer --from "$T/none.safetensors" --task "c=idx:$T/d2" --precision BF16x --out "$T/x.safetensors"
expect_error 2 "--precision: 'half'" "adapt --precision half" -- adapt --from "$T/none.safetensors" --target "w=idx:$T/d2" --precision half --out "$T/x.safetensors"
expect_error 2 "--precision: 'x'" "eval --precision x" -- eval "$T/none.safetensors" --precision x
expect_error 2 "--precision: 'x'" "predict --precision x" -- predict "$T/none.safetensors" "$T/none.png" --precision x
no_file "$T/x.safetensors" "bad --precision values"

# ---- a CPU without AVX-512 BF16 ------------------------------------------------
run train "${ONE[@]}" "${SMALL[@]}" --precision bf16 --out "$T/b.safetensors"
if [ "$rc" -eq 2 ] && grep -q 'no AVX-512 BF16' "$T/stderr"; then
    [ "$(lines "$T/stderr")" -eq 1 ] && ok || bad "bf16 refused in more than one line"
    no_file "$T/b.safetensors" "refused bf16 run"
    run train "${ONE[@]}" "${SMALL[@]}" --out "$T/f.safetensors"
    [ "$rc" -eq 0 ] && grep -q 'fp32 convolutions' "$T/stderr" && ok || bad "auto on a CPU without bf16: exit $rc"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] || exit 1
    echo "SKIPPED: this CPU has no AVX-512 BF16; the bf16 runs were not tried"
    exit 77
fi

# ---- train in bf16 ----------------------------------------------------------------
if [ "$rc" -ne 0 ]; then bad "train --precision bf16: exit $rc"
elif ! grep -q 'bf16 convolutions' "$T/stderr"; then bad "train --precision bf16: the header does not say bf16"
elif ! [[ $(tail -n 1 "$T/stdout") =~ test_acc=0\.[0-9]{4}$ ]]; then bad "train --precision bf16: last line '$(tail -n 1 "$T/stdout")'"
else ok; fi
run info "$T/b.safetensors"
[ "$rc" -eq 0 ] && grep -q '^precision: bf16 (trained in)' "$T/stdout" && ok || bad "info of a bf16 model: $(grep precision "$T/stdout")"
run train "${ONE[@]}" "${SMALL[@]}" --precision bf16 --out "$T/b2.safetensors"
same_tensors "$T/b.safetensors" "$T/b2.safetensors" && ok || bad "two bf16 runs with one seed differ"
run train "${ONE[@]}" "${SMALL[@]}" --out "$T/auto.safetensors"
want=fp32
grep -qw amx_bf16 /proc/cpuinfo && [ -z "${ONEDNN_MAX_CPU_ISA:-}${DNNL_MAX_CPU_ISA:-}" ] && want=bf16
[ "$rc" -eq 0 ] && grep -q "$want convolutions" "$T/stderr" && ok || bad "auto does not train in $want here"
# AVX-512 BF16 without AMX: auto is fp32 (bf16 is slower there), bf16 on request
ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 run train "${ONE[@]}" "${SMALL[@]}" --out "$T/noamx.safetensors"
[ "$rc" -eq 0 ] && grep -q 'fp32 convolutions' "$T/stderr" && ok || bad "auto without AMX: not fp32"
ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 run train "${ONE[@]}" "${SMALL[@]}" --precision bf16 --out "$T/noamx.safetensors" --force
[ "$rc" -eq 0 ] && grep -q 'bf16 convolutions' "$T/stderr" && ok || bad "bf16 on request without AMX: exit $rc"
run train "${ONE[@]}" "${SMALL[@]}" --precision fp32 --out "$T/f.safetensors"
[ "$rc" -eq 0 ] && grep -q 'fp32 convolutions' "$T/stderr" && ok || bad "train --precision fp32: exit $rc"
run info "$T/f.safetensors"
grep -q '^precision: fp32 (trained in); eval and predict run fp32 here' "$T/stdout" && ok || bad "info of an fp32 model: $(grep precision "$T/stdout")"

# ---- eval: either precision, nearly the same answers ------------------------------
for model in b f; do
    for p in fp32 bf16 auto; do
        run eval "$T/$model.safetensors" --batch 16 --precision $p
        results "$T/stdout" >"$T/eval.$model.$p"
        [ "$rc" -eq 0 ] && grep -q 'test_acc=' "$T/eval.$model.$p" && ok || bad "eval $model --precision $p: exit $rc"
    done
    a=$(value test_loss "$(cat "$T/eval.$model.fp32")")
    b=$(value test_loss "$(cat "$T/eval.$model.bf16")")
    awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 0.02 * a + 1e-3) }' &&
        ok || bad "eval of $model: test loss $a in fp32, $b in bf16"
done
# auto is the model's own precision, bf16 only where auto trains in bf16
cmp -s "$T/eval.b.auto" "$T/eval.b.$want" && ok || bad "eval auto of a bf16 model is not its $want run"
cmp -s "$T/eval.f.auto" "$T/eval.f.fp32" && ok || bad "eval auto of an fp32 model is not its fp32 run"
run info "$T/b.safetensors"
grep -q "^precision: bf16 (trained in); eval and predict run $want here" "$T/stdout" && ok || bad "info of a bf16 model: $(grep precision "$T/stdout")"
ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 run eval "$T/b.safetensors" --batch 16
results "$T/stdout" | cmp -s - "$T/eval.b.fp32" && ok || bad "a bf16 model without AMX: eval is not its fp32 run"

# ---- predict --------------------------------------------------------------------
run inspect "$T/b.safetensors" --png "$T/picture.png" --svg "$T/picture.svg" # any PNG will do
for p in fp32 bf16 auto; do
    run predict "$T/b.safetensors" "$T/picture.png" --precision $p
    [ "$rc" -eq 0 ] && [[ $(cat "$T/stdout") =~ ^$T/picture.png\ task=a\ class=[0-3]\ prob=[01]\.[0-9]{4}$ ]] &&
        ok || bad "predict --precision $p: exit $rc, '$(cat "$T/stdout")'"
done

# ---- transfer and adapt in bf16 -----------------------------------------------------
run transfer --from "$T/f.safetensors" --task "c=idx:$T/d2" "${RUNS[@]}" --precision bf16 --out "$T/t.safetensors"
[ "$rc" -eq 0 ] && grep -q 'bf16 convolutions' "$T/stderr" && ok || bad "transfer --precision bf16: exit $rc"
run info "$T/t.safetensors"
grep -q '^precision: bf16 ' "$T/stdout" && ok || bad "info after a bf16 transfer: $(grep precision "$T/stdout")"
run train --tasks "a=idx:$T/d1,b=idx:$T/d3" --shared-head "${SMALL[@]}" --precision fp32 --out "$T/s.safetensors"
[ "$rc" -eq 0 ] && ok || bad "train a shared-head bank: exit $rc"
run adapt --from "$T/s.safetensors" --target "w=idx:$T/d3" "${RUNS[@]}" --precision bf16 --out "$T/a.safetensors"
[ "$rc" -eq 0 ] && grep -q 'bf16 convolutions' "$T/stderr" && ok || bad "adapt --precision bf16: exit $rc, $(tail -n 2 "$T/stderr")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
