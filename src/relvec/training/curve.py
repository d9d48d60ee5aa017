"""The training curve: per-step loss and the selection metric per epoch, as a PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from relvec.extras import available
from relvec.files import write_file


def plot_training(
    steps: Sequence[dict[str, Any]],
    history: Sequence[dict[str, Any]],
    path: Path,
    baseline: dict[str, Any] | None = None,
    metric: str | None = "semeval_valid_accuracy",
) -> None:
    """A PNG with the per-step loss (and per-epoch mean) and the selection ``metric`` per epoch (a history key);
    skipped (the run's logs hold the same numbers) when matplotlib, the ``relvec[plot]`` extra, is not installed."""
    if not available("matplotlib"):
        return
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(10, 4))
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    left.plot([s["global_step"] for s in steps], [s["loss"] for s in steps], lw=0.6, alpha=0.6, label="step")
    per_epoch = max((len(steps) // max(1, len(history))), 1)
    left.plot(
        [h["epoch"] * per_epoch for h in history],
        [h["train_loss"] for h in history],
        "o-",
        label="epoch mean",
    )
    left.set(xlabel="optimiser step", ylabel="training loss", title="training loss")
    left.legend()
    accuracy = [h.get(metric) for h in history] if metric else []
    if any(a is not None for a in accuracy):
        right.plot([h["epoch"] for h in history], [100 * (a or 0) for a in accuracy], "o-", label="fine-tuned")
    if metric and baseline and baseline.get(metric) is not None:
        right.plot([0], [100 * baseline[metric]], "s", color="gray", label="untuned")
        right.legend()
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    title = "SemEval-valid analogy accuracy" if metric == "semeval_valid_accuracy" else str(metric or "no evaluator")
    right.set(xlabel="epoch", ylabel="score (%)", title=title)
    figure.tight_layout()
    write_file(path, lambda p: figure.savefig(p, dpi=100, format="png"))
