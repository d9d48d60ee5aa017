"""The layout of a relation vector, shared by the hybrid and the static relation model; the old import paths."""

import math

import numpy as np
import pytest
import torch

from relvec.encoders.layout import Layout, mixing_factors


def test_parts_and_factors_make_a_unit_vector():
    layout = Layout(prompt_dim=3, offset_dim=2, bidirectional=True, weight=2.0)
    assert layout.dim == 8 and layout.prompt_width == 6
    a, b = mixing_factors(2.0)
    parts = layout.parts()
    assert list(parts) == ["forward", "reversed", "offset"]
    assert parts["forward"][1] == pytest.approx(a / math.sqrt(2)) and parts["offset"][1] == pytest.approx(b)
    out = torch.zeros((4, layout.dim))
    rng = torch.Generator().manual_seed(0)
    for name, (columns, _) in parts.items():
        layout.write(out, name, torch.randn(4, columns.stop - columns.start, generator=rng))
    np.testing.assert_allclose(out.norm(dim=1).numpy(), 1.0, atol=1e-6)
    # cos(q, emb) = Σ factor · <q part, unit part>
    q = out[0]
    split = layout.split(q)
    total = sum(f * float(part @ (out[1, parts[n][0]] / parts[n][1])) for n, (f, part) in split.items())
    assert total == pytest.approx(float(q @ out[1]), abs=1e-6)


def test_a_zero_part_stays_zero_and_bad_layouts_are_refused():
    layout = Layout(prompt_dim=2)
    out = torch.ones((1, 2))
    layout.write(out, "forward", torch.zeros((1, 2)))
    assert out.abs().sum() == 0
    assert list(layout.parts()) == ["forward"] and layout.factors() == (1.0, 0.0)
    with pytest.raises(ValueError, match="weight"):
        Layout(prompt_dim=2, offset_dim=2, weight=-1.0)
    with pytest.raises(ValueError, match="positive"):
        Layout(prompt_dim=2, offset_dim=0, weight=1.0)
    with pytest.raises(ValueError, match="dimensions"):
        layout.split(torch.zeros(3))


def test_the_old_import_paths_still_work():
    from relvec.encoders.offset import OffsetEncoder, read_offset_config
    from relvec.encoders.static import StaticOffsetEncoder, WordVectors, read_static_config

    assert StaticOffsetEncoder is OffsetEncoder and read_static_config is read_offset_config
    import relvec

    assert relvec.StaticOffsetEncoder is OffsetEncoder and relvec.OffsetEncoder is OffsetEncoder
    vectors = WordVectors(["a", "b"], np.eye(2, dtype=np.float32))
    from relvec.encoders.hybrid import HybridEncoder

    hybrid = HybridEncoder(OffsetEncoder(vectors), OffsetEncoder(vectors), 1.0)
    assert hybrid.static is hybrid.offset  # the offset part under its earlier name


def test_loading_imports_no_model_kind_until_asked():
    import subprocess
    import sys

    code = (
        "import sys; import relvec.loading; "
        "kinds = ('transformers', 'relvec.encoders.prompt', 'relvec.encoders.hybrid', "
        "'relvec.encoders.static_relation', 'relvec.encoders.offset'); "
        "print(sorted(k for k in kinds if k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
