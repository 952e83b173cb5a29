#!/usr/bin/env python3
"""templar against PyTorch: one training step of the same network.

usage: parity.py MODEL DUMP [MODEL DUMP ...]

MODEL is a templar model file; DUMP is what tests/parity/dump.c wrote for it
(the batch, templar's logits and loss, and the gradient of every parameter
view as "grad.<view>").  This script rebuilds the network from the model
file alone (its metadata and tensors), in float64, with PyTorch's own
convolution, batch norm (batch statistics, biased variance, eps 1e-5) and
cross-entropy, runs the same batch forward in training mode and backward,
and compares:

    error(templar, torch) = max |templar - torch| / max(max |torch|, FLOOR)

per tensor (the logits, the loss, and each view's gradient; running
statistics and the views the task does not use must have a zero gradient).
Every tensor must be within TOLERANCE.  FLOOR keeps a tensor whose true
gradient is (near) zero from dividing by nothing: there the error is
absolute.

With PARITY_SELFTEST=1 it also proves that the comparison can fail: for
every compared tensor with a non-zero reference, a copy of templar's values
with one coordinate moved by 10 x TOLERANCE x max(max |torch|, FLOOR) must be reported
as a failure.

Exit 0: every pair agrees (and the self-test caught every perturbation);
1: a disagreement (or an uncaught perturbation); 2: usage or unreadable or
unsupported files; 77: numpy or torch cannot be imported (SKIPPED).
"""
import json
import os
import struct
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the test's dependency is absent: skip, never pass
    print(f"SKIPPED: cannot import numpy and torch ({e})")
    sys.exit(77)

TOLERANCE = 1e-4
FLOOR = 1e-6
BN_EPS = 1e-5


class Unsupported(Exception):
    pass


def read_safetensors(path):
    """(metadata dict, {name: float32 array}) of a safetensors file of F32 tensors."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise Unsupported(f"{path}: too short for a safetensors file")
    (hlen,) = struct.unpack("<Q", blob[:8])
    if 8 + hlen > len(blob):
        raise Unsupported(f"{path}: header length {hlen} past the end of the file")
    header = json.loads(blob[8:8 + hlen].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    data = memoryview(blob)[8 + hlen:]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise Unsupported(f"{path}: tensor {name} is {entry['dtype']}, not F32")
        begin, end = entry["data_offsets"]
        shape = tuple(entry["shape"])
        arr = np.frombuffer(data[begin:end], dtype="<f4")
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise Unsupported(f"{path}: tensor {name}: {arr.size} values for shape {shape}")
        tensors[name] = arr.reshape(shape).astype(np.float32)
    return meta, tensors


def ints(text):
    return [int(v) for v in text.split(",")]


class Config:
    """The network a model file's metadata describes (see README, Model file format)."""

    def __init__(self, meta):
        self.channels, self.height, self.width = (int(v) for v in meta["input"].split("x"))
        self.stem_stride = int(meta["stem_stride"])
        self.widths = ints(meta["widths"])
        self.layers = ints(meta["layers"])
        self.templates = ints(meta["templates"])
        self.tasks = []
        for item in meta["tasks"].split(","):
            name, classes = item.rsplit(":", 1)
            self.tasks.append((name, int(classes)))
        self.routing = meta.get("routing", "soft")
        self.topk = int(meta.get("topk", "1"))
        self.outputs = meta.get("aggregation", "params") == "outputs"
        self.shared_mixture = meta.get("mixtures", "per-task") == "shared"
        self.shared_head = meta.get("heads", "per-task") == "shared"
        self.tau = float(meta.get("tau", "1"))
        if self.routing == "gumbel":
            raise Unsupported("gumbel routing draws noise in training; parity runs soft, topk and fixed kinds")

    def describe(self):
        return (f"widths={','.join(map(str, self.widths))} layers={','.join(map(str, self.layers))} "
                f"templates={','.join(map(str, self.templates))} tasks={len(self.tasks)} "
                f"routing={self.routing}{'(k=%d)' % self.topk if self.routing == 'topk' else ''} "
                f"tau={self.tau:g} aggregation={'outputs' if self.outputs else 'params'}"
                f"{' shared-mixture' if self.shared_mixture else ''}{' shared-head' if self.shared_head else ''}")


