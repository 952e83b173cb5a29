#!/usr/bin/env python3
"""Malformed requests against a running templar serve (bench/serve/run.sh):
N requests drawn at random from kinds that are each malformed by
construction (a bad path, method, task name, query, content type or length,
truncated or corrupted PNG, broken JSON, pixels out of range or of the
wrong count, an unknown task, a PUT without its token), with a valid
classify every tenth request.  Every malformed one must be answered 4xx and
every valid one 200; at the end the server must still answer /healthz.
Prints one JSON line of counts by kind and status; exits 1 on a miss.

    python3 bench/serve/fuzz_requests.py PORT IMAGE.png TASK [N] [SEED]
"""
import json
import random
import socket
import sys

PORT, IMAGE, TASK = int(sys.argv[1]), sys.argv[2], sys.argv[3]
N = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
rng = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 1)
PNG = open(IMAGE, "rb").read()
PIXELS = json.dumps({"width": 4, "height": 4, "channels": 1, "pixels": list(range(0, 160, 10))})
CHARS = "abcXYZ019-_./%~!$&'()*+,;=@:"


def request(method, path, body=b"", headers=None):
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    headers = dict(headers or {})
    headers.setdefault("Content-Length", str(len(body)))
    head += [f"{k}: {v}" for k, v in headers.items()]
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", PORT), timeout=30) as s:
        s.sendall(raw)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else -1


def classify(path_task=TASK):
    return f"/v1/tasks/{path_task}/classify"


def bad_name():
    n = "".join(rng.choice(CHARS) for _ in range(rng.randint(1, 40)))
    if all(c.isalnum() or c in "-_" for c in n) and len(n) < 32:
        n += "."  # make sure it is not a valid name
    return n.replace("/", "%2F")


def truncated_json():
    return PIXELS[: rng.randrange(len(PIXELS) - 1)].encode()


def corrupted_json():
    i = rng.randrange(len(PIXELS))
    return (PIXELS[:i] + rng.choice("@#`\\x") + PIXELS[i:]).encode()


def corrupted_png():
    b = bytearray(PNG)
    i = rng.randrange(16, 29)  # the header chunk's fields: its CRC no longer matches
    b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


KINDS = {
    "unknown path": lambda: request("GET", "/" + "".join(rng.choice("abc/xyz") for _ in range(12))),
    "wrong method": lambda: request(rng.choice(["GET", "PUT", "PATCH"]), classify()),
    "bad task name": lambda: request("POST", classify(bad_name()), PNG),
    "unknown task": lambda: request("POST", classify("no-such-task-" + str(rng.randrange(10**6))), PNG),
    "bad top": lambda: request("POST", classify() + "?top=" + rng.choice(["0", "-3", "x", "1e3", "99999", ""]), PNG),
    "bad content type": lambda: request("POST", classify(), b"hello", {"Content-Type": "text/" + bad_name()}),
    "body too large": lambda: request("POST", classify(), b"", {"Content-Length": str(10**9)}),
    "truncated png": lambda: request("POST", classify(), PNG[: rng.randrange(8, len(PNG) * 3 // 4)], {"Content-Type": "image/png"}),
    "corrupted png": lambda: request("POST", classify(), corrupted_png(), {"Content-Type": "image/png"}),
    "truncated json": lambda: request("POST", classify(), truncated_json(), {"Content-Type": "application/json"}),
    "corrupted json": lambda: request("POST", classify(), corrupted_json(), {"Content-Type": "application/json"}),
    "pixel over 255": lambda: request("POST", classify(), PIXELS.replace("150", str(rng.randint(256, 10**6))).encode(), {"Content-Type": "application/json"}),
    "wrong pixel count": lambda: request("POST", classify(), PIXELS.replace("[0, ", "[").encode(), {"Content-Type": "application/json"}),
    "bad batch": lambda: request("POST", "/v1/classify", json.dumps({"items": [{"task": TASK, "pixels": [1]}]}).encode(), {"Content-Type": "application/json"}),
    "put without token": lambda: request("PUT", "/v1/tasks/fuzzed", PNG),
    "delete without token": lambda: request("DELETE", f"/v1/tasks/{TASK}"),
}

counts, misses = {}, []
for i in range(N):
    if i % 10 == 9:
        kind, status = "valid", request("POST", classify(), PNG, {"Content-Type": "image/png"})
        ok = status == 200
    else:
        kind = rng.choice(sorted(KINDS))
        status = KINDS[kind]()
        ok = 400 <= status < 500
    counts.setdefault(kind, {}).setdefault(str(status), 0)
    counts[kind][str(status)] += 1
    if not ok:
        misses.append((kind, status))
alive = request("GET", "/healthz") == 200
print(json.dumps({"requests": N, "misses": len(misses), "alive": alive, "by_kind": counts}))
sys.exit(0 if alive and not misses else 1)
