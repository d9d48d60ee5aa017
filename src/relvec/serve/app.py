"""The FastAPI application of ``relvec serve`` (``pip install 'relvec[serve]'``); every model call goes through the
:class:`~relvec.serve.engine.Engine`, never on the event loop.

Endpoints: ``POST /embed``, ``/similarity``, ``/analogy``, ``/neighbours``, ``/like`` (pairs like several seeds)
and ``/map/locate`` (with an index),
``/complete``, ``/classify`` (with a classifier); ``GET /health``, ``/info``, ``/metrics`` (Prometheus text),
``/map``; ``GET /`` is the relation explorer. Requests follow the library's input rules: a bad pair is a 422 naming
its index and word; too many pairs, too long a word or too large a body is a 413; a malformed body never reaches
the model; a part still warming up is a 503 with ``Retry-After``. With an API key every endpoint but ``/health``,
the page and its icon needs ``Authorization: Bearer KEY``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import numpy as np

from relvec.completion import AnalogyCompleter, default_vocabulary, word_vectors_of
from relvec.encoders.base import validate_pairs
from relvec.encoders.loading import model_identity
from relvec.encoders.pair_scoring import RowScorer
from relvec.extras import require
from relvec.files import short_repr
from relvec.search import prototype_query
from relvec.serve.engine import Engine
from relvec.serve.limits import Limits, RequestError
from relvec.serve.metrics import Metrics
from relvec.serve.page import FAVICON_SVG, explorer_page, index_map
from relvec.text import word_problem

try:  # an optional dependency: the annotations of the endpoints name its Request
    from fastapi import Request
except ImportError:  # pragma: no cover - create_app says which extra to install
    Request = Any  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)
# Open without the API key: the health check, the explorer page (a static file; its calls carry the key), its icon.
_OPEN_PATHS = ("/health", "/", "/favicon.ico")
NO_INDEX = "no index: start the server with --index DIR"


def create_app(
    model: Any,
    index: Any = None,
    classifier: Any = None,
    api_key: str | None = None,
    limits: Limits | None = None,
    vocabulary: Sequence[str] | Callable[[], Sequence[str]] | None = None,
    completion: bool = True,
) -> Any:
    """The application serving ``model``. ``index`` and ``classifier`` are objects or loaders (functions of no
    argument) run in the background at startup; ``/complete`` searches ``vocabulary`` (words, or a function that
    reads them; default: the 100,000 most frequent GloVe words; exhaustively for a static relation model), built in
    the background unless ``completion`` is False."""
    fastapi = require("fastapi", "relvec serve")
    limits = limits or Limits()
    metrics = Metrics()
    engine = Engine(model, limits, metrics)
    identity = model_identity(model)  # at startup: the probe pairs are embedded once, here

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        yield
        engine.close()

    app = fastapi.FastAPI(title="relvec", description="Relation embeddings for word pairs.", lifespan=lifespan)
    if index is not None:
        engine.add("index", *_part(index, lambda found: _checked_index(found, identity)))
    if classifier is not None:
        engine.add("classifier", *_part(classifier, lambda found: found))
    if completion:
        engine.add("completion", loader=_completion_loader(model, vocabulary, limits, engine.stopping.is_set))
    _guard(app, api_key, metrics)
    _pages(app, engine, identity, metrics)
    _embedding_routes(app, engine, identity, limits)
    _index_routes(app, engine, limits)
    _heavy_routes(app, engine, limits)
    return app


def _part(given: Any, check: Callable[[Any], Any]) -> tuple[Any, Callable[[], Any] | None]:
    """(value, None) for an object, (None, loader) for a function that loads one (then checks it)."""
    if callable(given) and not hasattr(given, "search") and not hasattr(given, "predict_proba"):
        return None, lambda: check(given())
    return check(given), None


def _checked_index(index: Any, identity: dict[str, Any]) -> Any:
    """The index, if the served model is the one it was built with (else queries would mean nothing)."""
    index.check_model(identity)
    return index


def _completion_loader(
    model: Any,
    vocabulary: Sequence[str] | Callable[[], Sequence[str]] | None,
    limits: Limits,
    stopping: Callable[[], bool],
) -> Callable[[], Any]:
    """Builds the completer, its vocabulary's word vectors in steps with a log line each (a long build shows)."""

    def load() -> AnalogyCompleter:
        given = vocabulary() if callable(vocabulary) else vocabulary
        words = default_vocabulary() if given is None else list(given)
        vectors = word_vectors_of(model)
        step = limits.log_every_words
        for start in range(0, len(words), step):
            if stopping():
                raise RuntimeError("the server is stopping")
            vectors.prefetch(words[start : start + step], show_progress_bar=False)
            logger.info("completion vocabulary: %d / %d words", min(start + step, len(words)), len(words))
        exhaustive = isinstance(model, RowScorer)
        return AnalogyCompleter(model, words, word_vectors=vectors, exhaustive=exhaustive, show_progress_bar=False)

    return load