def is_state(name):
    return name.endswith(".running_mean") or name.endswith(".running_var")


def route(cfg, z):
    """Mixture weights a [L, K] from logits z [L, K], and the 0/1 mask of the
    templates each block runs (all but top-k's dropped ones)."""
    L, K = z.shape
    if cfg.routing == "fixed-onehot":
        a = torch.zeros(L, K, dtype=z.dtype)
        a[torch.arange(L), torch.arange(L) % K] = 1.0
        return a, a != 0
    if cfg.routing == "fixed":
        r = torch.clamp(z.detach(), min=0.0)
        s = r.sum(1, keepdim=True)
        a = torch.where(s > 0, r / torch.where(s > 0, s, torch.ones_like(s)), torch.full_like(r, 1.0 / K))
        return a, torch.ones(L, K, dtype=torch.bool)
    soft = torch.softmax(z / cfg.tau, dim=1)
    if cfg.routing == "soft":
        return soft, torch.ones(L, K, dtype=torch.bool)
    if cfg.routing != "topk":
        raise Unsupported(f"routing {cfg.routing}")
    # keep the top-k logits of each row (ties: the lower index), renormalise;
    # the backward is the soft one (straight-through)
    zd = z.detach().numpy()
    keep = np.zeros((L, K), dtype=bool)
    for l in range(L):
        for i in range(K):
            above = sum(1 for j in range(K) if zd[l, j] > zd[l, i] or (zd[l, j] == zd[l, i] and j < i))
            keep[l, i] = above < cfg.topk
    mask = torch.from_numpy(keep)
    kept = soft.detach() * mask
    hard = kept / kept.sum(1, keepdim=True)
    return soft + (hard - soft.detach()), mask


def forward(cfg, P, task, x):
    """Logits of task `task` for x (N, C, H, W), training-mode batch norm."""
    pre = f"task.{cfg.tasks[task][0]}."

    def bn(h, prefix, index=None):
        w, b = P[prefix + ".weight"], P[prefix + ".bias"]
        if index is not None:
            w, b = w[index], b[index]
        return F.batch_norm(h, None, None, w, b, training=True, eps=BN_EPS)

    def conv(h, w, stride=1):
        return F.conv2d(h, w, stride=stride, padding=1)

    def branch(h, w1, w2, bn_prefix, index):
        return conv(F.relu(bn(conv(h, w1), bn_prefix, index)), w2)

    h = F.relu(bn(conv(x, P["stem.weight"], cfg.stem_stride), pre + "stem.bn"))
    for s in range(len(cfg.widths)):
        if s > 0:
            h = F.relu(bn(conv(h, P[f"stage{s}.transition.weight"], 2), pre + f"stage{s}.transition.bn"))
        z = P[f"stage{s}.logits"] if cfg.shared_mixture else P[pre + f"stage{s}.logits"]
        a, runs = route(cfg, z)
        bank = P[f"stage{s}.templates"]  # [K, 2, C, C, 3, 3]
        bn_prefix = pre + f"stage{s}.bn"  # [L, 2 or K + 1, C]
        K = cfg.templates[s]
        for l in range(cfg.layers[s]):
            if cfg.outputs:
                # a mixture of experts: template k's own branch and BN; the
                # templates a block does not run contribute nothing
                mixed = sum(a[l, k] * branch(h, bank[k, 0], bank[k, 1], bn_prefix, (l, k))
                            for k in range(K) if runs[l, k])
                last = (l, K)
            else:
                w = torch.einsum("k,kabcde->abcde", a[l], bank)
                mixed = branch(h, w[0], w[1], bn_prefix, (l, 0))
                last = (l, 1)
            h = F.relu(bn(mixed, bn_prefix, last) + h)
    pooled = h.mean(dim=(2, 3))
    head = "head." if cfg.shared_head else pre + "head."
    return F.linear(pooled, P[head + "weight"], P[head + "bias"])


