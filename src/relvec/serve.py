"""``relvec serve``: relation embeddings over HTTP (FastAPI + uvicorn, ``pip install 'relvec[serve]'``).

Endpoints: ``POST /embed``, ``/similarity``, ``/analogy``, ``/complete``, ``/neighbours`` (with an index),
``/classify`` (with a classifier); ``GET /health``, ``/info``, ``/metrics`` (Prometheus text). Every pair goes
through one :class:`Batcher`: concurrent requests are embedded together, one model call for many requests, with a
bounded queue (a full queue answers 503) and a bounded wait. Requests follow the library's input rules: a bad
pair is a 422 naming its index and word; too many pairs, too long a word or too large a body is a 413; a malformed
body never reaches the model. With an API key every endpoint but ``/health`` and the explorer page needs
``Authorization: Bearer KEY``. ``GET /`` is the relation explorer (:data:`relvec/static/explorer.html`): nearest
relations, A:B::C:?, analogy questions, and ``GET /map``, a 2-D PCA map of the index's pairs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from relvec.completion import AnalogyCompleter
from relvec.encoders.base import validate_pairs
from relvec.extras import require
from relvec.files import short_repr
from relvec.loading import model_identity
from relvec.plotting import project
from relvec.text import word_problem

try:  # an optional dependency: the annotations of the endpoints name its Request
    from fastapi import Request
except ImportError:  # pragma: no cover - create_app says which extra to install
    Request = Any  # type: ignore[assignment,misc]


@dataclass(frozen=True)
class Limits:
    """What one request may ask (413 beyond it) and how the batcher waits."""

    max_pairs: int = 1024
    max_word_chars: int = 100
    max_body_bytes: int = 1_000_000
    max_batch_pairs: int = 512
    max_wait_ms: float = 5.0
    max_queue: int = 256
    map_points: int = 2000


# Open without the API key: the health check and the explorer page (a static file; its calls carry the key).
_OPEN_PATHS = ("/health", "/")


class RequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Batcher:
    """Collects the pairs of concurrent requests and embeds them in one ``encode`` call per batch."""

    def __init__(self, model: Any, limits: Limits, metrics: Metrics) -> None:
        self.model, self.limits, self.metrics = model, limits, metrics
        self.queue: asyncio.Queue | None = None
        self.worker: asyncio.Task | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def embed(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        loop = asyncio.get_running_loop()
        if self.loop is not loop:  # the first request of this event loop starts its worker
            self.loop, self.queue = loop, asyncio.Queue(self.limits.max_queue)
            self.worker = loop.create_task(self._run())
        future = asyncio.get_running_loop().create_future()
        try:
            self.queue.put_nowait((pairs, future))
        except asyncio.QueueFull:
            raise RequestError(503, "the server is busy (request queue full); retry shortly") from None
        return await future

    def _encode(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        return self.model.encode(pairs, normalize=True, show_progress_bar=False)

    async def _run(self) -> None:
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        while True:
            items = [await self.queue.get()]
            size = len(items[0][0])
            deadline = loop.time() + self.limits.max_wait_ms / 1000
            while size < self.limits.max_batch_pairs and (left := deadline - loop.time()) > 0:
                try:
                    item = await asyncio.wait_for(self.queue.get(), left)
                except TimeoutError:
                    break
                items.append(item)
                size += len(item[0])
            pairs = [p for chunk, _ in items for p in chunk]
            self.metrics.batch(len(pairs), len(items))
            try:
                vectors = await loop.run_in_executor(None, self._encode, pairs)
            except Exception as exc:  # handed to every waiting request
                for _, future in items:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for chunk, future in items:
                if not future.done():
                    future.set_result(np.asarray(vectors[start : start + len(chunk)], dtype=np.float32))
                start += len(chunk)


class Metrics:
    """Counters for ``/metrics`` (Prometheus text format), kept without a client library."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.latency: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        self.batches = [0, 0, 0]  # batches, pairs, requests

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
        return "\n".join(lines) + "\n"


