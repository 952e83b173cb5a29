#!/usr/bin/env python3
"""PyTorch peer of templar's reference (isometric, template-bank) model.

Measures training images/s, batch-1 inference latency and peak RSS, for a
side-by-side comparison with templar's C benchmark.  Run with Debian's torch:

    /usr/bin/python3 bench/torch_ref.py                 # width 64, 8 layers, 4 templates
    /usr/bin/python3 bench/torch_ref.py --width 32 --layers 4 --templates 2
    /usr/bin/python3 bench/torch_ref.py --mode train    # peak RSS of a training run only
    /usr/bin/python3 bench/torch_ref.py --precision bf16 # autocast bf16, channels-last

--precision bf16 is PyTorch's best CPU setting: torch.autocast("cpu",
dtype=torch.bfloat16) around the forward and the loss, and the model and the
input in channels-last memory format (oneDNN's bf16 kernels want NHWC).
"""
import contextlib
import argparse
import json
import math
import os
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class TemplateNet(nn.Module):
    """Stem conv -> L residual blocks whose conv weights are softmax mixtures
    of a shared bank T[K, 2, C, C, 3, 3] -> global avg pool -> Linear(C, 10)."""

    def __init__(self, width, layers, templates, tau=1.0):
        super().__init__()
        C, L, K = width, layers, templates
        self.tau = tau
        self.stem = nn.Conv2d(1, C, 3, stride=2, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(C)
        self.bank = nn.Parameter(torch.randn(K, 2, C, C, 3, 3) * math.sqrt(2.0 / (C * 9)))
        self.logits = nn.Parameter(0.01 * torch.randn(L, K))
        self.bn1 = nn.ModuleList(nn.BatchNorm2d(C) for _ in range(L))
        self.bn2 = nn.ModuleList(nn.BatchNorm2d(C) for _ in range(L))
        self.fc = nn.Linear(C, 10)

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))                    # N x C x 14 x 14
        for l, (bn1, bn2) in enumerate(zip(self.bn1, self.bn2)):
            a = torch.softmax(self.logits[l] / self.tau, dim=0)
            W = torch.tensordot(a, self.bank, dims=1)            # [2, C, C, 3, 3], once per forward
            h = F.relu(bn1(F.conv2d(x, W[0], padding=1)))
            y = bn2(F.conv2d(h, W[1], padding=1))
            x = F.relu(y + x)
        return self.fc(x.mean(dim=(2, 3)))


