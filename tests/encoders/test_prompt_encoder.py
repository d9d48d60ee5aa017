import json
import warnings

import numpy as np
import pytest
import torch
from transformers import AutoModel

import relvec.config as config_module
from relvec import RelationEncoder, RelvecConfig
from relvec.config import CONFIG_NAME
from relvec.precision import resolve_precision
from relvec.prompts import TEMPLATES

PAIRS = [
    ("camera", "photographer"),
    ("a", "b"),
    ("an extraordinarily long multiword term", "x"),
    ("tokyo", "japan"),
    ("1", "2"),
    ("same", "same"),
]


def _hidden(encoder: RelationEncoder, pair):
    feats = encoder.tokenize([pair])[0]
    ids = torch.tensor([feats.input_ids])
    with torch.no_grad():
        hidden = encoder.backbone(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0]
    return feats, hidden.numpy()


@pytest.mark.parametrize("mode", ["mask", "average", "average_no_mask"])
def test_pooling_matches_hand_computation(tiny_dir, mode):
    encoder = RelationEncoder.from_pretrained(tiny_dir, pooling=mode, device="cpu")
    pair = ("camera", "photographer")
    feats, hidden = _hidden(encoder, pair)
    mask_pos = feats.input_ids.index(encoder.tokenizer.mask_token_id)
    if mode == "mask":
        expected = hidden[mask_pos]
    elif mode == "average":
        expected = hidden.sum(0) / len(hidden)
    else:
        expected = (hidden.sum(0) - hidden[mask_pos]) / (len(hidden) - 1)
    # Encode inside a padded batch so padding must be excluded from the means.
    out = encoder.encode([pair, PAIRS[2]], precision="fp32")[0]
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_order_restored_and_batch_size_invariant(tiny_encoder):
    together = tiny_encoder.encode(PAIRS, batch_size=2, precision="fp32")
    one_by_one = np.stack([tiny_encoder.encode(p, precision="fp32") for p in PAIRS])
    big = tiny_encoder.encode(PAIRS, batch_size=64, precision="fp32")
    bs1 = tiny_encoder.encode(PAIRS, batch_size=1, precision="fp32")
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(big, bs1, atol=1e-5)
    assert not np.allclose(together[0], together[1])


def test_encode_shapes_and_types(tiny_encoder):
    single = tiny_encoder.encode(("tokyo", "japan"))
    assert single.shape == (32,) and single.dtype == np.float32
    many = tiny_encoder.encode([["tokyo", "japan"], ("paris", "france")])
    assert many.shape == (2, 32) and many.dtype == np.float32
    tensor = tiny_encoder.encode(PAIRS, convert_to_tensor=True, normalize=True)
    assert isinstance(tensor, torch.Tensor)
    torch.testing.assert_close(tensor.norm(dim=1), torch.ones(len(PAIRS)))
    assert tiny_encoder.encode([]).shape == (0, 32)


def test_encode_keeps_training_mode(tiny_encoder):
    tiny_encoder.train()
    tiny_encoder.encode(PAIRS)
    assert tiny_encoder.training
    a, b = tiny_encoder.encode(PAIRS), tiny_encoder.encode(PAIRS)
    np.testing.assert_array_equal(a, b)  # dropout off while encoding


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ([("a", "b"), ("c",)], "pair 1"),
        ([("a", "b"), ("c", "d", "e")], "pair 1"),
        ([("a", "  ")], r"pair 0 \('a', '  '\): word '  ' is empty"),
        ([("a", "b"), (3, "d")], r"pair 1 \(3, 'd'\): word 3 is a int, not a string"),
        ([("a", "b"), "cd"], "pair 1"),
        ("ab", "pairs must be"),
        (None, "pairs must be"),
    ],
)
def test_invalid_input_names_item(tiny_encoder, bad, match):
    with pytest.raises(ValueError, match=match):
        tiny_encoder.encode(bad)


def test_odd_but_valid_inputs(tiny_encoder):
    odd = [("2", "4"), ("dog", "dog"), ("Tōkyō", "日本"), ("new york", "usa"), ("[MASK]", "x"), ("<obj>", "<subj>")]
    out = tiny_encoder.encode(odd)
    assert out.shape == (len(odd), 32) and np.isfinite(out).all()


def test_mask_pooling_with_mask_token_in_word(tiny_dir):
    encoder = RelationEncoder.from_pretrained(tiny_dir, pooling="mask", device="cpu")
    feats = encoder.tokenize([("[MASK]", "x")])[0]
    # The template's own mask is the second mask token: the word's comes first.
    positions = [i for i, t in enumerate(feats.input_ids) if t == encoder.tokenizer.mask_token_id]
    assert len(positions) == 2 and feats.mask_index == positions[1]