def _pairs(value: Any, field: str, limits: Limits) -> list[tuple[str, str]]:
    """A request's list of [head, tail], checked by the library's rules and the server's limits."""
    if not isinstance(value, list) or not value:
        raise RequestError(422, f"{field}: expected a non-empty list of [head, tail] pairs")
    if len(value) > limits.max_pairs:
        raise RequestError(413, f"{field}: {len(value)} pairs, more than the limit of {limits.max_pairs}")
    for i, pair in enumerate(value):
        if isinstance(pair, list) and any(isinstance(w, str) and len(w) > limits.max_word_chars for w in pair):
            raise RequestError(413, f"{field}: pair {i} has a word longer than {limits.max_word_chars} characters")
    try:
        checked, _ = validate_pairs(value)
    except ValueError as exc:
        raise RequestError(422, f"{field}: {exc}") from None
    return checked


def _pair(value: Any, field: str, limits: Limits) -> tuple[str, str]:
    return _pairs([value], field, limits)[0]


def explorer_page() -> str:
    """The relation explorer (plain HTML and a small script, no build step, nothing fetched from elsewhere)."""
    return resources.files("relvec").joinpath("static/explorer.html").read_text(encoding="utf-8")


def index_map(index: Any, limit: int) -> list[dict[str, Any]]:
    """``{"pair", "x", "y"}`` for up to ``limit`` of the index's pairs (seeded sample), PCA of their vectors."""
    rows = np.arange(len(index.pairs))
    if len(rows) > limit:
        rows = np.sort(np.random.default_rng(0).choice(rows, size=limit, replace=False))
    if len(rows) < 3:
        raise RequestError(422, f"the index has {len(rows)} pairs; a map needs at least 3")
    try:
        xy = project(index.vectors[rows], "pca")
    except ImportError as exc:
        raise RequestError(501, str(exc)) from None
    return [
        {"pair": list(index.pairs[r]), "x": round(float(x), 5), "y": round(float(y), 5)}
        for r, (x, y) in zip(rows, xy, strict=True)
    ]


