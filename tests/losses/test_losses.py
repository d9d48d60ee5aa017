import math

import pytest
import torch

from relvec.losses import InfoLOOBLoss, NCELoss, TripletLoss, build_loss


def _unit(*rows):
    return torch.nn.functional.normalize(torch.tensor(rows, dtype=torch.float32), dim=-1)


def _batch(separation: float):
    """Two positives near (1,0) and two negatives; larger separation pushes negatives away."""
    pos = _unit([1.0, 0.1], [1.0, -0.1])
    neg = _unit([1.0 - separation, separation], [1.0 - separation, -separation])
    return pos, neg


@pytest.mark.parametrize("loss", [NCELoss(0.5), InfoLOOBLoss(0.5), TripletLoss(1.0), TripletLoss(0.2, "cosine")])
def test_better_separated_batch_has_lower_loss(loss):
    close = loss(*_batch(0.3))
    far = loss(*_batch(0.9))
    assert far < close


def test_nce_known_value_two_by_two():
    pos = _unit([1.0, 0.0], [0.0, 1.0])
    neg = _unit([1.0, 0.0], [-1.0, 0.0])
    tau = 0.5
    # p0: s(p0,p1)=0, s(p0,n)=(1,-1); p1: s(p1,p0)=0, s(p1,n)=(0,0)
    l0 = -math.log(1 / (1 + math.exp(2) + math.exp(-2)))
    l1 = -math.log(1 / (1 + 1 + 1))
    assert NCELoss(tau)(pos, neg).item() == pytest.approx((l0 + l1) / 2, rel=1e-5)
    loob0 = -math.log(1 / (math.exp(2) + math.exp(-2)))
    loob1 = -math.log(1 / 2)
    assert InfoLOOBLoss(tau)(pos, neg).item() == pytest.approx((loob0 + loob1) / 2, rel=1e-5)


def test_triplet_margin_is_added():
    pos = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    neg = torch.tensor([[0.5, 0.0], [3.0, 0.0]])
    # d(a,p)=0; d(a,n)=0.5 -> max(0, 0 - 0.5 + 1) = 0.5; d(a,n)=3 -> 0
    assert TripletLoss(margin=1.0)(pos, neg).item() == pytest.approx(0.25)


def test_permutation_invariance():
    torch.manual_seed(0)
    pos, neg = torch.randn(5, 8), torch.randn(7, 8)
    for loss in (NCELoss(0.1), InfoLOOBLoss(0.1), TripletLoss(1.0)):
        base = loss(pos, neg)
        torch.testing.assert_close(loss(pos[torch.randperm(5)], neg[torch.randperm(7)]), base)


def test_gradients_finite_including_classification_head():
    torch.manual_seed(0)
    pos = torch.randn(4, 8, requires_grad=True)
    neg = torch.randn(6, 8, requires_grad=True)
    loss_fn = TripletLoss(1.0, classification=True, embedding_dim=8)
    for loss in (NCELoss(0.05), InfoLOOBLoss(0.05), loss_fn):
        pos.grad = neg.grad = None
        loss(pos, neg).backward()
        assert torch.isfinite(pos.grad).all() and torch.isfinite(neg.grad).all()
    assert loss_fn.classifier is not None and torch.isfinite(loss_fn.classifier.weight.grad).all()
    # classification adds a positive BCE term
    assert loss_fn(pos, neg) > TripletLoss(1.0)(pos, neg)


def test_invalid_loss_arguments():
    with pytest.raises(ValueError, match="temperature"):
        NCELoss(0.0)
    with pytest.raises(ValueError, match="distance"):
        TripletLoss(distance="manhattan")
    with pytest.raises(ValueError, match="embedding_dim"):
        TripletLoss(classification=True)
    with pytest.raises(ValueError, match="unknown loss"):
        build_loss("hinge")
    with pytest.raises(ValueError, match="at least two positives"):
        NCELoss()(torch.randn(1, 4), torch.randn(3, 4))
    with pytest.raises(ValueError, match="expected"):
        NCELoss()(torch.randn(3, 4), torch.randn(3, 5))