def test_truncation_warns_once_and_mask_cut_is_an_error(tiny_dir):
    encoder = RelationEncoder.from_pretrained(tiny_dir, max_length=40, device="cpu")
    long_pair = ("a" * 30, "b" * 30)
    with pytest.warns(UserWarning, match="truncated"):
        encoder.encode([long_pair, long_pair])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encoder.encode([long_pair])
    masked = RelationEncoder.from_pretrained(tiny_dir, max_length=30, pooling="mask", device="cpu")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="pair 1"):
        masked.encode([("a", "b"), long_pair])


def test_mask_pooling_needs_mask_in_template(tiny_dir):
    with pytest.raises(ValueError, match="mask"):
        RelationEncoder.from_pretrained(tiny_dir, template="<subj> and <obj>", pooling="mask", device="cpu")


@pytest.mark.filterwarnings("ignore:prompt for")
def test_save_load_round_trip(tiny_encoder, tmp_path):
    tiny_encoder.config.template = TEMPLATES["a"]
    before = tiny_encoder.encode(PAIRS)
    tiny_encoder.save_pretrained(tmp_path / "m", training={"epochs": 1})
    loaded = RelationEncoder.from_pretrained(tmp_path / "m", device="cpu")
    np.testing.assert_array_equal(loaded.encode(PAIRS), before)
    assert loaded.config.to_dict() == tiny_encoder.config.to_dict()
    assert loaded.config.training == {"epochs": 1} and loaded.config.relvec_version
    saved = json.loads((tmp_path / "m" / CONFIG_NAME).read_text())
    assert saved["format_version"] == config_module.FORMAT_VERSION and saved["pooling"] == "average_no_mask"
    assert (tmp_path / "m" / "model.safetensors").exists()
    assert AutoModel.from_pretrained(tmp_path / "m").config.hidden_size == 32


