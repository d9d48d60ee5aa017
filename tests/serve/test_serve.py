"""relvec serve: endpoints with FastAPI's test client and a real uvicorn on 127.0.0.1 (bounded request loops),
batching equivalence, limits, auth and malformed bodies."""

import asyncio
import json
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from relvec.search import RelationIndex  # noqa: E402
from relvec.serve import Limits, create_app  # noqa: E402

from conftest import running_server  # noqa: E402

PAIRS = [["cat", "kitten"], ["dog", "puppy"], ["paris", "france"]]


def wait_until_ready(client, seconds: float = 30.0) -> dict:
    """Poll /health (bounded) until every part is ready."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        health = client.get("/health").json()
        if health["status"] != "warming":
            return health
        time.sleep(0.05)
    raise AssertionError(f"still warming after {seconds} s: {health}")


@pytest.fixture()
def client(tiny_encoder):
    index = RelationIndex.build(tiny_encoder, [("cat", "kitten"), ("car", "road"), ("tokyo", "japan")])
    client = TestClient(
        create_app(tiny_encoder, index=index, limits=Limits(max_pairs=5, max_word_chars=20), completion=False)
    )
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
    client = TestClient(create_app(tiny_encoder, limits=Limits(max_body_bytes=200), completion=False))
    for body in (b"{", b"[1, 2]", b"\xff\xfe", b"null"):
        assert client.post("/embed", content=body).status_code == 422
    assert client.post("/embed", content=b"{" + b" " * 300 + b"}").status_code == 413
    assert client.post("/embed", json={"pairs": PAIRS}).status_code == 200  # still answering


def test_an_api_key_guards_everything_but_health(tiny_encoder):
    client = TestClient(create_app(tiny_encoder, api_key="s3cret", completion=False))
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

    app = create_app(tiny_encoder, limits=Limits(max_wait_ms=200), completion=False)
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
    with (
        running_server(create_app(tiny_encoder, completion=False)) as url,
        httpx.Client(base_url=url, timeout=10) as http,
    ):
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
    keyed = TestClient(create_app(tiny_encoder, api_key="k", completion=False))
    assert keyed.get("/").status_code == 200 and keyed.get("/map").status_code == 401
    assert keyed.get("/map", headers={"Authorization": "Bearer k"}).status_code == 404  # no index


def test_complete_searches_the_vocabulary_exhaustively_with_a_static_model():
    from static_relation_toy import toy_student

    from relvec.completion import AnalogyCompleter

    model, words = toy_student()
    client = TestClient(create_app(model, vocabulary=words))
    wait_until_ready(client)
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


def test_the_explorer_icon_is_open_on_a_keyed_server(tiny_encoder):
    keyed = TestClient(create_app(tiny_encoder, api_key="k", completion=False))
    assert keyed.get("/favicon.ico").status_code == 200
    assert 'rel="icon"' in keyed.get("/").text  # the page names its icon, so a browser asks for nothing else


def test_the_map_colours_by_label_and_locates_a_query(tiny_encoder):
    pairs = [("cat", "kitten"), ("dog", "puppy"), ("paris", "france"), ("tokyo", "japan")]
    labels = ["young", "young", "capital", "capital"]
    index = RelationIndex.build(tiny_encoder, pairs, labels=labels)
    client = TestClient(create_app(tiny_encoder, index=index, completion=False))
    points = client.get("/map").json()["points"]
    assert {tuple(p["pair"]): p["label"] for p in points} == dict(zip(pairs, labels, strict=True))
    located = client.post("/map/locate", json={"pairs": [["cat", "kitten"], ["cow", "calf"]]}).json()["points"]
    first = next(p for p in points if p["pair"] == ["cat", "kitten"])  # an indexed pair lands on its own point
    assert located[0]["x"] == pytest.approx(first["x"], abs=1e-4) and located[0]["y"] == pytest.approx(
        first["y"], abs=1e-4
    )
    assert located[1]["pair"] == ["cow", "calf"]


def test_an_index_of_another_model_is_refused_by_name(tiny_encoder):
    from relvec.encoders.offset import OffsetEncoder, WordVectors

    other = OffsetEncoder(WordVectors(["cat", "kitten", "dog", "puppy"], np.eye(4, dtype=np.float32)))
    index = RelationIndex.build(other, [("cat", "kitten"), ("dog", "puppy"), ("kitten", "cat")])
    client = TestClient(create_app(tiny_encoder, index=lambda: index, completion=False))
    health = wait_until_ready(client)
    assert health["status"] == "failed" and "built with" in health["failed"]["index"]
    response = client.post("/neighbours", json={"pairs": [["cat", "kitten"]]})
    assert response.status_code == 503 and "index is unavailable" in response.json()["detail"]
    assert client.post("/embed", json={"pairs": PAIRS}).status_code == 200  # the rest keeps serving


def test_a_warming_part_answers_503_with_retry_after_never_a_hang(tiny_encoder):
    import threading

    release = threading.Event()
    index = RelationIndex.build(tiny_encoder, [("cat", "kitten"), ("car", "road"), ("tokyo", "japan")])

    def slow_index():
        assert release.wait(20)  # bounded
        return index

    client = TestClient(create_app(tiny_encoder, index=slow_index, limits=Limits(retry_after_s=3), completion=False))
    assert client.get("/health").json() == {"status": "warming", "warming": ["index"]}
    response = client.post("/neighbours", json={"pairs": [["cat", "kitten"]]})
    assert response.status_code == 503 and response.headers["retry-after"] == "3" and "warming" in response.text
    assert client.get("/info").json()["parts"] == {"index": "warming"}
    release.set()
    assert wait_until_ready(client) == {"status": "ok"}
    assert client.post("/neighbours", json={"pairs": [["cat", "kitten"]]}).status_code == 200


class SleepyEncoder:
    """Wraps a model: a pair with the word "sleepy" takes ``seconds`` (a slow model call); every call records
    whether it ran on a thread with a running event loop (it must not)."""

    def __init__(self, model, seconds):
        self.model, self.seconds, self.on_loop = model, seconds, []
        self.name_or_path, self.precision = model.name_or_path, "auto"

    @property
    def embedding_dim(self):
        return self.model.embedding_dim

    def word_vectors(self):
        return self.model.word_vectors()

    def encode(self, pairs, **kwargs):
        try:
            asyncio.get_running_loop()
            self.on_loop.append(True)
        except RuntimeError:
            self.on_loop.append(False)
        if any("sleepy" in pair for pair in pairs if isinstance(pair, (list, tuple))):
            time.sleep(self.seconds)
        return self.model.encode(pairs, **kwargs)


def test_health_and_embed_answer_while_a_slow_model_call_is_in_flight(tiny_encoder):
    import threading

    from relvec.classifier import RelationClassifier
    from relvec.data.lexical import LexicalExample

    sleepy = SleepyEncoder(tiny_encoder, seconds=4.0)
    train = [LexicalExample(h, t, r) for h, t, r in [("cat", "kitten", "young"), ("dog", "puppy", "young")] * 4]
    train += [LexicalExample(h, t, r) for h, t, r in [("paris", "france", "capital"), ("rome", "italy", "capital")] * 4]
    classifier = RelationClassifier.fit(tiny_encoder, train, None, seed=0, show_progress_bar=False)
    classifier.model = sleepy
    app = create_app(sleepy, classifier=classifier, vocabulary=["cat", "kitten", "dog", "puppy", "calf"])
    with running_server(app) as url, httpx.Client(base_url=url, timeout=20) as http:
        slow = threading.Thread(target=lambda: http.post("/classify", json={"pairs": [["sleepy", "cat"]]}))
        started = time.monotonic()
        slow.start()
        time.sleep(0.3)  # the slow call is in flight
        for _ in range(3):  # bounded
            assert http.get("/health").status_code == 200
            assert http.post("/embed", json={"pairs": PAIRS}).status_code == 200
        answered = time.monotonic() - started
        slow.join(timeout=20)
        assert answered < 3.5  # they answered while the 4 s call was still running (not after it)
        for path, payload in [
            ("/similarity", {"pair": PAIRS[0], "pairs": PAIRS[1:]}),
            ("/analogy", {"stem": PAIRS[0], "choices": PAIRS[1:]}),
            ("/classify", {"pairs": PAIRS}),
            ("/complete", {"pair": ["cat", "kitten"], "c": "dog", "k": 2}),
        ]:
            deadline = time.monotonic() + 30
            while (response := http.post(path, json=payload)).status_code == 503 and time.monotonic() < deadline:
                time.sleep(0.05)  # /complete: its vocabulary may still be warming
            assert response.status_code == 200, (path, response.text)
    assert sleepy.on_loop and not any(sleepy.on_loop)  # no model code ran on the event loop


@pytest.mark.parametrize(
    ("field", "value"), [("max_pairs", 0), ("max_queue", -1), ("workers", 1.5), ("max_wait_ms", -1)]
)
def test_limits_are_checked_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"Limits.{field}"):
        Limits(**{field: value})
    assert Limits.from_dict(Limits(max_pairs=3).to_dict()) == Limits(max_pairs=3)
    with pytest.raises(ValueError, match="unknown"):
        Limits.from_dict({"max_paris": 3})


def test_like_searches_the_index_with_the_prototype_of_several_pairs(tiny_encoder):
    from relvec.search import prototype_query

    pairs = [("cat", "kitten"), ("dog", "puppy"), ("paris", "france"), ("tokyo", "japan"), ("car", "road")]
    index = RelationIndex.build(tiny_encoder, pairs)
    client = TestClient(create_app(tiny_encoder, index=index, completion=False))
    body = {"pairs": [["cow", "calf"], ["sheep", "lamb"]], "negatives": [["rome", "italy"]], "k": 3}
    found = client.post("/like", json=body).json()["neighbours"]
    vectors = tiny_encoder.encode([("cow", "calf"), ("sheep", "lamb"), ("rome", "italy")], normalize=True)
    expected = index.search(prototype_query(vectors[:2], vectors[2:], 0.5), k=3)[0]
    assert [tuple(n["pair"]) for n in found] == [n.pair for n in expected]
    assert client.post("/like", json={"pairs": [["cow", "calf"]], "negative_weight": -1}).status_code == 422
