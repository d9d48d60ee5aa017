"""Load test of ``relvec serve`` on 127.0.0.1: concurrent clients with mixed request sizes for a bounded time,
against in-process ``encode`` of the same pairs measured in the same run; then a burst of malformed and
oversized requests, which must all be refused with 4xx while the server keeps answering.

    RELVEC_DATA=../shared/data python benchmarks/serve_load.py --threads 2 --model minilm --clients 32 --seconds 60

The server runs as a subprocess (``relvec serve``), the clients in this process (httpx, asyncio); both share
the machine's cores, as a client on the same host would.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import torch

from relvec.loading import load_model

from _common import analogy_pairs, machine

SIZES = (1, 2, 4, 8, 16, 32, 64)  # pairs per request, drawn uniformly


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def in_process(model_name: str, runtime: str, pairs: list[tuple[str, str]], seconds: float) -> float:
    """Pairs/s of plain ``encode`` (batch 64) over ``pairs``, repeated for about ``seconds``."""
    model = load_model(model_name, runtime=runtime)
    model.encode(pairs[:64])
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        chunk = pairs[done % len(pairs) :][:512] or pairs[:512]
        model.encode(chunk, show_progress_bar=False)
        done += len(chunk)
    return done / (time.perf_counter() - start)


async def client(
    http: httpx.AsyncClient, pairs: list, rng: random.Random, stop: float, log: list, encoding: str
) -> None:
    while time.perf_counter() < stop:
        size = rng.choice(SIZES)
        batch = [list(p) for p in rng.sample(pairs, size)]
        started = time.perf_counter()
        try:
            response = await http.post("/embed", json={"pairs": batch, "encoding_format": encoding})
            status = response.status_code
            rows = response.json()["embeddings"] if status == 200 else []
            if encoding == "base64":  # what a client does with the answer: vectors as arrays
                [np.frombuffer(base64.b64decode(r), dtype="<f4") for r in rows]
        except httpx.HTTPError:
            status = -1
        log.append((time.perf_counter() - started, size, status))


async def load(url: str, pairs: list, clients: int, seconds: float, encoding: str) -> tuple[list, float]:
    log: list = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        start = time.perf_counter()
        stop = start + seconds
        await asyncio.gather(*(client(http, pairs, random.Random(i), stop, log, encoding) for i in range(clients)))
        return log, time.perf_counter() - start


def burst(url: str) -> dict[str, int]:
    """Malformed and oversized requests: count the answers by status class; then the server must still answer."""
    bad = [
        b"not json",
        b"[1, 2, 3]",
        json.dumps({"pairs": []}).encode(),
        json.dumps({"pairs": [["cat", ""]]}).encode(),
        json.dumps({"pairs": [["cat", 3]]}).encode(),
        json.dumps({"pairs": [["a", "b"]] * 5000}).encode(),
        json.dumps({"pairs": [["a", "b" * 5000]]}).encode(),
        b"{" * 2_000_000,
        json.dumps({"pair": ["a", "b"], "pairs": "x"}).encode(),
    ]
    counts = {"2xx": 0, "4xx": 0, "5xx": 0, "other": 0}
    with httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(25):
            for body in bad:
                path = "/similarity" if b'"pair"' in body else "/embed"
                status = http.post(path, content=body, headers={"content-type": "application/json"}).status_code
                counts[f"{status // 100}xx" if status // 100 in (2, 4, 5) else "other"] += 1
        counts["health_after"] = http.get("/health").status_code
        counts["embed_after"] = http.post("/embed", json={"pairs": [["cat", "kitten"]]}).status_code
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--runtime", default="torch", choices=["torch", "onnx", "openvino"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--encoding", default="float", choices=["float", "base64"], help="/embed's encoding_format")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pairs = analogy_pairs(4000)
    baseline = in_process(args.model, args.runtime, pairs, min(args.seconds, 20.0))
    port = free_port()
    cmd = [sys.executable, "-m", "relvec", "--threads", str(args.threads), "serve", args.model]
    cmd += ["--runtime", args.runtime, "--host", "127.0.0.1", "--port", str(port), "--no-complete"]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise SystemExit(f"the server did not start: {server.stderr.read().decode()[-500:]}")
        httpx.post(url + "/embed", json={"pairs": [list(p) for p in pairs[:64]]}, timeout=60)
        rss_start = rss_mb(server.pid)
        log, wall = asyncio.run(load(url, pairs, args.clients, args.seconds, args.encoding))
        rss_end = rss_mb(server.pid)
        refused = burst(url)
        rss_after_burst = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ok = [(t, n) for t, n, s in log if s == 200]
    latencies = sorted(t for t, _ in ok)
    served = sum(n for _, n in ok) / wall
    result = {
        "machine": machine(),
        "model": args.model,
        "runtime": args.runtime,
        "encoding": args.encoding,
        "clients": args.clients,
        "seconds": round(wall, 1),
        "requests": len(log),
        "errors": len(log) - len(ok),
        "served_pairs_per_s": round(served, 1),
        "in_process_pairs_per_s": round(baseline, 1),
        "ratio": round(served / baseline, 3),
        "latency_p50_ms": round(1000 * statistics.median(latencies), 1),
        "latency_p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1),
        "rss_mb": {"start": round(rss_start), "end": round(rss_end), "after_burst": round(rss_after_burst)},
        "burst": refused,
    }
    print(json.dumps(result, indent=2))
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