def create_app(
    model: Any,
    index: Any = None,
    classifier: Any = None,
    api_key: str | None = None,
    limits: Limits = Limits(),
    vocabulary: list[str] | None = None,
) -> Any:
    """The FastAPI application serving ``model`` (and ``index`` / ``classifier`` when given); ``/complete``
    searches ``vocabulary`` (default: the 100,000 most frequent GloVe words), exhaustively for a static model."""
    fastapi = require("fastapi", "relvec serve")
    responses = require("fastapi.responses", "relvec serve")
    app = fastapi.FastAPI(title="relvec", description="Relation embeddings for word pairs.")
    metrics = Metrics()
    batcher = Batcher(model, limits, metrics)
    identity = model_identity(model)
    state: dict[str, Any] = {}

    async def body(request: Any) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > limits.max_body_bytes:
            raise RequestError(413, f"the body has {len(raw)} bytes, more than the limit of {limits.max_body_bytes}")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestError(422, f"the body is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise RequestError(422, "the body must be a JSON object")
        return data

    @app.middleware("http")
    async def guard(request: Any, call_next: Any) -> Any:
        started = time.perf_counter()
        if api_key and request.url.path not in _OPEN_PATHS:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if given != api_key:
                metrics.request(request.url.path, 401, time.perf_counter() - started)
                return responses.JSONResponse({"detail": "missing or wrong API key"}, status_code=401)
        response = await call_next(request)
        metrics.request(request.url.path, response.status_code, time.perf_counter() - started)
        return response

    @app.exception_handler(RequestError)
    async def request_error(request: Any, exc: RequestError) -> Any:
        return responses.JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.get("/", include_in_schema=False)
    async def explorer() -> Any:
        return responses.HTMLResponse(explorer_page())

    @app.get("/map")
    async def pair_map() -> dict[str, Any]:
        """The index's pairs (a seeded sample of at most ``limits.map_points``) projected to 2-D by PCA."""
        if index is None:
            raise RequestError(404, "no index: start the server with --index DIR")
        if "map" not in state:
            state["map"] = index_map(index, limits.map_points)
        return {"points": state["map"]}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/info")
    async def info() -> dict[str, Any]:
        return {
            "model": identity["name"],
            "embedding_dim": identity["embedding_dim"],
            "fingerprint": identity["fingerprint"],
            "index": len(index) if index is not None else None,
            "classifier": classifier.labels if classifier is not None else None,
        }

    @app.get("/metrics")
    async def prometheus() -> Any:
        return responses.PlainTextResponse(metrics.text())

    @app.post("/embed")
    async def embed(request: Request) -> Any:
        data = await body(request)
        encoding = data.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            raise RequestError(422, f"encoding_format: expected 'float' or 'base64', got {short_repr(encoding)}")
        vectors = await batcher.embed(_pairs(data.get("pairs"), "pairs", limits))
        # serialised here: FastAPI's generic encoder walks every float and costs more than the model on small models;
        # base64 (little-endian float32 per vector, as OpenAI's embeddings API offers) skips float text entirely
        rows = [base64.b64encode(v.astype("<f4").tobytes()).decode() for v in vectors] if encoding == "base64" else None
        text = json.dumps({"model": identity["name"], "embeddings": rows if rows is not None else vectors.tolist()})
        return responses.Response(text, media_type="application/json")

    @app.post("/similarity")
    async def similarity(request: Request) -> dict[str, Any]:
        data = await body(request)
        pair, others = _pair(data.get("pair"), "pair", limits), _pairs(data.get("pairs"), "pairs", limits)
        vectors = await batcher.embed([pair, *others])
        return {"scores": [float(x) for x in vectors[1:] @ vectors[0]]}

    @app.post("/analogy")
    async def analogy(request: Request) -> dict[str, Any]:
        data = await body(request)
        stem, choices = _pair(data.get("stem"), "stem", limits), _pairs(data.get("choices"), "choices", limits)
        vectors = await batcher.embed([stem, *choices])
        scores = vectors[1:] @ vectors[0]
        return {"scores": [float(x) for x in scores], "answer": int(np.argmax(scores))}

    @app.post("/neighbours")
    async def neighbours(request: Request) -> dict[str, Any]:
        if index is None:
            raise RequestError(404, "no index: start the server with --index DIR")
        data = await body(request)
        pairs, k = _pairs(data.get("pairs"), "pairs", limits), data.get("k", 10)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1000:
            raise RequestError(422, f"k: expected an integer in [1, 1000], got {k!r}")
        found = index.query(model, pairs, k=k)
        return {"neighbours": [[{"pair": list(n.pair), "score": n.score} for n in row] for row in found]}

    @app.post("/classify")
    async def classify(request: Request) -> dict[str, Any]:
        if classifier is None:
            raise RequestError(404, "no classifier: start the server with --classifier DIR")
        pairs = _pairs((await body(request)).get("pairs"), "pairs", limits)
        probs = classifier.predict_proba(pairs)
        return {"labels": [classifier.labels[int(i)] for i in probs.argmax(axis=1)], "probabilities": probs.tolist()}

    @app.post("/complete")
    async def complete(request: Request) -> dict[str, Any]:
        data = await body(request)
        pair, c, k = _pair(data.get("pair"), "pair", limits), data.get("c"), data.get("k", 10)
        if (
            not isinstance(c, str)
            or word_problem(c)
            or isinstance(k, bool)
            or not isinstance(k, int)
            or not 1 <= k <= 100
        ):
            raise RequestError(422, "expected 'c' (a word) and 'k' (an integer in [1, 100])")
        if "completer" not in state:
            exhaustive = callable(getattr(model, "score_rows", None))
            state["completer"] = AnalogyCompleter(model, vocabulary, exhaustive=exhaustive, show_progress_bar=False)
        try:
            found = state["completer"].complete(pair, c, k)
        except ValueError as exc:
            raise RequestError(422, str(exc)) from None
        return {"completions": [{"word": x.word, "score": x.score} for x in found]}

    return app
