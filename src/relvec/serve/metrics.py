"""Counters for ``/metrics`` in the Prometheus text format, kept without a client library."""

from __future__ import annotations

from collections import defaultdict


class Metrics:
    """Counters for ``/metrics`` (Prometheus text format), kept without a client library."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.latency: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        self.batches = [0, 0, 0]  # batches, pairs, requests
        self.busy = 0  # requests refused with 503 because a queue was full

    def request(self, path: str, status: int, seconds: float) -> None:
        self.requests[(path, status)] += 1
        self.latency[path][0] += seconds
        self.latency[path][1] += 1

    def batch(self, pairs: int, requests: int) -> None:
        self.batches[0] += 1
        self.batches[1] += pairs
        self.batches[2] += requests

    def text(self) -> str:
        lines = ["# TYPE relvec_requests_total counter"]
        lines += [f'relvec_requests_total{{path="{p}",code="{c}"}} {n}' for (p, c), n in sorted(self.requests.items())]
        lines.append("# TYPE relvec_request_seconds summary")
        for path, (total, count) in sorted(self.latency.items()):
            lines += [f'relvec_request_seconds_sum{{path="{path}"}} {total:.6f}']
            lines += [f'relvec_request_seconds_count{{path="{path}"}} {count}']
        batches, pairs, requests = self.batches
        lines += ["# TYPE relvec_batches_total counter", f"relvec_batches_total {batches}"]
        lines += ["# TYPE relvec_batch_pairs_total counter", f"relvec_batch_pairs_total {pairs}"]
        lines += ["# TYPE relvec_batch_requests_total counter", f"relvec_batch_requests_total {requests}"]
        lines += ["# TYPE relvec_busy_total counter", f"relvec_busy_total {self.busy}"]
        return "\n".join(lines) + "\n"
