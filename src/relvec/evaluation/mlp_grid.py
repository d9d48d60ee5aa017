"""The paper's MLP grid for lexical relation classification, every configuration trained at once in PyTorch.

The grid (learning rate × hidden size) is one batched model: configuration c owns slice c of

    W1: (d, C, H)   b1: (C, H)   W2: (C, H, K)   b2: (C, K)

where H is the largest hidden size and a smaller configuration's extra units start at zero. A zero unit
stays zero: relu'(0) = 0 gives its weights no gradient, and Adam moves nothing without one. The first
layer of all configurations is then one matrix product, the second a batched one, and the summed loss
gives each configuration exactly its own gradient; Adam runs with a learning rate per configuration.

Each configuration follows scikit-learn's ``MLPClassifier`` defaults (relu, Adam with β 0.9 / 0.999,
ε 1e-8, L2 ``alpha`` 1e-4 scaled by the batch size, batches of 200, Glorot-uniform initialisation, at
most ``max_iter`` epochs, stop once the training loss has not improved by ``tol`` for ``n_iter_no_change``
epochs). With validation data and ``stopping="valid"`` a configuration also stops once its validation
micro-F1 has not improved for ``n_iter_no_change`` epochs, and its test predictions are those of its best
validation epoch (validation is what the grid is selected on anyway, so this uses no test data).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

STOPPING = ("valid", "loss")


@dataclass
class GridRun:
    """One configuration's outcome: its validation micro-F1 (None without validation data), the epochs it
    trained, and its test predictions (label indices)."""

    config: dict[str, Any]
    valid_f1_micro: float | None
    epochs: int
    test_predictions: np.ndarray


class TorchMLPGrid:
    """Train one-hidden-layer MLPs for every configuration of a grid together (see the module docstring)."""

    def __init__(
        self,
        configs: Sequence[Mapping[str, Any]],
        seed: int = 0,
        max_iter: int = 200,
        batch_size: int = 200,
        alpha: float = 1e-4,
        tol: float = 1e-4,
        n_iter_no_change: int = 10,
        stopping: str = "valid",
    ) -> None:
        if not configs:
            raise ValueError("the grid has no configuration")
        if stopping not in STOPPING:
            raise ValueError(f"stopping must be one of {STOPPING}, got {stopping!r}")
        self.configs = [dict(c) for c in configs]
        self.hidden = [int(_single(c["hidden_layer_sizes"])) for c in self.configs]
        self.learning_rates = torch.tensor([float(c["learning_rate_init"]) for c in self.configs])
        self.seed, self.max_iter, self.batch_size = seed, max_iter, batch_size
        self.alpha, self.tol, self.n_iter_no_change, self.stopping = alpha, tol, n_iter_no_change, stopping

    # ------------------------------------------------------------------ parameters
    def _init(self, d: int, k: int, generator: torch.Generator) -> list[torch.Tensor]:
        """Glorot-uniform weights and biases per configuration (bound √(6 / (fan_in + fan_out)), as sklearn)."""
        c, h = len(self.configs), max(self.hidden)
        w1, b1 = torch.zeros(d, c, h), torch.zeros(c, h)
        w2, b2 = torch.zeros(c, h, k), torch.zeros(c, k)
        for i, size in enumerate(self.hidden):
            first, second = math.sqrt(6 / (d + size)), math.sqrt(6 / (size + k))
            w1[:, i, :size] = _uniform((d, size), first, generator)
            b1[i, :size] = _uniform((size,), first, generator)
            w2[i, :size] = _uniform((size, k), second, generator)
            b2[i] = _uniform((k,), second, generator)
        return [p.requires_grad_(True) for p in (w1, b1, w2, b2)]

    @staticmethod
    def _logits(params: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """(C, B, K) logits of every configuration for a batch ``x`` (B, d)."""
        w1, b1, w2, b2 = params
        d, c, h = w1.shape
        hidden = torch.relu(x @ w1.reshape(d, c * h) + b1.reshape(-1)).reshape(len(x), c, h)
        return torch.einsum("bch,chk->cbk", hidden, w2) + b2.unsqueeze(1)

    def _predict(self, params: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([self._logits(params, chunk).argmax(-1) for chunk in x.split(4096)], dim=1)

    # ------------------------------------------------------------------ training
    def fit_predict(
        self,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_test: np.ndarray,
        x_valid: np.ndarray | None = None,
        y_valid: np.ndarray | None = None,
    ) -> list[GridRun]:
        """Train every configuration on (``x_train``, ``y_train``: label indices 0…K−1) and predict ``x_test``."""
        generator = torch.Generator().manual_seed(self.seed)
        xt, yt = torch.as_tensor(x_train, dtype=torch.float32), torch.as_tensor(y_train, dtype=torch.long)
        xs = torch.as_tensor(x_test, dtype=torch.float32)
        xv = None if x_valid is None else torch.as_tensor(x_valid, dtype=torch.float32)
        yv = None if y_valid is None else torch.as_tensor(y_valid, dtype=torch.long)
        k = int(max(yt.max().item(), -1 if yv is None else yv.max().item())) + 1
        params = self._init(xt.shape[1], k, generator)
        adam = _Adam(params, self.learning_rates, axes=(1, 0, 0, 0))
        state = _Stopping(len(self.configs), self.tol, self.n_iter_no_change)
        by_valid = xv is not None and yv is not None and self.stopping == "valid"
        predictions = self._predict(params, xs)
        for epoch in range(1, self.max_iter + 1):
            state.after_epoch(self._epoch(params, adam, xt, yt, state.active, generator), epoch)
            if by_valid:
                better = state.record_valid(self._valid_f1(params, xv, yv), epoch)
                if better.any():
                    predictions[better] = self._predict(params, xs)[better]
            if not state.active.any():
                break
        valid = state.best_valid if by_valid else None
        if not by_valid:  # sklearn's rule: each configuration's weights when it stopped
            predictions = self._predict(params, xs)
            valid = None if xv is None or yv is None else self._valid_f1(params, xv, yv)
        return [
            GridRun(
                self.configs[i],
                None if valid is None else float(valid[i]),
                int(state.epochs[i]),
                predictions[i].numpy(),
            )
            for i in range(len(self.configs))
        ]

    def _valid_f1(self, params: Sequence[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Each configuration's validation micro-F1 (= accuracy for single-label data)."""
        return (self._predict(params, x) == y).float().mean(dim=1)

    def _epoch(
        self,
        params: list[torch.Tensor],
        adam: _Adam,
        x: torch.Tensor,
        y: torch.Tensor,
        active: torch.Tensor,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """One shuffled pass; returns each configuration's mean loss (cross-entropy + L2, as sklearn reports it)."""
        n = len(x)
        total = torch.zeros(len(self.configs))
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, self.batch_size):
            idx = order[start : start + self.batch_size]
            logits = self._logits(params, x[idx])
            ce = torch.nn.functional.cross_entropy(
                logits.transpose(1, 2), y[idx].expand(len(logits), -1), reduction="none"
            )
            squares = params[0].pow(2).sum(dim=(0, 2)) + params[2].pow(2).sum(dim=(1, 2))
            per_config = ce.mean(dim=1) + 0.5 * self.alpha * squares / len(idx)
            for p in params:
                p.grad = None
            per_config.sum().backward()
            adam.step(active)
            total += per_config.detach() * len(idx)
        return total / n