class InvertedTemplateNet(nn.Module):
    """The same with templar's inverted-bottleneck blocks (--block inverted):
    a template holds a block's 1x1 expansion [H, C], 3x3 depthwise [H, 1, 3, 3]
    and 1x1 projection [C, H] (H = E x C), and its three BNs' scales and
    shifts; the running statistics are the block's own."""

    def __init__(self, width, layers, templates, expand, tau=1.0):
        super().__init__()
        C, L, K, H = width, layers, templates, expand * width
        self.tau, self.C, self.H = tau, C, H
        self.stem = nn.Conv2d(1, C, 3, stride=2, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(C)
        # kept flat ([K, out, in x k x k]): model.to(channels_last) converts
        # 4-D and 5-D tensors only, and these are mixed before they are convs
        self.wx = nn.Parameter(torch.randn(K, H, C) * math.sqrt(2.0 / C))
        self.wd = nn.Parameter(torch.randn(K, H, 9) * math.sqrt(2.0 / 9))
        self.wp = nn.Parameter(torch.randn(K, C, H) * math.sqrt(2.0 / H))
        scale = torch.ones(K, 2 * H + C)
        scale[:, 2 * H:] = 0  # the last BN starts at 0: every block the identity
        self.scale = nn.Parameter(scale)
        self.shift = nn.Parameter(torch.zeros(K, 2 * H + C))
        self.logits = nn.Parameter(0.01 * torch.randn(L, K))
        for l in range(L):
            for i, n in enumerate((H, H, C)):
                self.register_buffer(f"mean{l}_{i}", torch.zeros(n))
                self.register_buffer(f"var{l}_{i}", torch.ones(n))
        self.fc = nn.Linear(C, 10)

    def bn(self, x, l, i, g, b):
        # in fp32, as autocast runs nn.BatchNorm2d (F.batch_norm takes one dtype)
        return F.batch_norm(x.float(), getattr(self, f"mean{l}_{i}"), getattr(self, f"var{l}_{i}"),
                            g.float(), b.float(), self.training)

    def forward(self, x):
        H, C = self.H, self.C
        x = F.relu(self.stem_bn(self.stem(x)))
        for l in range(self.logits.shape[0]):
            a = torch.softmax(self.logits[l] / self.tau, dim=0)
            wx, wd, wp = (torch.tensordot(a, w, dims=1) for w in (self.wx, self.wd, self.wp))
            wx, wd, wp = wx.view(H, C, 1, 1), wd.view(H, 1, 3, 3), wp.view(C, H, 1, 1)
            g, b = a @ self.scale, a @ self.shift
            h = torch.clamp(self.bn(F.conv2d(x, wx), l, 0, g[:H], b[:H]), 0, 6)
            h = F.relu(self.bn(F.conv2d(h, wd, padding=1, groups=H), l, 1, g[H:2 * H], b[H:2 * H]))
            x = self.bn(F.conv2d(h, wp), l, 2, g[2 * H:], b[2 * H:]) + x
        return self.fc(x.mean(dim=(2, 3)))


def precision(args):
    """The forward's context: autocast to bf16, or nothing."""
    if args.precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def layout(t, args):
    return t.contiguous(memory_format=torch.channels_last) if args.precision == "bf16" else t


def bench_train(model, args):
    torch.set_num_threads(args.threads)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9,
                          nesterov=True, weight_decay=5e-4)
    x = layout(torch.randn(args.batch, 1, 28, 28), args)
    y = torch.randint(0, 10, (args.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        with precision(args):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    return args.steps * args.batch / (time.perf_counter() - t0)


def bench_latency(model, args):
    torch.set_num_threads(1)
    model.eval()
    x = layout(torch.randn(1, 1, 28, 28), args)
    times = []
    with torch.no_grad(), precision(args):
        for _ in range(max(args.warmup, 10)):
            model(x)
        for _ in range(args.latency_iters):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), statistics.fmean(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--templates", type=int, default=4)
    p.add_argument("--block", choices=["basic", "inverted"], default="basic")
    p.add_argument("--expand", type=int, default=6, help="inverted blocks' expansion")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=30, help="timed training steps")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--latency-iters", type=int, default=1000)
    p.add_argument("--mode", choices=["train", "latency", "all"], default="all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: autocast to bfloat16 with channels-last tensors")
    p.add_argument("--json", action="store_true", help="print one JSON object line at the end")
    args = p.parse_args()

    torch.manual_seed(args.seed)
    coretype = os.environ.get("OPENBLAS_CORETYPE", "unset")
    backend = next((l.split(":", 1)[1].strip() for l in torch.__config__.parallel_info().splitlines()
                    if l.startswith("ATen parallel backend")), "?")
    print(f"torch {torch.__version__}  threads={args.threads}  parallel={backend}  "
          f"mkldnn={torch.backends.mkldnn.is_available()}  OPENBLAS_CORETYPE={coretype}")

    if args.block == "inverted":
        model = InvertedTemplateNet(args.width, args.layers, args.templates, args.expand)
    else:
        model = TemplateNet(args.width, args.layers, args.templates)
    if args.precision == "bf16":
        model = model.to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in model.parameters())
    print(f"model isometric width={args.width} layers={args.layers} "
          f"templates={args.templates} block={args.block} expand={args.expand} params={params} "
          f"precision={args.precision}")

    res = {"impl": "pytorch", "torch": torch.__version__, "block": args.block, "width": args.width,
           "layers": args.layers, "templates": args.templates, "params": params,
           "batch": args.batch, "threads": args.threads, "steps": args.steps,
           "mode": args.mode, "precision": args.precision, "mkldnn": torch.backends.mkldnn.is_available(),
           "openblas_coretype": coretype}
    if args.mode in ("train", "all"):
        res["train_img_s"] = bench_train(model, args)
        print(f"train: {res['train_img_s']:.1f} img/s (batch {args.batch}, "
              f"{args.steps} steps, {args.threads} threads)")
    if args.mode in ("latency", "all"):
        med, mean = bench_latency(model, args)
        res.update(latency_ms_median=med, latency_ms_mean=mean,
                   latency_iters=args.latency_iters)
        print(f"latency: median {med:.2f} ms, mean {mean:.2f} ms (batch 1, 1 thread, no_grad)")
    res["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak_rss_mib: {res['peak_rss_mib']:.1f}")
    if args.json:
        print(json.dumps(res))


if __name__ == "__main__":
    main()
