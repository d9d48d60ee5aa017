"""``relvec serve`` while its heavy parts warm up: the server must answer throughout, never stall.

    RELVEC_DATA=../shared/data python benchmarks/serve_warmup.py --threads 2 --output runs/serve_warmup.json

Builds an index of analogy pairs with the model, starts ``relvec serve MODEL --index IDX --api-key K`` (the
completion vocabulary, 100,000 GloVe words by default, and the index load in the background), then every
``--every`` seconds asks ``/health``, ``/embed`` (2 pairs), ``/neighbours`` and ``/complete`` from one client until
every part is ready, and once more after: the latency and status of each. The issue that asked for this measured the
old server: the first ``/complete`` ran over 120 s and ``/neighbours`` / ``/embed`` got no answer within 20 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import torch
from serve_load import free_port

from relvec.loading import load_model
from relvec.search import RelationIndex

from _common import analogy_pairs, machine

PAIRS = [["tokyo", "japan"], ["paris", "france"]]


def timed(http: httpx.Client, method: str, path: str, body: dict | None = None) -> tuple[float, int, str]:
    """(seconds, status, Retry-After) of one request; status -1 on a transport error (a timeout)."""
    started = time.perf_counter()
    try:
        response = http.request(method, path, json=body)
        return time.perf_counter() - started, response.status_code, response.headers.get("retry-after", "")
    except httpx.HTTPError:
        return time.perf_counter() - started, -1, ""


def probe(http: httpx.Client) -> dict[str, tuple[float, int, str]]:
    return {
        "health": timed(http, "GET", "/health"),
        "embed": timed(http, "POST", "/embed", {"pairs": PAIRS}),
        "neighbours": timed(http, "POST", "/neighbours", {"pairs": PAIRS[:1], "k": 5}),
        "complete": timed(http, "POST", "/complete", {"pair": PAIRS[0], "c": "paris", "k": 5}),
    }


def summary(rounds: list[dict], name: str) -> dict:
    seconds = [r[name][0] for r in rounds]
    statuses: dict[str, int] = {}
    for r in rounds:
        statuses[str(r[name][1])] = statuses.get(str(r[name][1]), 0) + 1
    return {"median_s": statistics.median(seconds), "max_s": max(seconds), "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--index-pairs", type=int, default=2000)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between probe rounds")
    parser.add_argument("--limit", type=float, default=600.0, help="give up after this many seconds")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="relvec-warmup-"))
    RelationIndex.build(load_model(args.model), analogy_pairs(args.index_pairs)).save(work / "index")
    port, key = free_port(), "k"
    cmd = [sys.executable, "-m", "relvec", "--threads", str(args.threads), "serve", args.model]
    cmd += ["--index", str(work / "index"), "--api-key", key, "--host", "127.0.0.1", "--port", str(port)]
    log = (work / "server.log").open("w")
    started = time.perf_counter()
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    url, rounds, ready_at = f"http://127.0.0.1:{port}", [], None
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(base_url=url, timeout=20, headers=headers) as http:
            while time.perf_counter() - started < args.limit:
                try:
                    http.get("/health", timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            listening = time.perf_counter() - started
            while time.perf_counter() - started < args.limit:
                round_start = time.perf_counter()
                rounds.append(probe(http))
                if http.get("/health").json().get("status") == "ok":
                    ready_at = time.perf_counter() - started
                    break
                time.sleep(max(0.0, args.every - (time.perf_counter() - round_start)))
            after = probe(http)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    lines = (work / "server.log").read_text().splitlines()
    result = {
        "machine": machine(),
        "command": " ".join(cmd[2:]),
        "listening_s": round(listening, 2),
        "all_ready_s": None if ready_at is None else round(ready_at, 2),
        "rounds_while_warming": len(rounds),
        "while_warming": {name: summary(rounds, name) for name in ("health", "embed", "neighbours", "complete")},
        "after_ready": {name: {"seconds": round(s, 4), "status": c} for name, (s, c, _) in after.items()},
        "retry_after": sorted({r["complete"][2] for r in rounds if r["complete"][1] == 503}),
        "server_log": [line for line in lines if "ready" in line or "words" in line][-6:],
    }
    print(json.dumps(result, indent=2))
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