class _Adam:
    """Adam (sklearn's variant: bias-corrected step size) with one learning rate per configuration; a
    configuration that stopped is frozen. ``axes[i]``: the configuration axis of parameter i."""

    def __init__(self, params: list[torch.Tensor], learning_rates: torch.Tensor, axes: Sequence[int]) -> None:
        self.params, self.learning_rates, self.axes = params, learning_rates, list(axes)
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    @torch.no_grad()
    def step(self, active: torch.Tensor, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.t += 1
        rates = self.learning_rates * active.float() * math.sqrt(1 - beta2**self.t) / (1 - beta1**self.t)
        for p, m, v, axis in zip(self.params, self.m, self.v, self.axes, strict=True):
            assert p.grad is not None
            m.mul_(beta1).add_(p.grad, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
            shape = [1] * p.dim()
            shape[axis] = len(rates)
            p.sub_(rates.reshape(shape) * m / (v.sqrt() + eps))


class _Stopping:
    """Per configuration: sklearn's training-loss plateau rule, and the best validation score so far."""

    def __init__(self, configs: int, tol: float, patience: int) -> None:
        self.tol, self.patience = tol, patience
        self.active = torch.ones(configs, dtype=torch.bool)
        self.best_loss = torch.full((configs,), math.inf)
        self.no_improvement = torch.zeros(configs, dtype=torch.long)
        self.best_valid = torch.full((configs,), -1.0)
        self.valid_wait = torch.zeros(configs, dtype=torch.long)
        self.epochs = torch.zeros(configs, dtype=torch.long)

    def after_epoch(self, losses: torch.Tensor, epoch: int) -> None:
        """sklearn's rule: stop after ``patience`` + 1 epochs without a loss below the best by ``tol``."""
        running = self.active.clone()
        self.epochs[running] = epoch
        stalled = losses > self.best_loss - self.tol
        self.no_improvement = torch.where(running, (self.no_improvement + 1) * stalled, self.no_improvement)
        self.best_loss = torch.where(running, torch.minimum(losses, self.best_loss), self.best_loss)
        self.active &= self.no_improvement <= self.patience

    def record_valid(self, f1: torch.Tensor, epoch: int) -> torch.Tensor:
        """Keep each running configuration's best validation score and stop those that stopped improving;
        returns the configurations that improved."""
        running = self.epochs == epoch
        better = running & (f1 > self.best_valid)
        self.best_valid = torch.where(better, f1, self.best_valid)
        self.valid_wait = torch.where(better, torch.zeros_like(self.valid_wait), self.valid_wait + running.long())
        self.active &= self.valid_wait <= self.patience
        return better


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


def _single(value: Any) -> int:
    """``hidden_layer_sizes`` as sklearn takes it: an int or a one-element sequence (one hidden layer)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 1:
            raise ValueError(f"the torch grid has one hidden layer, got hidden_layer_sizes={value!r}")
        return int(value[0])
    return int(value)
