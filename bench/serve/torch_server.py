#!/usr/bin/env python3
"""The baseline of bench/serve/run.sh: what a PyTorch user serving many
tasks builds instead of templar serve.  The same model (the bank file and
task files bench_serve_make_tasks writes), one nn.Module per task holding
its own network (its mixtures baked into plain conv weights, its BNs, its
head), behind FastAPI on uvicorn with uvloop and httptools (what
`pip install uvicorn[standard]` gives; without them uvicorn's pure-Python
HTTP path answered 6x slower here); PNG bodies decoded with Pillow.

    TORCH_SERVE_BANK=OUT/bank.safetensors TORCH_SERVE_TASKS=OUT/tasks \
    TORCH_SERVE_COUNT=100 /usr/bin/python3 bench/serve/torch_server.py --port 8081 --workers 2

Each worker process loads every task (uvicorn's workers share nothing).
"""
import argparse
import io
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from fastapi import FastAPI, HTTPException, Request
from PIL import Image


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        tensors[name] = torch.from_numpy(
            np.frombuffer(data[b:e], dtype=np.float32).reshape(t["shape"]).copy())
    return meta, tensors


class TaskNet(nn.Module):
    """One task as a plain residual network: stem conv, BN, ReLU; L blocks of
    conv-BN-ReLU-conv-BN + skip, ReLU; global average pool; linear head."""

    def __init__(self, bank, task, tau):
        super().__init__()
        stem = bank["stem.weight"]
        T = bank["stage0.templates"]                      # [K, 2, C, C, 3, 3]
        L = task["stage0.logits"].shape[0]
        C = stem.shape[0]
        self.stem = nn.Conv2d(stem.shape[1], C, 3, stride=2, padding=1, bias=False)
        self.stem.weight.data.copy_(stem)
        self.stem_bn = self.bn(task, "stem.bn", None, C)
        self.conv1, self.conv2, self.bn1, self.bn2 = (nn.ModuleList() for _ in range(4))
        for l in range(L):
            a = torch.softmax(task["stage0.logits"][l] / tau, dim=0)
            W = torch.tensordot(a, T, dims=1)               # [2, C, C, 3, 3]
            for conv, w in ((self.conv1, W[0]), (self.conv2, W[1])):
                c = nn.Conv2d(C, C, 3, padding=1, bias=False)
                c.weight.data.copy_(w)
                conv.append(c)
            self.bn1.append(self.bn(task, "stage0.bn", (l, 0), C))
            self.bn2.append(self.bn(task, "stage0.bn", (l, 1), C))
        head = task["head.weight"]
        self.head = nn.Linear(head.shape[1], head.shape[0])
        self.head.weight.data.copy_(head)
        self.head.bias.data.copy_(task["head.bias"])
        self.eval()

    @staticmethod
    def bn(task, prefix, at, C):
        b = nn.BatchNorm2d(C, eps=1e-5)
        for ours, theirs in (("weight", "weight"), ("bias", "bias"),
                             ("running_mean", "running_mean"), ("running_var", "running_var")):
            t = task[f"{prefix}.{ours}"]
            getattr(b, theirs).data.copy_(t[at] if at is not None else t)
        return b

    def forward(self, x):
        x = F.relu(self.stem_bn(self.stem(x)))
        for c1, b1, c2, b2 in zip(self.conv1, self.bn1, self.conv2, self.bn2):
            x = F.relu(b2(c2(F.relu(b1(c1(x))))) + x)
        return self.head(x.mean(dim=(2, 3)))


def load():
    meta, bank = read_safetensors(os.environ["TORCH_SERVE_BANK"])
    tau = float(meta.get("tau", "1"))
    mean, std = float(meta["input_mean"]), float(meta["input_std"])
    folder = os.environ["TORCH_SERVE_TASKS"]
    names = sorted(f for f in os.listdir(folder) if f.endswith(".safetensors"))
    names = names[: int(os.environ.get("TORCH_SERVE_COUNT", len(names)))]
    models = {}
    for f in names:
        _, task = read_safetensors(os.path.join(folder, f))
        models[f[: -len(".safetensors")]] = TaskNet(bank, task, tau)
    return models, mean, std


torch.set_num_threads(int(os.environ.get("TORCH_SERVE_THREADS", "1")))
app = FastAPI()
# the workers load the tasks; the process that starts them (__main__) does not
LOADS = __name__ != "__main__" and "TORCH_SERVE_BANK" in os.environ
MODELS, MEAN, STD = load() if LOADS else ({}, 0.0, 1.0)


@app.get("/healthz")
def healthz():
    return {"status": "ok", "tasks": len(MODELS)}


@app.post("/v1/tasks/{task}/classify")
async def classify(task: str, request: Request):
    model = MODELS.get(task)
    if model is None:
        raise HTTPException(status_code=404, detail=f"no task '{task}'")
    try:
        image = Image.open(io.BytesIO(await request.body())).convert("L").resize((28, 28))
    except Exception as e:
        raise HTTPException(status_code=400, detail=str(e))
    x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
    x = ((x - MEAN) / STD).reshape(1, 1, 28, 28)
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1)[0]
    top = torch.topk(probs, min(5, probs.numel()))
    return {"task": task, "classes": [{"class": int(k), "prob": float(p)}
                                      for p, k in zip(top.values, top.indices)]}


if __name__ == "__main__":
    import uvicorn
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=8081)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    uvicorn.run("torch_server:app", host="127.0.0.1", port=args.port, workers=args.workers,
                loop="uvloop", http="httptools", log_level="warning", access_log=False)