def _guard(app: Any, api_key: str | None, metrics: Metrics) -> None:
    """The API key check, the request metrics and the error answers (503s carry ``Retry-After``)."""
    responses = require("fastapi.responses", "relvec serve")

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
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return responses.JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=headers)


def _pages(app: Any, engine: Engine, identity: dict[str, Any], metrics: Metrics) -> None:
    """The explorer, its icon, health, info and metrics: no model call."""
    responses = require("fastapi.responses", "relvec serve")

    @app.get("/", include_in_schema=False)
    async def explorer() -> Any:
        return responses.HTMLResponse(explorer_page())

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Any:
        return responses.Response(FAVICON_SVG, media_type="image/svg+xml")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """``ok`` once every part (index, classifier, completion vocabulary) is ready, else ``warming`` with the
        parts still loading (or ``failed`` with why); always 200 while the process serves."""
        return engine.health()

    @app.get("/info")
    async def info() -> dict[str, Any]:
        index = engine.parts.get("index")
        classifier = engine.parts.get("classifier")
        return {
            "model": identity["name"],
            "embedding_dim": identity["embedding_dim"],
            "fingerprint": identity["fingerprint"],
            "index": len(index.value) if index is not None and index.state == "ready" else None,
            "classifier": classifier.value.labels if classifier is not None and classifier.state == "ready" else None,
            "parts": {name: part.state for name, part in engine.parts.items()},
        }

    @app.get("/metrics")
    async def prometheus() -> Any:
        return responses.PlainTextResponse(metrics.text())


def _embedding_routes(app: Any, engine: Engine, identity: dict[str, Any], limits: Limits) -> None:
    """/embed, /similarity, /analogy: pairs through the batcher."""
    responses = require("fastapi.responses", "relvec serve")

    @app.post("/embed")
    async def embed(request: Request) -> Any:
        data = await _body(request, limits)
        encoding = data.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            raise RequestError(422, f"encoding_format: expected 'float' or 'base64', got {short_repr(encoding)}")
        vectors = await engine.embed(_pairs(data.get("pairs"), "pairs", limits))
        # serialised here: FastAPI's generic encoder walks every float and costs more than the model on small models;
        # base64 (little-endian float32 per vector, as OpenAI's embeddings API offers) skips float text entirely
        rows = [base64.b64encode(v.astype("<f4").tobytes()).decode() for v in vectors] if encoding == "base64" else None
        text = json.dumps({"model": identity["name"], "embeddings": rows if rows is not None else vectors.tolist()})
        return responses.Response(text, media_type="application/json")

    @app.post("/similarity")
    async def similarity(request: Request) -> dict[str, Any]:
        data = await _body(request, limits)
        pair, others = _pair(data.get("pair"), "pair", limits), _pairs(data.get("pairs"), "pairs", limits)
        vectors = await engine.embed([pair, *others])
        return {"scores": [float(x) for x in vectors[1:] @ vectors[0]]}

    @app.post("/analogy")
    async def analogy(request: Request) -> dict[str, Any]:
        data = await _body(request, limits)
        stem, choices = _pair(data.get("stem"), "stem", limits), _pairs(data.get("choices"), "choices", limits)
        vectors = await engine.embed([stem, *choices])
        scores = vectors[1:] @ vectors[0]
        return {"scores": [float(x) for x in scores], "answer": int(np.argmax(scores))}