def error(got, ref):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        return float("inf"), 0.0
    if ref.size == 0:
        return 0.0, 0.0
    scale = float(np.max(np.abs(ref)))
    diff = np.abs(got - ref)
    if not np.all(np.isfinite(got)):
        return float("inf"), scale
    return float(np.max(diff)) / max(scale, FLOOR), scale


def reference(model_path, dump_path):
    """[(name, templar values, torch values)] for one model and its dump, and the config."""
    meta, params = read_safetensors(model_path)
    dmeta, dump = read_safetensors(dump_path)
    cfg = Config(meta)
    task = int(dmeta.get("task", "0"))
    P = {}
    for name, value in params.items():
        t = torch.from_numpy(value.astype(np.float64))
        P[name] = t if is_state(name) else t.requires_grad_(True)
    x = torch.from_numpy(dump["input"].astype(np.float64))
    labels = torch.from_numpy(dump["labels"].astype(np.int64))
    logits = forward(cfg, P, task, x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    pairs = [("logits", dump["logits"], logits.detach().numpy()),
             ("loss", dump["loss"], np.array([loss.item()]))]
    grads = {n[len("grad."):] for n in dump if n.startswith("grad.")}
    for name in sorted(set(params) | grads):
        if name not in grads or name not in params:
            where = "the dump" if name not in grads else "the model file"
            raise Unsupported(f"{dump_path}: tensor {name} missing from {where}")
        g = P[name].grad
        ref = np.zeros(params[name].shape) if g is None else g.numpy()
        pairs.append(("grad." + name, dump["grad." + name], ref))
    return cfg, task, pairs


def selftest(pairs, rng):
    """Names of the tensors whose one-coordinate perturbation went unnoticed."""
    missed = []
    for name, got, ref in pairs:
        if not np.any(ref):
            continue
        bad = np.array(got, dtype=np.float64, copy=True)
        i = int(rng.integers(bad.size))
        bad.flat[i] += 10 * TOLERANCE * max(float(np.max(np.abs(ref))), FLOOR)
        if error(bad, ref)[0] <= TOLERANCE:
            missed.append(f"{name}[{i}]")
    return missed


def main(argv):
    if len(argv) < 3 or len(argv) % 2 != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    torch.set_default_dtype(torch.float64)
    self_check = os.environ.get("PARITY_SELFTEST", "") not in ("", "0")
    rng = np.random.default_rng(1)
    worst_all, failed = 0.0, 0
    for model_path, dump_path in zip(argv[1::2], argv[2::2]):
        try:
            cfg, task, pairs = reference(model_path, dump_path)
        except (Unsupported, OSError, KeyError, ValueError) as e:
            print(f"parity: {e}", file=sys.stderr)
            return 2
        print(f"== {model_path} task {task}: {cfg.describe()}")
        worst, worst_name, bad = 0.0, "", 0
        for name, got, ref in pairs:
            err, scale = error(got, ref)
            verdict = "ok" if err <= TOLERANCE else "FAIL"
            bad += verdict == "FAIL"
            print(f"  {name:<48} err {err:9.2e}  max|ref| {scale:9.2e}  {verdict}")
            if err > worst or not worst_name:
                worst, worst_name = err, name
        print(f"  max error {worst:.2e} ({worst_name}) over {len(pairs)} tensors: "
              f"{'PASS' if not bad else f'{bad} FAIL'}")
        if self_check:
            missed = selftest(pairs, rng)
            checked = sum(1 for _, _, ref in pairs if np.any(ref))
            if missed:
                print(f"  SELFTEST FAIL: perturbations not caught: {', '.join(missed)}")
                bad += 1
            else:
                print(f"  selftest: a perturbed coordinate was caught in each of {checked} tensors")
        failed += bad > 0
        worst_all = max(worst_all, worst)
    n = (len(argv) - 1) // 2
    print(f"parity: {n - failed}/{n} models agree with PyTorch, max error {worst_all:.2e}, "
          f"tolerance {TOLERANCE:g}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
