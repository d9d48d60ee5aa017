"""The paper's MLP grid for lexical relation classification, its configurations trained together in PyTorch.

Configurations that share a learning rate form a group, trained as one network whose hidden layer is the
concatenation of theirs (configuration i owns the hidden units S_i) and whose output layer is block
diagonal (configuration i's K logits read only S_i):

    W1: (d, ΣH)   b1: (ΣH)   W2 ⊙ M: (ΣH, n·K)   b2: (n·K)      M = the block-diagonal 0/1 mask

so the first layer of a group is one matrix product, the second another, and the summed loss gives each
configuration exactly its own gradient (the mask zeroes every cross term). Each group is one parameter
group of a (fused) Adam.

Each configuration follows scikit-learn's ``MLPClassifier`` defaults: relu, Adam (β 0.9 / 0.999, ε 1e-8),
L2 ``alpha`` 1e-4 (gradient α·W / batch size on the weights, not the biases), batches of 200,
Glorot-uniform initialisation, at most ``max_iter`` epochs, and a configuration stops once its training
loss (cross-entropy + L2; the L2 part taken at the end of each epoch) has not improved by ``tol`` for
``n_iter_no_change`` epochs; its weights are those it had then. With validation data and
``stopping="valid"`` a configuration also stops once its validation micro-F1 has not improved for
``n_iter_no_change`` epochs, and keeps the weights of its best validation epoch: validation is what the
grid is selected on anyway, so no test data is involved. A group stops computing when all its
configurations have stopped. Matrix products run in bf16 where the CPU has native bf16 (``precision``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from relvec.precision import autocast, resolve_precision

STOPPING = ("valid", "loss")
_CPU = torch.device("cpu")


@dataclass
class GridRun:
    """One configuration's outcome: its validation micro-F1 (None without validation data), the epochs it
    trained, its test predictions (label indices) and its kept weights (W1, b1, W2, b2 of :func:`forward`)."""

    config: dict[str, Any]
    valid_f1_micro: float | None
    epochs: int
    test_predictions: np.ndarray
    params: list[torch.Tensor]


def forward(x: torch.Tensor, params: Sequence[torch.Tensor], k: int, mask: torch.Tensor | None = None) -> torch.Tensor:
    """(n, B, K) float logits of n configurations with K classes each, laid out as in the module docstring."""
    w1, b1, w2, b2 = params
    logits = torch.relu(x @ w1 + b1) @ (w2 if mask is None else w2 * mask) + b2
    return logits.float().reshape(len(x), -1, k).transpose(0, 1)


def predict_logits(params: Sequence[torch.Tensor], x: torch.Tensor, precision: str = "fp32") -> torch.Tensor:
    """(B, K) float logits of one configuration's network (``params`` as :attr:`GridRun.params`)."""
    if len(x) == 0:
        return torch.zeros((0, len(params[3])))
    with torch.no_grad(), autocast(precision, _CPU):
        return torch.cat([forward(chunk, params, len(params[3]))[0] for chunk in x.split(4096)])


