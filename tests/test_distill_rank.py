"""The completion objective of a distillation: a pair's own tail ranked above the vocabulary."""

import numpy as np
import pytest
import torch

from relvec.distill import DistillArguments, distill
from relvec.distill_rank import partner_rows, relation_classes, tail_ranking_loss
from relvec.encoders.pair_network import PairNetwork

from conftest import tiny_distill_arguments

N = 30  # table words; the relation of (w_i, w_{i+1}) is one of three, by i mod 3


def toy():
    torch.manual_seed(0)
    table = torch.nn.functional.normalize(torch.randn(N, 8), dim=1)
    relations = torch.nn.functional.normalize(torch.randn(3, 6), dim=1)
    heads = torch.arange(0, N - 1)
    tails = heads + 1
    return table, heads, tails, relations[heads % 3]


def own_tail_rank(network, table, heads, tails, targets):
    """Rank of each pair's own tail among every table word by cos(t, f(c, d')) (0: first)."""
    with torch.no_grad():
        a, _, u, _ = network.word_parts(table[heads])
        _, b, _, v = network.word_parts(table)
        out = network.hidden_of(a[:, None], b[None], u[:, None], v[None]) @ network.w2.T + network.b2
        scores = torch.nn.functional.cosine_similarity(out, targets[:, None], dim=-1)
    own = scores[torch.arange(len(heads)), tails]
    return (scores > own[:, None]).sum(dim=1)


def test_the_loss_teaches_the_student_to_find_the_tail():
    table, heads, tails, targets = toy()
    network = PairNetwork(dim=8, hidden=64, rank=8, out_dim=6)
    optimiser = torch.optim.Adam(network.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    before = own_tail_rank(network, table, heads, tails, targets).float().mean()
    for _ in range(150):
        loss = tail_ranking_loss(network, table, heads, tails, targets, generator, negatives=16, temperature=0.1)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    ranks = own_tail_rank(network, table, heads, tails, targets)
    assert ranks.float().mean() < 0.25 * before and (ranks == 0).float().mean() > 0.6


def test_a_candidate_equal_to_the_own_tail_is_not_a_negative():
    table, heads, tails, targets = toy()
    network = PairNetwork(dim=8, hidden=16, rank=4, out_dim=6)
    same_tail = torch.tensor([1, 1, 1])  # three heads whose tail is the same word: no pair competes with itself
    loss = tail_ranking_loss(
        network, table, torch.tensor([0, 2, 3]), same_tail, targets[:3], torch.Generator(), negatives=0
    )
    assert float(loss.detach()) == pytest.approx(0.0, abs=1e-6)  # each row has one finite candidate: its own tail
    empty = tail_ranking_loss(network, table, heads[:0], tails[:0], targets[:0], torch.Generator(), negatives=4)
    assert float(empty) == 0.0


def test_distill_with_the_completion_loss_and_regularisers(tiny_encoder, suite_data, tmp_path):
    args = tiny_distill_arguments(
        suite_data, tmp_path / "static", rank_weight=0.5, rank_pairs=8, rank_negatives=8, dropout=0.2, weight_decay=0.1
    )
    vocabulary = "cat kitten dog puppy sun planet animal part thing car road paris france tokyo japan".split()  # noqa: SIM905
    model = distill(args, teacher=tiny_encoder, vocabulary=vocabulary)
    assert model.info["arguments"]["rank_weight"] == 0.5 and model.info["arguments"]["dropout"] == 0.2
    assert np.isfinite(model.encode([("cat", "kitten")])).all()
    card = (tmp_path / "static" / "README.md").read_text(encoding="utf-8")
    assert "0.5 × the completion loss" in card and "weight decay 0.1, dropout 0.2" in card
    for field, value in (("rank_weight", -1), ("dropout", 1.0), ("weight_decay", -0.1), ("wordnet_min_count", -1)):
        with pytest.raises(ValueError, match=field):
            DistillArguments(**{field: value})


def test_dropout_acts_in_training_only():
    network = PairNetwork(dim=8, hidden=64, rank=4, out_dim=6)
    network.dropout = 0.5
    x, y = torch.randn(4, 8), torch.randn(4, 8)
    network.eval()
    assert torch.equal(network(x, y), network(x, y))
    network.train()
    assert not torch.equal(network(x, y), network(x, y))


def test_partners_share_a_class_and_are_other_rows():
    classes = torch.tensor([0, 1, -1, 0, 2, 1, 0, 3, -1, 1])
    for seed in range(5):
        rows, partners = partner_rows(classes, torch.Generator().manual_seed(seed))
        assert sorted(rows.tolist()) == [0, 1, 3, 5, 6, 9]  # classes 2 and 3 have one row each; -1 has no class
        assert (classes[rows] == classes[partners]).all() and (rows != partners).all()
    assert partner_rows(torch.tensor([-1, 4]), torch.Generator())[0].numel() == 0


def test_the_partner_loss_teaches_completion_from_another_pairs_relation():
    # three relations: (w_i, w_{i+1}) has relation i mod 3; the query of a pair is another pair's teacher vector
    table, heads, tails, targets = toy()
    classes = heads % 3
    network = PairNetwork(dim=8, hidden=64, rank=8, out_dim=6)
    optimiser = torch.optim.Adam(network.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    before = own_tail_rank(network, table, heads, tails, targets).float().mean()
    for _ in range(150):
        rows, partners = partner_rows(classes, generator)
        loss = tail_ranking_loss(
            network, table, heads[rows], tails[rows], targets[partners], generator, negatives=16, temperature=0.1
        )
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert own_tail_rank(network, table, heads, tails, targets).float().mean() < 0.25 * before


def test_relation_classes_come_from_train_and_valid_only(suite_data):
    classes = relation_classes(str(suite_data), reverse=True)
    assert classes[("hyper0train", "animal0")] == "lexical:BLESS:hyper"
    assert classes[("animal0", "hyper0train")] == "lexical:BLESS:hyper~reversed"
    assert not any("test" in a or "test" in b for a, b in classes)  # no test-split pair has a class
    assert not any(name.endswith(":random") for name in classes.values())  # "no relation" is not a class
    assert any(name.startswith("semeval:") for name in classes.values())


def test_distill_with_the_partner_completion_loss(tiny_encoder, suite_data, tmp_path):
    args = tiny_distill_arguments(
        suite_data, tmp_path / "static", rank_weight=0.5, rank_pairs=8, rank_negatives=8, rank_query="partner"
    )
    vocabulary = "cat kitten dog puppy sun planet animal part thing car road paris france tokyo japan".split()  # noqa: SIM905
    model = distill(args, teacher=tiny_encoder, vocabulary=vocabulary)
    assert model.info["arguments"]["rank_query"] == "partner" and np.isfinite(model.encode([("cat", "dog")])).all()
    assert "another pair's of its relation class" in (tmp_path / "static" / "README.md").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="rank_query"):
        DistillArguments(rank_query="theirs")
