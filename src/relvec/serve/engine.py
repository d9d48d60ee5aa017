"""The server's engine: every model call of every endpoint runs here, off the event loop, bounded.

Two lanes of threads, each with a bounded queue (a full queue answers 503 with ``Retry-After``):

- the **batcher** collects the pairs of concurrent requests (``/embed``, ``/similarity``, ``/analogy``,
  ``/neighbours``) and embeds them in one ``encode`` call per batch, on its own thread;
- the **work** lane runs the heavy calls (``/complete``, ``/classify``, the map) on ``Limits.workers`` threads, so
  a slow completion never holds up an embedding.

Heavy first-use work (the completion vocabulary, the index, the classifier) is a **part** that warms up on a
daemon thread at startup: until it is ready a request that needs it gets 503 with ``Retry-After`` (never a hang),
and ``/health`` says which parts are still warming. Nothing here touches the event loop's thread with model code.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from relvec.serve.limits import Limits, RequestError
from relvec.serve.metrics import Metrics

logger = logging.getLogger(__name__)


@dataclass
class Part:
    """A piece of server state built once: ``warming`` until its loader returns, then ``ready`` or ``failed``."""

    state: str = "warming"
    value: Any = None
    error: str = ""
    seconds: float = 0.0


class Lane:
    """Threads that run model calls, with at most ``max_queue`` calls waiting or running."""

    def __init__(self, name: str, workers: int, limits: Limits, metrics: Metrics) -> None:
        self.name, self.limits, self.metrics = name, limits, metrics
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"relvec-{name}")
        self.pending = 0  # touched on the event loop's thread only

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on one of the lane's threads; a 503 when ``max_queue`` calls are already waiting or running."""
        if self.pending >= self.limits.max_queue:
            self.metrics.busy += 1
            retry = self.limits.retry_after_s
            raise RequestError(503, f"the server is busy ({self.name} queue full); retry shortly", retry)
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(fn, *args))
        finally:
            self.pending -= 1


class Batcher:
    """Collects the pairs of concurrent requests and embeds them in one ``encode`` call per batch."""

    def __init__(self, model: Any, lane: Lane, limits: Limits, metrics: Metrics) -> None:
        self.model, self.lane, self.limits, self.metrics = model, lane, limits, metrics
        self.queue: asyncio.Queue | None = None
        self.worker: asyncio.Task | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def embed(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        loop = asyncio.get_running_loop()
        if self.loop is not loop:  # the first request of this event loop starts its worker
            self.loop, self.queue = loop, asyncio.Queue(self.limits.max_queue)
            self.worker = loop.create_task(self._run())
        future = loop.create_future()
        assert self.queue is not None
        try:
            self.queue.put_nowait((pairs, future))
        except asyncio.QueueFull:
            self.metrics.busy += 1
            retry = self.limits.retry_after_s
            raise RequestError(503, "the server is busy (request queue full); retry shortly", retry) from None
        return await future

    def _encode(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        return np.asarray(self.model.encode(pairs, normalize=True, show_progress_bar=False), dtype=np.float32)

    async def _collect(self) -> list[tuple[list[tuple[str, str]], asyncio.Future]]:
        """The next batch: one request, then more until ``max_batch_pairs`` pairs or ``max_wait_ms``."""
        assert self.queue is not None
        loop = asyncio.get_running_loop()
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
        return items

    async def _run(self) -> None:
        while True:
            items = await self._collect()
            pairs = [p for chunk, _ in items for p in chunk]
            self.metrics.batch(len(pairs), len(items))
            try:
                vectors = await asyncio.get_running_loop().run_in_executor(self.lane.executor, self._encode, pairs)
            except Exception as exc:  # handed to every waiting request
                for _, future in items:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for chunk, future in items:
                if not future.done():
                    future.set_result(vectors[start : start + len(chunk)])
                start += len(chunk)


class Engine:
    """The model, its two lanes and the warmed parts (module docstring)."""

    def __init__(self, model: Any, limits: Limits, metrics: Metrics) -> None:
        self.model, self.limits, self.metrics = model, limits, metrics
        self.batch_lane = Lane("batch", 1, limits, metrics)
        self.work_lane = Lane("work", limits.workers, limits, metrics)
        self.batcher = Batcher(model, self.batch_lane, limits, metrics)
        self.parts: dict[str, Part] = {}
        self.stopping = threading.Event()  # set on shutdown: a part still warming gives up at its next step
        self._lock = threading.Lock()

    async def embed(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """Unit vectors of ``pairs`` through the batcher."""
        return await self.batcher.embed(pairs)

    async def work(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on the work lane (heavy calls: completion, classification, the map)."""
        return await self.work_lane.run(fn, *args)

    def add(self, name: str, value: Any = None, loader: Callable[[], Any] | None = None) -> None:
        """A part: ready at once with ``value``, or warmed by ``loader`` on a daemon thread (started now)."""
        if loader is None:
            self.parts[name] = Part("ready", value)
            return
        self.parts[name] = part = Part()
        thread = threading.Thread(target=self._warm, args=(name, part, loader), name=f"relvec-warm-{name}", daemon=True)
        thread.start()

    def _warm(self, name: str, part: Part, loader: Callable[[], Any]) -> None:
        started = time.perf_counter()
        logger.info("warming up %s", name)
        try:
            value = loader()
        except Exception as exc:  # a part that cannot be built: its endpoint says why, the others keep serving
            with self._lock:
                part.state, part.error = "failed", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            logger.error("%s failed to load: %s", name, part.error)
            return
        with self._lock:
            part.value, part.state, part.seconds = value, "ready", time.perf_counter() - started
        logger.info("%s ready in %.1f s", name, part.seconds)

    def need(self, name: str, missing: str) -> Any:
        """A ready part's value; 404 (``missing``) when the server has no such part, 503 while it warms up."""
        part = self.parts.get(name)
        if part is None:
            raise RequestError(404, missing)
        with self._lock:
            state, value, error = part.state, part.value, part.error
        if state == "warming":
            raise RequestError(503, f"{name} is warming up; retry shortly", self.limits.retry_after_s)
        if state == "failed":
            raise RequestError(503, f"{name} is unavailable: {error}")
        return value

    def health(self) -> dict[str, Any]:
        """``{"status": "ok"}`` when every part is ready, else which parts are warming or failed."""
        with self._lock:
            warming = sorted(n for n, p in self.parts.items() if p.state == "warming")
            failed = {n: p.error for n, p in sorted(self.parts.items()) if p.state == "failed"}
        out: dict[str, Any] = {"status": "failed" if failed else "warming" if warming else "ok"}
        if warming:
            out["warming"] = warming
        if failed:
            out["failed"] = failed
        return out

    def close(self) -> None:
        """Stop the lanes (calls in flight finish; queued ones are cancelled) and the warm-ups."""
        self.stopping.set()
        for lane in (self.batch_lane, self.work_lane):
            lane.executor.shutdown(wait=False, cancel_futures=True)