class _Group:
    """The configurations sharing one learning rate, as one network (see the module docstring)."""

    def __init__(self, members: list[int], hidden: list[int], d: int, k: int, generator: torch.Generator) -> None:
        self.members, self.hidden, self.k = members, hidden, k
        self.starts = np.cumsum([0, *hidden]).tolist()
        size, n = self.starts[-1], len(members)
        w1, b1 = torch.empty(d, size), torch.empty(size)
        w2, b2 = torch.zeros(size, n * k), torch.empty(n * k)
        self.mask = torch.zeros(size, n * k)
        for i, h in enumerate(hidden):  # Glorot uniform, bound √(6 / (fan_in + fan_out)), as sklearn
            units, logits = self.units(i), slice(i * k, (i + 1) * k)
            first, second = math.sqrt(6 / (d + h)), math.sqrt(6 / (h + k))
            w1[:, units] = _uniform((d, h), first, generator)
            b1[units] = _uniform((h,), first, generator)
            w2[units, logits] = _uniform((h, k), second, generator)
            b2[logits] = _uniform((k,), second, generator)
            self.mask[units, logits] = 1.0
        self.params = [p.requires_grad_() for p in (w1, b1, w2, b2)]

    def units(self, i: int) -> slice:
        return slice(self.starts[i], self.starts[i + 1])

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(n, B, K) logits of the group's configurations for a batch ``x`` (B, d)."""
        return forward(x, self.params, self.k, self.mask)

    def add_l2_gradient(self, alpha: float, batch: int) -> None:
        """sklearn's L2 term 0.5·α·‖W‖² / batch, as its gradient α·W / batch (weights only, not biases)."""
        for w in (self.params[0], self.params[2]):
            assert w.grad is not None
            w.grad.add_(w.detach(), alpha=alpha / batch)

    @torch.no_grad()
    def l2(self) -> torch.Tensor:
        """Per configuration, the sum of its squared weights (biases excluded, as sklearn)."""
        w1, _, w2, _ = self.params
        first = w1.pow(2).sum(dim=0)
        second = (w2 * self.mask).pow(2).sum(dim=1)
        return torch.stack([first[self.units(i)].sum() + second[self.units(i)].sum() for i in range(len(self.hidden))])

    def snapshot(self, i: int) -> list[torch.Tensor]:
        """Configuration ``i``'s own weights, as a one-configuration network's parameters."""
        w1, b1, w2, b2 = (p.detach() for p in self.params)
        units, logits = self.units(i), slice(i * self.k, (i + 1) * self.k)
        return [w1[:, units].clone(), b1[units].clone(), w2[units, logits].clone(), b2[logits].clone()]


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
        precision: str = "auto",
    ) -> None:
        if not configs:
            raise ValueError("the grid has no configuration")
        if stopping not in STOPPING:
            raise ValueError(f"stopping must be one of {STOPPING}, got {stopping!r}")
        self.configs = [dict(c) for c in configs]
        self.hidden = [_single(c["hidden_layer_sizes"]) for c in self.configs]
        self.seed, self.max_iter, self.batch_size = seed, max_iter, batch_size
        self.alpha, self.tol, self.n_iter_no_change, self.stopping = alpha, tol, n_iter_no_change, stopping
        self.precision = resolve_precision(precision, _CPU)

    def _groups(self, d: int, k: int, generator: torch.Generator) -> list[tuple[float, _Group]]:
        rates: dict[float, list[int]] = {}
        for i, config in enumerate(self.configs):
            rates.setdefault(float(config["learning_rate_init"]), []).append(i)
        return [(lr, _Group(m, [self.hidden[i] for i in m], d, k, generator)) for lr, m in rates.items()]

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
        valid = None
        if x_valid is not None and y_valid is not None:
            valid = (torch.as_tensor(x_valid, dtype=torch.float32), torch.as_tensor(y_valid, dtype=torch.long))
        k = int(max(yt.max().item(), -1 if valid is None else valid[1].max().item())) + 1
        groups = self._groups(xt.shape[1], k, generator)
        adam = _adam([{"params": g.params, "lr": lr} for lr, g in groups])
        state = _Stopping(len(self.configs), self.tol, self.n_iter_no_change)
        by_valid = valid is not None and self.stopping == "valid"
        kept: dict[int, list[torch.Tensor]] = {}  # each configuration's weights to report
        for epoch in range(1, self.max_iter + 1):
            running = [(lr, g) for lr, g in groups if state.active[g.members].any()]
            if not running:
                break
            was_active = state.active.clone()
            state.after_epoch(self._epoch(running, adam, xt, yt, generator), epoch)
            if by_valid:
                assert valid is not None
                f1 = self._valid_f1(running, *valid)
                for i in torch.nonzero(state.record_valid(f1, epoch)).flatten().tolist():
                    kept[i] = self._member_snapshot(groups, i)
            else:  # sklearn keeps the weights a configuration has when it stops
                for i in torch.nonzero(was_active & ~state.active).flatten().tolist():
                    kept[i] = self._member_snapshot(groups, i)
        for i in range(len(self.configs)):
            kept.setdefault(i, self._member_snapshot(groups, i))
        return [self._report(i, kept[i], xs, valid, state) for i in range(len(self.configs))]

    # ------------------------------------------------------------------ steps
    def _epoch(
        self,
        groups: list[tuple[float, _Group]],
        adam: torch.optim.Optimizer,
        x: torch.Tensor,
        y: torch.Tensor,
        generator: torch.Generator,
    ) -> torch.Tensor:
        """One shuffled pass of the running groups; each configuration's mean loss as sklearn reports it
        (cross-entropy + L2; NaN for configurations outside the running groups)."""
        total = torch.full((len(self.configs),), math.nan)
        members = torch.tensor([i for _, g in groups for i in g.members])
        total[members] = 0.0
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), self.batch_size):
            idx = order[start : start + self.batch_size]
            with autocast(self.precision, _CPU):
                logits = torch.cat([g.logits(x[idx]) for _, g in groups])
            targets = y[idx].expand(len(logits), -1)
            ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none").mean(dim=1)
            adam.zero_grad(set_to_none=True)
            ce.sum().backward()
            for _, g in groups:
                g.add_l2_gradient(self.alpha, len(idx))
            adam.step()
            total[members] += ce.detach() * len(idx)
        # sklearn adds 0.5·α·‖W‖² / batch to each batch's loss; over an epoch that is 0.5·α·‖W‖²·batches / N
        batches = math.ceil(len(x) / self.batch_size)
        total[members] += 0.5 * self.alpha * torch.cat([g.l2() for _, g in groups]) * batches
        return total / len(x)

    def _valid_f1(self, groups: list[tuple[float, _Group]], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Validation micro-F1 (= accuracy, single label) of every configuration; NaN outside ``groups``."""
        f1 = torch.full((len(self.configs),), math.nan)
        with torch.no_grad(), autocast(self.precision, _CPU):
            for _, g in groups:
                f1[g.members] = (g.logits(x).argmax(-1) == y).float().mean(dim=1)
        return f1

    def _member_snapshot(self, groups: list[tuple[float, _Group]], i: int) -> list[torch.Tensor]:
        for _, g in groups:
            if i in g.members:
                return g.snapshot(g.members.index(i))
        raise KeyError(i)

    def _report(
        self,
        i: int,
        params: list[torch.Tensor],
        x_test: torch.Tensor,
        valid: tuple[torch.Tensor, torch.Tensor] | None,
        state: _Stopping,
    ) -> GridRun:
        """Configuration ``i``'s validation score and test predictions from its kept weights."""

        def predict(x: torch.Tensor) -> torch.Tensor:
            return predict_logits(params, x, self.precision).argmax(-1)

        score = None
        if valid is not None:
            by_valid = self.stopping == "valid"
            score = float(state.best_valid[i] if by_valid else (predict(valid[0]) == valid[1]).float().mean())
        return GridRun(self.configs[i], score, int(state.epochs[i]), predict(x_test).numpy(), params)


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
        running = self.active & ~torch.isnan(losses)
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


def _adam(groups: list[dict[str, Any]]) -> torch.optim.Optimizer:
    """Adam as sklearn runs it (L2 is in the loss, not in the optimiser); fused where this torch has it."""
    try:
        return torch.optim.Adam(groups, betas=(0.9, 0.999), eps=1e-8, fused=True)
    except (RuntimeError, ValueError):  # pragma: no cover - older torch builds
        return torch.optim.Adam(groups, betas=(0.9, 0.999), eps=1e-8, foreach=True)


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


def _single(value: Any) -> int:
    """``hidden_layer_sizes`` as sklearn takes it: an int or a one-element sequence (one hidden layer)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 1:
            raise ValueError(f"the torch grid has one hidden layer, got hidden_layer_sizes={value!r}")
        return int(value[0])
    return int(value)