def _index_routes(app: Any, engine: Engine, limits: Limits) -> None:
    """/neighbours, /map, /map/locate: the query pairs through the batcher, the search and the map on the work lane."""
    maps: dict[str, Any] = {}

    async def the_map() -> Any:
        index = engine.need("index", NO_INDEX)
        if "map" not in maps:
            maps["map"] = await engine.work(index_map, index, limits.map_points)
        return maps["map"]

    @app.post("/neighbours")
    async def neighbours(request: Request) -> dict[str, Any]:
        index = engine.need("index", NO_INDEX)
        data = await _body(request, limits)
        pairs, k = _pairs(data.get("pairs"), "pairs", limits), data.get("k", 10)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1000:
            raise RequestError(422, f"k: expected an integer in [1, 1000], got {k!r}")
        vectors = await engine.embed(pairs)
        found = await engine.work(index.search, vectors, k, [{p} for p in pairs])
        return {"neighbours": [[{"pair": list(n.pair), "score": n.score} for n in row] for row in found]}

    @app.post("/like")
    async def like(request: Request) -> dict[str, Any]:
        """Indexed pairs like several seed pairs: their prototype, less ``negative_weight`` × the negatives'."""
        index = engine.need("index", NO_INDEX)
        data = await _body(request, limits)
        seeds = _pairs(data.get("pairs"), "pairs", limits)
        negatives = _pairs(data["negatives"], "negatives", limits) if data.get("negatives") else []
        k, weight = data.get("k", 10), data.get("negative_weight", 0.5)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1000:
            raise RequestError(422, f"k: expected an integer in [1, 1000], got {k!r}")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 10:
            raise RequestError(422, f"negative_weight: expected a number in [0, 10], got {weight!r}")
        vectors = await engine.embed([*seeds, *negatives])
        query = prototype_query(vectors[: len(seeds)], vectors[len(seeds) :], float(weight))
        found = await engine.work(index.search, query, k, [{*seeds, *negatives}])
        return {"neighbours": [{"pair": list(n.pair), "score": n.score} for n in found[0]]}

    @app.get("/map")
    async def pair_map() -> dict[str, Any]:
        """The index's pairs (a seeded sample of at most ``limits.map_points``) projected to 2-D by PCA, each with
        its relation label when the index has labels."""
        return {"points": (await the_map()).points}

    @app.post("/map/locate")
    async def locate(request: Request) -> dict[str, Any]:
        """Where pairs fall on the map (the explorer shows a query pair among the index's)."""
        drawn = await the_map()
        pairs = _pairs((await _body(request, limits)).get("pairs"), "pairs", limits)
        vectors = await engine.embed(pairs)
        return {
            "points": [
                {"pair": list(p), "x": x, "y": y} for p, (x, y) in zip(pairs, drawn.locate(vectors), strict=True)
            ]
        }


def _heavy_routes(app: Any, engine: Engine, limits: Limits) -> None:
    """/classify and /complete: on the work lane, once their parts are ready."""

    @app.post("/classify")
    async def classify(request: Request) -> dict[str, Any]:
        classifier = engine.need("classifier", "no classifier: start the server with --classifier DIR")
        pairs = _pairs((await _body(request, limits)).get("pairs"), "pairs", limits)
        probs = await engine.work(classifier.predict_proba, pairs)
        return {"labels": [classifier.labels[int(i)] for i in probs.argmax(axis=1)], "probabilities": probs.tolist()}

    @app.post("/complete")
    async def complete(request: Request) -> dict[str, Any]:
        completer = engine.need("completion", "completion is off on this server")
        data = await _body(request, limits)
        pair, c, k = _pair(data.get("pair"), "pair", limits), data.get("c"), data.get("k", 10)
        if (
            not isinstance(c, str)
            or word_problem(c)
            or isinstance(k, bool)
            or not isinstance(k, int)
            or not 1 <= k <= 100
        ):
            raise RequestError(422, "expected 'c' (a word) and 'k' (an integer in [1, 100])")
        try:
            found = await engine.work(completer.complete, pair, c, k)
        except ValueError as exc:
            raise RequestError(422, str(exc)) from None
        return {"completions": [{"word": x.word, "score": x.score} for x in found]}


async def _body(request: Any, limits: Limits) -> dict[str, Any]:
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
