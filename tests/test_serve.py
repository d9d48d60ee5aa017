"""relvec serve: endpoints with FastAPI's test client and a real uvicorn on 127.0.0.1 (bounded request loops),
batching equivalence, limits, auth and malformed bodies."""

import asyncio
import json

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from relvec.search import RelationIndex  # noqa: E402
from relvec.serve import Limits, create_app  # noqa: E402

from conftest import running_server  # noqa: E402

PAIRS = [["cat", "kitten"], ["dog", "puppy"], ["paris", "france"]]


@pytest.fixture()
def client(tiny_encoder):
    index = RelationIndex.build(tiny_encoder, [("cat", "kitten"), ("car", "road"), ("tokyo", "japan")])
    client = TestClient(create_app(tiny_encoder, index=index, limits=Limits(max_pairs=5, max_word_chars=20)))
    client.app_index = index
    return client


def test_embed_gives_the_vectors_encode_gives(client, tiny_encoder):
    response = client.post("/embed", json={"pairs": PAIRS})
    assert response.status_code == 200
    got = np.asarray(response.json()["embeddings"])
    np.testing.assert_allclose(got, tiny_encoder.encode([tuple(p) for p in PAIRS], normalize=True), atol=1e-5)


def test_similarity_analogy_neighbours_info_health_metrics(client, tiny_encoder):
    scores = client.post("/similarity", json={"pair": PAIRS[0], "pairs": PAIRS[1:]}).json()["scores"]
    v = tiny_encoder.encode([tuple(p) for p in PAIRS], normalize=True)
    np.testing.assert_allclose(scores, v[1:] @ v[0], atol=1e-5)
    answer = client.post("/analogy", json={"stem": PAIRS[0], "choices": PAIRS[1:]}).json()
    assert answer["answer"] == int(np.argmax(v[1:] @ v[0]))
    found = client.post("/neighbours", json={"pairs": [["cat", "kitten"]], "k": 2}).json()["neighbours"]
    expected = [list(n.pair) for n in client.app_index.query(tiny_encoder, [("cat", "kitten")], k=2)[0]]
    assert [n["pair"] for n in found[0]] == expected
    info = client.get("/info").json()
    assert info["embedding_dim"] == 32 and info["index"] == 3
    assert client.get("/health").json() == {"status": "ok"}
    assert client.post("/classify", json={"pairs": PAIRS}).status_code == 404  # no classifier given
    text = client.get("/metrics").text
    assert 'relvec_requests_total{path="/embed"' not in text or "code" in text
    assert "relvec_batches_total" in text and 'path="/similarity",code="200"' in text


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        ({"pairs": [["cat", ""]]}, 422, "pair 0"),
        ({"pairs": [["cat", "dog"], ["a", 3]]}, 422, "pair 1"),
        ({"pairs": []}, 422, "non-empty"),
        ({"nope": 1}, 422, "pairs"),
        ({"pairs": [["a", "b"]] * 6}, 413, "limit of 5"),
        ({"pairs": [["a", "b" * 21]]}, 413, "longer than 20"),
    ],
)
def test_bad_requests_are_refused_with_their_item_named(client, payload, status, words):
    response = client.post("/embed", json=payload)
    assert response.status_code == status and words in response.json()["detail"]


def test_malformed_and_oversized_bodies_never_crash_the_worker(tiny_encoder):
    client = TestClient(create_app(tiny_encoder, limits=Limits(max_body_bytes=200)))
    for body in (b"{", b"[1, 2]", b"\xff\xfe", b"null"):
        assert client.post("/embed", content=body).status_code == 422
    assert client.post("/embed", content=b"{" + b" " * 300 + b"}").status_code == 413
    assert client.post("/embed", json={"pairs": PAIRS}).status_code == 200  # still answering


def test_an_api_key_guards_everything_but_health(tiny_encoder):
    client = TestClient(create_app(tiny_encoder, api_key="s3cret"))
    assert client.get("/health").status_code == 200
    assert client.get("/info").status_code == 401
    assert client.post("/embed", json={"pairs": PAIRS}).status_code == 401
    headers = {"Authorization": "Bearer s3cret"}
    assert client.post("/embed", json={"pairs": PAIRS}, headers=headers).status_code == 200


def test_concurrent_requests_share_a_model_call_and_get_their_own_vectors(tiny_encoder):
    calls = []
    original = tiny_encoder.encode

    def counting(pairs, **kwargs):
        calls.append(len(pairs))
        return original(pairs, **kwargs)

    app = create_app(tiny_encoder, limits=Limits(max_wait_ms=200))
    tiny_encoder.encode = counting

    async def run():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.post("/embed", json={"pairs": [p]}) for p in PAIRS))

    responses = asyncio.run(run())
    tiny_encoder.encode = original
    alone = original([tuple(p) for p in PAIRS], normalize=True)
    for response, expected in zip(responses, alone, strict=True):
        np.testing.assert_allclose(response.json()["embeddings"][0], expected, atol=1e-5)
    assert calls == [3]  # the three requests were embedded in one model call


def test_a_real_server_on_localhost_answers_a_bounded_loop(tiny_encoder):
    with running_server(create_app(tiny_encoder)) as url, httpx.Client(base_url=url, timeout=10) as http:
        for _ in range(10):  # bounded in count and time
            assert http.post("/embed", json={"pairs": PAIRS}).status_code == 200
        assert http.post("/embed", content=b"not json").status_code == 422
        assert json.loads(http.get("/health").text) == {"status": "ok"}


def test_the_explorer_page_and_the_map(client, tiny_encoder):
    page = client.get("/")
    assert page.status_code == 200 and "relvec explorer" in page.text
    assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from elsewhere
    points = client.get("/map").json()["points"]
    assert sorted(tuple(p["pair"]) for p in points) == sorted(client.app_index.pairs)
    assert all(isinstance(p["x"], float) and isinstance(p["y"], float) for p in points)
    keyed = TestClient(create_app(tiny_encoder, api_key="k"))
    assert keyed.get("/").status_code == 200 and keyed.get("/map").status_code == 401
    assert keyed.get("/map", headers={"Authorization": "Bearer k"}).status_code == 404  # no index


def test_complete_searches_the_vocabulary_exhaustively_with_a_static_model():
    from test_static_relation_toy import toy_student

    from relvec.completion import AnalogyCompleter

    model, words = toy_student()
    client = TestClient(create_app(model, vocabulary=words))
    found = client.post("/complete", json={"pair": ["w1", "w2"], "c": "w3", "k": 3}).json()["completions"]
    expected = AnalogyCompleter(model, words, exhaustive=True).complete(("w1", "w2"), "w3", k=3)
    assert [x["word"] for x in found] == [x.word for x in expected]
    assert client.post("/complete", json={"pair": ["w1", "w2"], "c": "", "k": 3}).status_code == 422


def test_embed_in_base64_is_the_same_vectors(client, tiny_encoder):
    import base64

    rows = client.post("/embed", json={"pairs": PAIRS, "encoding_format": "base64"}).json()["embeddings"]
    got = np.stack([np.frombuffer(base64.b64decode(r), dtype="<f4") for r in rows])
    np.testing.assert_allclose(got, tiny_encoder.encode([tuple(p) for p in PAIRS], normalize=True), atol=1e-5)
    bad = client.post("/embed", json={"pairs": PAIRS, "encoding_format": "hex"})
    assert bad.status_code == 422 and "encoding_format" in bad.json()["detail"]
