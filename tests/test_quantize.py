"""Quantised storage: int8 and binary codes, and exact rescoring of a shortlist."""

import numpy as np

from relvec.quantize import BinaryCodes, Int8Codes, search_with_rescoring


def unit_rows(n=200, d=32, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_int8_codes_round_trip_closely_and_keep_the_exact_top_1():
    x = unit_rows()
    codes = Int8Codes.encode(x)
    assert codes.codes.dtype == np.int8 and codes.codes.nbytes * 4 == x.nbytes
    np.testing.assert_allclose(codes.decode(), x, atol=float(codes.scales.max()) / 2 + 1e-7)
    again = Int8Codes(codes.codes.copy(), codes.scales.copy())  # stored and read back
    for q in range(20):
        query = x[q] + 0.05 * unit_rows(1, 32, seed=q + 1)[0]
        assert int(np.argmax(again.scores(query))) == int(np.argmax(x @ query))


def test_binary_codes_with_rescoring_return_the_exact_top_k():
    centres = unit_rows(20, 256, seed=1)  # relation vectors come in clusters (relations), not uniformly
    x = centres.repeat(25, axis=0) + 0.08 * np.random.default_rng(2).normal(size=(500, 256)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    codes = BinaryCodes.encode(x)
    assert codes.bits.shape == (500, 32) and codes.bits.dtype == np.uint8
    assert codes.scores(x[3])[3] == 1.0  # a vector agrees with itself on every bit
    for q in range(10):
        exact = x @ x[q]
        rows, scores = search_with_rescoring(codes.scores(x[q]), 5, 200, lambda r, q=q: x[r] @ x[q])
        assert rows.tolist() == np.argsort(-exact, kind="stable")[:5].tolist()
        np.testing.assert_allclose(scores, np.sort(exact)[::-1][:5], atol=1e-6)
    coarse_rows, _ = search_with_rescoring(codes.scores(x[0]), 5, 200)  # without rescoring: the coarse top k
    assert coarse_rows[0] == 0