def test_unknown_format_version_is_a_clear_error(tiny_encoder, tmp_path):
    tiny_encoder.save_pretrained(tmp_path)
    path = tmp_path / CONFIG_NAME
    data = json.loads(path.read_text())
    data["format_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="newer relvec"):
        RelationEncoder.from_pretrained(tmp_path)


def test_old_format_versions_are_migrated(monkeypatch):
    # Simulate a future format 2 that renamed "pooling" to "aggregation".
    def upgrade(data):
        data = dict(data)
        data["aggregation"] = data.pop("pooling")
        return data

    monkeypatch.setattr(config_module, "FORMAT_VERSION", 2)
    monkeypatch.setitem(config_module._MIGRATIONS, 1, upgrade)
    migrated = config_module.migrate({"format_version": 1, "pooling": "mask"})
    assert migrated == {"format_version": 2, "aggregation": "mask"}


def test_config_validation_and_unknown_keys_round_trip():
    with pytest.raises(ValueError, match="pooling"):
        RelvecConfig(pooling="sum")
    with pytest.raises(ValueError, match="max_length"):
        RelvecConfig(max_length=2)
    cfg = RelvecConfig.from_dict({"format_version": 1, "pooling": "mask", "future_key": 1})
    assert cfg.extra == {"future_key": 1} and cfg.to_dict()["future_key"] == 1


def test_loads_reference_relbert_checkpoint_settings(tiny_dir, tmp_path):
    model = AutoModel.from_pretrained(tiny_dir)
    model.config.relbert_config = {"template": TEMPLATES["a"], "aggregation_mode": "mask", "max_length": 48}
    model.save_pretrained(tmp_path)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (tiny_dir / name).exists():
            (tmp_path / name).write_bytes((tiny_dir / name).read_bytes())
    encoder = RelationEncoder.from_pretrained(tmp_path, device="cpu")
    assert encoder.pooling == "mask" and encoder.template == TEMPLATES["a"] and encoder.max_length == 48


@pytest.mark.parametrize("pooling", ["mask", "average", "average_no_mask"])
def test_sentence_transformers_reproduces_relvecs_own_vector(tiny_dir, tmp_path, pooling):
    st = pytest.importorskip("sentence_transformers")
    encoder = RelationEncoder.from_pretrained(tiny_dir, pooling=pooling, device="cpu")
    encoder.save_pretrained(tmp_path)
    modules = json.loads((tmp_path / "modules.json").read_text())
    assert modules[1]["type"] == "relvec.st_pooling.RelvecPooling"  # relvec's installed class, no folder code
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # ST's note on classes outside its namespace
        st_model = st.SentenceTransformer(str(tmp_path), device="cpu")
    ours = encoder.encode(PAIRS, precision="fp32")
    theirs = st_model.encode(encoder.prompts(PAIRS), convert_to_numpy=True, batch_size=2)
    np.testing.assert_allclose(theirs, ours, atol=1e-5)
    assert st_model.get_embedding_dimension() == encoder.embedding_dim


def test_precision_resolution(monkeypatch, tiny_encoder):
    import relvec.precision as precision

    cpu = torch.device("cpu")
    monkeypatch.delenv(precision.PRECISION_ENV, raising=False)
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: False)
    assert resolve_precision("auto", cpu) == "fp32"
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: True)
    assert resolve_precision("auto", cpu) == "bf16"
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("fp8", cpu)
    # $RELVEC_PRECISION overrides the hardware's choice, and only for "auto"
    monkeypatch.setenv(precision.PRECISION_ENV, "fp32")
    assert resolve_precision("auto", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    monkeypatch.setattr(precision, "cpu_has_fast_bf16", lambda: False)
    monkeypatch.setenv(precision.PRECISION_ENV, "bf16")
    assert resolve_precision("auto", cpu) == "bf16" and resolve_precision("fp32", cpu) == "fp32"
    monkeypatch.setenv(precision.PRECISION_ENV, "fp16")
    with pytest.raises(ValueError, match="RELVEC_PRECISION"):
        resolve_precision("auto", cpu)
    fp32 = tiny_encoder.encode(PAIRS, precision="fp32")
    bf16 = tiny_encoder.encode(PAIRS, precision="bf16")
    assert bf16.dtype == np.float32
    cos = (fp32 * bf16).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(bf16, axis=1)
    assert cos.min() > 0.99


def test_encode_rejects_bad_batch_size(tiny_encoder):
    with pytest.raises(ValueError, match="batch_size"):
        tiny_encoder.encode(PAIRS, batch_size=0)


def test_missing_local_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        RelationEncoder.from_pretrained(str(tmp_path / "nope"))


def test_repeated_pairs_are_encoded_once(tiny_encoder, monkeypatch):
    pairs = [("cat", "animal"), ("wheel", "car"), ("cat", "animal"), ("animal", "cat"), ("wheel", "car")]
    seen: list[int] = []
    forward = type(tiny_encoder).forward

    def counting(self, batch, *args, **kwargs):
        seen.append(len(batch["input_ids"]))
        return forward(self, batch, *args, **kwargs)

    monkeypatch.setattr(type(tiny_encoder), "forward", counting)
    out = tiny_encoder.encode(pairs, batch_size=2, precision="fp32")
    assert sum(seen) == 3  # three distinct ordered pairs
    single = np.stack([tiny_encoder.encode(p, precision="fp32") for p in pairs])
    np.testing.assert_allclose(out, single, atol=1e-5)
    assert np.array_equal(out[0], out[2]) and not np.allclose(out[0], out[3])


def test_bf16_weights_are_used_for_large_calls_and_restored(tiny_encoder, monkeypatch):
    import relvec.encoders.prompt as prompt_module

    pairs = [(f"w{i}", f"v{i % 7}") for i in range(40)]
    before = {k: v.clone() for k, v in tiny_encoder.state_dict().items()}
    dtypes: list[torch.dtype] = []
    forward = type(tiny_encoder).forward

    def spying(self, batch, *args, **kwargs):
        dtypes.append(next(self.backbone.parameters()).dtype)
        return forward(self, batch, *args, **kwargs)

    monkeypatch.setattr(type(tiny_encoder), "forward", spying)
    fp32 = tiny_encoder.encode(pairs, precision="fp32")
    small = tiny_encoder.encode(pairs, precision="bf16")  # under the threshold: autocast, fp32 weights
    monkeypatch.setattr(prompt_module, "_BF16_WEIGHTS_MIN_PAIRS", 10)
    large = tiny_encoder.encode(pairs, batch_size=8, precision="bf16")
    assert set(dtypes[: len(dtypes) - 5]) == {torch.float32} and set(dtypes[-5:]) == {torch.bfloat16}
    for out in (small, large):
        assert out.dtype == np.float32
        cos = (fp32 * out).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(out, axis=1)
        assert cos.min() > 0.99
    after = tiny_encoder.state_dict()
    assert all(after[k].dtype == v.dtype and torch.equal(after[k], v) for k, v in before.items())


def test_bf16_weight_swaps_from_two_threads_leave_fp32_weights():
    import threading
    import time

    from relvec.precision import bf16_weights

    module = torch.nn.Linear(8, 8)
    before = module.weight.detach().clone()
    inside, first_done = threading.Event(), threading.Event()

    def first() -> None:
        with bf16_weights(module):
            inside.set()
            time.sleep(0.2)  # the second thread tries to swap meanwhile
        first_done.set()

    def second() -> None:
        inside.wait(5)
        with bf16_weights(module):  # with the lock: only after the first swap has ended
            first_done.wait(5)  # without it, this swap would outlive the first and restore its bf16 copies

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert module.weight.dtype == torch.float32 and torch.equal(module.weight.detach(), before)
