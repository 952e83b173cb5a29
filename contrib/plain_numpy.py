#!/usr/bin/env python3
"""Runs a plain network that `templar export` wrote, with NumPy alone.

    python3 contrib/plain_numpy.py MODEL.safetensors IMAGE.png... [--logits]

A plain file (docs/FORMAT.md) holds ordinary 3x3 convolutions with biases:
a stem (stride from the metadata), per stage a stride-2 transition (stages
after the first) and residual blocks relu(conv2(relu(conv1(h))) + h) (or,
for "block": "inverted", conv3(relu(dw3x3(relu6(conv1x1(h))))) + h), then
a global average pool and a linear head.  Each image must have the model's
input size (the metadata's "input", CxHxW); PNG files (8-bit, grey or
colour, not interlaced) are read here without any imaging library.  Prints a
JSON line per image: {"image": ..., "task": ..., "probs": [...]} (and
"logits" with --logits), in the same class order as `templar predict`.
"""
import json
import struct
import sys
import zlib

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {t['dtype']}, not F32")
        begin, end = t["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype="<f4").reshape(t["shape"])
    return meta, tensors


def read_png(path):
    """8-bit grey, grey+alpha, RGB or RGBA, not interlaced -> uint8 [H][W][C]."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    pos, idat, width = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, chunk = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            if depth != 8 or interlace or colour not in (0, 2, 4, 6):
                raise ValueError(f"{path}: only 8-bit, non-interlaced grey or RGB(A) PNGs")
            channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        filt, line = raw[y * (stride + 1)], np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = cur[x - channels] if x >= channels else 0
            b, c = prev[x], prev[x - channels] if x >= channels else 0
            if filt == 0: p = 0
            elif filt == 1: p = a
            elif filt == 2: p = b
            elif filt == 3: p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else b if pb <= pc else c
            cur[x] = (line[x] + p) & 255
        out[y], prev = cur, cur
    image = out.reshape(height, width, channels).astype(np.uint8)
    return image[:, :, :3] if channels == 4 else image[:, :, :1] if channels == 2 else image


def conv3x3(x, w, b, stride):
    """x [C][H][W], w [O][C][3][3], padding 1."""
    c, h, wd = x.shape
    ho, wo = (h - 1) // stride + 1, (wd - 1) // stride + 1
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    cols = np.stack([xp[:, ky:ky + stride * ho:stride, kx:kx + stride * wo:stride]
                     for ky in range(3) for kx in range(3)], axis=1)  # [C][9][Ho][Wo]
    y = w.reshape(w.shape[0], -1) @ cols.reshape(c * 9, ho * wo)
    return (y + b[:, None]).reshape(w.shape[0], ho, wo)


def conv1x1(x, w, b):
    """x [C][H][W], w [O][C][1][1]."""
    c, h, wd = x.shape
    return (w.reshape(w.shape[0], c) @ x.reshape(c, h * wd) + b[:, None]).reshape(-1, h, wd)


def depthwise3x3(x, w, b):
    """x [C][H][W], w [C][1][3][3], padding 1: each channel its own filter."""
    c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    y = sum(w[:, 0, ky, kx][:, None, None] * xp[:, ky:ky + h, kx:kx + wd]
            for ky in range(3) for kx in range(3))
    return y + b[:, None, None]


def relu(x):
    return np.maximum(x, 0)


def relu6(x):
    return np.minimum(np.maximum(x, 0), 6)


def block(meta, t, p, h):
    """A residual block: basic (two 3x3 convs) or an inverted bottleneck."""
    if meta.get("block", "basic") == "inverted":
        a = relu6(conv1x1(h, t[p + ".conv1.weight"], t[p + ".conv1.bias"]))
        a = relu(depthwise3x3(a, t[p + ".conv2.weight"], t[p + ".conv2.bias"]))
        return conv1x1(a, t[p + ".conv3.weight"], t[p + ".conv3.bias"]) + h
    a = relu(conv3x3(h, t[p + ".conv1.weight"], t[p + ".conv1.bias"], 1))
    return relu(conv3x3(a, t[p + ".conv2.weight"], t[p + ".conv2.bias"], 1) + h)


def forward(meta, t, x):
    widths = [int(v) for v in meta["widths"].split(",")]
    layers = [int(v) for v in meta["layers"].split(",")]
    h = relu(conv3x3(x, t["stem.weight"], t["stem.bias"], int(meta["stem_stride"])))
    for s in range(len(widths)):
        if s > 0:
            h = relu(conv3x3(h, t[f"stage{s}.transition.weight"], t[f"stage{s}.transition.bias"], 2))
        for l in range(layers[s]):
            h = block(meta, t, f"stage{s}.block{l}", h)
    return t["head.weight"] @ h.mean(axis=(1, 2)) + t["head.bias"]


def main(argv):
    args = [a for a in argv[1:] if a != "--logits"]
    if len(args) < 2:
        sys.exit("usage: plain_numpy.py MODEL.safetensors IMAGE.png... [--logits]")
    meta, t = read_safetensors(args[0])
    if meta.get("format") != "templar-plain-1":
        sys.exit(f"{args[0]}: not a plain network (templar export writes one)")
    c, h, w = (int(v) for v in meta["input"].split("x"))
    mean = np.array([float(v) for v in meta["input_mean"].split(",")])
    std = np.array([float(v) for v in meta["input_std"].split(",")])
    task = meta["tasks"].split(":")[0]
    for path in args[1:]:
        image = read_png(path)
        if image.shape != (h, w, c):
            sys.exit(f"{path}: {image.shape[1]}x{image.shape[0]}x{image.shape[2]} is not the model's {w}x{h}x{c}")
        # the pixels scaled to [0, 1], then normalised per channel, channels first
        x = ((image.astype(np.float64) / 255.0 - mean) / std).transpose(2, 0, 1)
        logits = forward(meta, {k: v.astype(np.float64) for k, v in t.items()}, x)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        line = {"image": path, "task": task, "probs": [round(float(p), 6) for p in probs]}
        if "--logits" in argv:
            line["logits"] = [float(v) for v in logits]
        print(json.dumps(line))


if __name__ == "__main__":
    main(sys.argv)
