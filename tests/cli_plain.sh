#!/usr/bin/env bash
# The plain export: one task as ordinary convolutions with biases (no
# templates, routing or BN tensors); it evaluates as the task does, is
# smaller than its bank when every block had its own template, and the
# NumPy reader of contrib/ gives templar predict's probabilities to 1e-4
# (basic and inverted blocks)
# (that part needs /usr/bin/python3 with NumPy: exit 77 without it).
#
# usage: bash tests/cli_plain.sh PATH/TO/templar
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
. "$HERE/harness.sh"
harness_start cli_plain "${1:-}"
PY=${PY:-/usr/bin/python3}

idx_dir "$T/d1" 12 96 32 4 17
idx_dir "$T/d2" 12 80 24 3 99
COMMON=(--batch 16 --eval-batch 16 --threads 2 --steps 12)
run train --tasks "a=idx:$T/d1,b=idx:$T/d2" --widths 16,32 --layers 2 --templates 2 "${COMMON[@]}" --out "$T/m.safetensors"
[ "$rc" -eq 0 ] && ok || bad "train: exit $rc"
run export "$T/m.safetensors" "$T/b.plain" --task b
[ "$rc" -eq 0 ] && grep -q '^model=.* task=b exported=.* file_bytes=[0-9]* ' "$T/stdout" && ok || bad "export: exit $rc"
names=$(head -c 20000 "$T/b.plain" | grep -ao '"[a-z0-9_.]*":{"dtype"' | sed 's/":{"dtype"//; s/"//' | sort | tr '\n' ' ')
want="head.bias head.weight stage0.block0.conv1.bias stage0.block0.conv1.weight stage0.block0.conv2.bias stage0.block0.conv2.weight stage0.block1.conv1.bias stage0.block1.conv1.weight stage0.block1.conv2.bias stage0.block1.conv2.weight stage1.block0.conv1.bias stage1.block0.conv1.weight stage1.block0.conv2.bias stage1.block0.conv2.weight stage1.block1.conv1.bias stage1.block1.conv1.weight stage1.block1.conv2.bias stage1.block1.conv2.weight stage1.transition.bias stage1.transition.weight stem.bias stem.weight "
[ "$names" = "$want" ] && ok || bad "plain tensors: $names"
grep -aq '"format":"templar-plain-1"' <(head -c 20000 "$T/b.plain") && ok || bad "not a plain format"
run eval "$T/m.safetensors" --task b --batch 16
orig=$(results "$T/stdout")
run eval "$T/b.plain" --batch 16
plain=$(results "$T/stdout")
[ "$rc" -eq 0 ] && [ "$(value test_acc "$orig")" = "$(value test_acc "$plain")" ] && [ "$(value test_loss "$orig")" = "$(value test_loss "$plain")" ] &&
    ok || bad "the plain network evaluates differently: '$orig' vs '$plain'"
expect_error 1 "exists; give --force" "export over an existing file" -- export "$T/m.safetensors" "$T/b.plain" --task b
expect_error 1 "is the model this command reads" "export over its own model" -- export "$T/m.safetensors" "$T/m.safetensors" --task b --force

# smaller than the bank when every block had its own template (K = L)
run train --tasks "a=idx:$T/d1" --width 16 --layers 2 --templates 2 "${COMMON[@]}" --out "$T/k.safetensors"
run export "$T/k.safetensors" "$T/k.plain"
[ "$(value file_bytes "$(cat "$T/stdout")")" -lt "$(value model_file_bytes "$(cat "$T/stdout")")" ] && ok ||
    bad "plain export not smaller than a K = L bank: $(cat "$T/stdout")"

if ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "SKIPPED: the NumPy reader: $PY cannot import numpy (Debian package python3-numpy)"
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && exit 77
    exit 1
fi
# three input-sized PNGs (one per filter mix) through both readers
"$PY" - "$T" <<'PYEOF'
import struct, sys, zlib
import numpy as np
rng = np.random.default_rng(7)
def chunk(k, d): return struct.pack('>I', len(d)) + k + d + struct.pack('>I', zlib.crc32(k + d) & 0xffffffff)
for n in range(3):
    img = rng.integers(0, 256, (12, 12), dtype=np.uint8)
    rows = b''.join(b'\x00' + img[y].tobytes() for y in range(12))
    png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 12, 12, 8, 0, 0, 0, 0)) + \
          chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')
    open(f"{sys.argv[1]}/x{n}.png", 'wb').write(png)
PYEOF
# same_as_numpy PLAIN WHAT: predict's probabilities and the NumPy reader's agree
same_as_numpy() {
    run predict "$1" "$T/x0.png" "$T/x1.png" "$T/x2.png" --format json --top 3
    cp "$T/stdout" "$T/templar.json"
    "$PY" "$SRC/contrib/plain_numpy.py" "$1" "$T/x0.png" "$T/x1.png" "$T/x2.png" >"$T/numpy.json" 2>"$T/stderr"
    "$PY" - "$T/templar.json" "$T/numpy.json" <<'PYEOF' && ok || bad "$2: the NumPy reader differs from predict: $(cat "$T/numpy.json")"
import json, sys
ours = [json.loads(l) for l in open(sys.argv[1])]
theirs = [json.loads(l) for l in open(sys.argv[2])]
assert len(ours) == len(theirs) == 3
for a, b in zip(ours, theirs):
    for t in a["top"]:
        assert abs(t["prob"] - b["probs"][t["class"]]) < 1e-4, (t, b["probs"])
PYEOF
}
same_as_numpy "$T/b.plain" "basic blocks"
# inverted bottlenecks: 1x1, depthwise 3x3, 1x1 (fp32, so that predict's
# figures are the NumPy reader's to 1e-4)
run train --data "$T/d1" --width 16 --layers 2 --templates 2 --block inverted --expand 2 --precision fp32 "${COMMON[@]}" --out "$T/inv.safetensors"
run export "$T/inv.safetensors" "$T/inv.plain"
[ "$rc" -eq 0 ] && ok || bad "export of inverted blocks: exit $rc"
same_as_numpy "$T/inv.plain" "inverted blocks"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
