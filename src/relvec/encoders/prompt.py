"""The relation encoder: prompt a pair, run the backbone, pool, and save/load self-describing folders."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from relvec.backbones import DEFAULT_BACKBONE, canonical_name, load_backbone, load_tokenizer, local_path
from relvec.cards import write_card
from relvec.config import CONFIG_NAME, RelvecConfig
from relvec.encoders.base import Pair, validate_pairs
from relvec.encoders.card_text import relation_encoder_card
from relvec.encoders.exported import ExportedGraph, check_backend, export_file, exported_only, read_export_config
from relvec.encoders.prompt_config import (
    check_max_length,
    check_tokenizer_files,
    check_trigger_ids,
    config_from_relbert,
    load_saved_config,
    special_layout,
)
from relvec.encoders.ptuning import PROMPT_ENCODER_FILE, PromptEncoder, load_prompt_encoder
from relvec.encoders.word_vectors import EncoderWordVectors
from relvec.files import save_into, short_repr, write_json
from relvec.pooling import pool
from relvec.precision import autocast, bf16_weights, resolve_precision
from relvec.prompts import MASK, SUBJ, PromptShape, fill, resolve_template
from relvec.version import __version__

__all__ = ["PROMPT_ENCODER_FILE", "PromptEncoder", "PromptFeatures", "RelationEncoder"]
_PROGRESS_MIN_BATCHES = 16
# From this many pairs on, bf16 encoding casts the weights once instead of autocasting every layer's input
# (casting MPNet's weights costs ~0.1 s, so small calls keep autocast).
_BF16_WEIGHTS_MIN_PAIRS = 256
ST_POOLING_TYPE = "relvec.st_pooling.RelvecPooling"  # see relvec.st_pooling (needs sentence-transformers)


@dataclass(frozen=True)
class PromptFeatures:
    """One tokenized prompt: token ids, the position of the template's mask token (-1 if none) and,
    for a learned prompt, the positions of its trigger slots in slot order."""

    input_ids: list[int]
    mask_index: int
    trigger_positions: tuple[int, ...] = ()


class RelationEncoder(nn.Module):
    """Encode word pairs into relation embeddings with a prompted transformer (RelBERT).

    With ``graph`` (an ONNX / OpenVINO export, see :mod:`relvec.encoders.exported`) in place of ``backbone``,
    the graph computes the pooled vectors and relvec keeps the templates and tokenisation.
    """

    def __init__(
        self,
        backbone: PreTrainedModel | None,
        tokenizer: PreTrainedTokenizerBase,
        config: RelvecConfig | None = None,
        device: str | torch.device | None = None,
        prompt_encoder: nn.Module | None = None,
        graph: ExportedGraph | None = None,
    ) -> None:
        super().__init__()
        if (backbone is None) == (graph is None):
            raise ValueError("a relation encoder runs either a PyTorch backbone or an exported graph")
        self.graph = graph
        if tokenizer.mask_token is None:
            raise ValueError("the backbone tokenizer has no mask token; relvec prompts need one")
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.config = config or RelvecConfig()
        if self.config.pooling == "mask" and MASK not in self.config.template:
            raise ValueError("pooling='mask' needs a template containing <mask>")
        if (self.config.prompt.get("method") == "ptuning") != (prompt_encoder is not None):
            raise ValueError("a P-tuning prompt needs a prompt encoder, and a prompt encoder needs a P-tuning prompt")
        self.prompt_encoder = prompt_encoder
        self._truncation_warned = False
        self.name_or_path = self.config.backbone
        self.precision = "auto"  # the default of encode (load_model(..., precision=) sets it)
        if backbone is None:
            return
        check_max_length(self.config.max_length, backbone)
        check_trigger_ids(self.config.prompt, backbone, tokenizer)
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.to(torch.device(device))

    # ------------------------------------------------------------------ loading / saving
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path = DEFAULT_BACKBONE,
        *,
        template: str | None = None,
        pooling: str | None = None,
        max_length: int | None = None,
        device: str | torch.device | None = None,
        local_files_only: bool = False,
        backend: str = "torch",
        file_name: str | None = None,
        **model_kwargs: Any,
    ) -> RelationEncoder:
        """Load a trained relvec folder (which carries its own settings) or a plain backbone.

        Explicit ``template`` / ``pooling`` / ``max_length`` override what a folder carries. A local
        folder never touches the network; a hub id does unless ``local_files_only`` (or ``HF_HUB_OFFLINE``).
        ``backend="onnx"`` / ``"openvino"`` runs the folder's export (``relvec export``; ``file_name`` picks
        one, e.g. ``onnx/model_int8.onnx``); a folder holding only an export runs it whatever ``backend`` says.
        """
        name = canonical_name(str(name_or_path))
        source = local_path(name)
        saved = load_saved_config(source, local_files_only)
        local_files_only = local_files_only or Path(source).is_dir()
        check_tokenizer_files(source)
        if check_backend(backend) == "torch":
            backend = exported_only(source) or "torch"
        if backend != "torch":
            if pooling is not None and saved is not None and pooling != saved.pooling:
                raise ValueError(f"{name_or_path}: the export pools with {saved.pooling!r}; it cannot use {pooling!r}")
            given = _given(template=template, max_length=max_length)
            model = cls._from_export(source, saved, backend, file_name, given)
            model.name_or_path = str(name_or_path)
            return model
        backbone, tokenizer = load_backbone(source, local_files_only, **model_kwargs)
        if saved is None:
            saved = config_from_relbert(backbone) or RelvecConfig(backbone=name)
        if saved.prompt and template is not None and resolve_template(template) != saved.template:
            raise ValueError(
                f"{name_or_path} carries a learned {saved.prompt['method']} prompt; it cannot take another template"
            )
        given = _given(template=template, pooling=pooling, max_length=max_length)
        config = RelvecConfig.from_dict(saved.to_dict() | given)
        prompt_encoder = load_prompt_encoder(Path(source), config, backbone) if config.prompt else None
        model = cls(backbone, tokenizer, config, device=device, prompt_encoder=prompt_encoder)
        model.name_or_path = str(name_or_path)
        return model

    @classmethod
    def _from_export(
        cls, source: str, saved: RelvecConfig | None, backend: str, file_name: str | None, given: dict[str, Any]
    ) -> RelationEncoder:
        if saved is None:
            raise ValueError(f"{source}: an export needs the folder's relvec_config.json (relvec export writes it)")
        path = export_file(source, backend, file_name)
        graph = ExportedGraph(path, backend, name=path.relative_to(source).as_posix())
        tokenizer = load_tokenizer(source, local_files_only=True)
        return cls(None, tokenizer, RelvecConfig.from_dict(saved.to_dict() | given), graph=graph)

    def word_vectors(self) -> EncoderWordVectors:
        """Word vectors that go with this model: its backbone's sentence-encoder vectors of single words
        (computed on demand; never downloaded for a local model)."""
        if getattr(self, "_word_vectors", None) is None:
            local = Path(local_path(self.config.backbone)).is_dir()
            self._word_vectors = EncoderWordVectors(self.config.backbone, local_files_only=local)
        return self._word_vectors

    def save_pretrained(self, directory: str | Path, training: dict[str, Any] | None = None) -> Path:
        """Write backbone + tokenizer in HF format, the relvec side file, and sentence-transformers files.

        Every file is written to a staging folder first and renamed into ``directory``, so no file is
        ever seen half-written.
        """
        directory = Path(directory)
        config = RelvecConfig.from_dict(self.config.to_dict())
        config.relvec_version = __version__
        if training is not None:
            config.training = training

        def write(staging: Path) -> None:
            if self.graph is not None:  # an exported model saves as one: tokenizer, settings, the graph
                self.tokenizer.save_pretrained(staging)
                self.graph.copy_into(staging)
                config.save(staging)
                return
            self.backbone.save_pretrained(staging, safe_serialization=True)
            self.tokenizer.save_pretrained(staging)
            if self.prompt_encoder is not None:
                state = {k: v.detach().contiguous().cpu() for k, v in self.prompt_encoder.state_dict().items()}
                save_file(state, str(staging / PROMPT_ENCODER_FILE))
            else:  # sentence-transformers cannot reproduce continuous prompts
                self._write_sentence_transformers_files(staging)
            config.save(staging)
            write_card(staging, directory, relation_encoder_card(self, directory, config.training))

        save_into(directory, write, last=(CONFIG_NAME,))
        self.config = config
        return directory

    def _write_sentence_transformers_files(self, directory: Path) -> None:
        # sentence-transformers sees its Transformer + relvec's own pooling (relvec.st_pooling, imported from the
        # installed relvec, never from the folder): its encode() of a filled prompt is relvec's vector.
        modules = [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_RelvecPooling", "type": ST_POOLING_TYPE},
        ]
        write_json(directory / "modules.json", modules)
        write_json(
            directory / "sentence_bert_config.json",
            {"max_seq_length": self.config.max_length, "do_lower_case": False},
        )
        pooling = {"embedding_dimension": self.embedding_dim, "pooling_mode": self.pooling}
        pooling["mask_token_id"] = int(self.tokenizer.mask_token_id)
        write_json(directory / "1_RelvecPooling" / "config.json", pooling)

    # ------------------------------------------------------------------ properties
    @property
    def device(self) -> torch.device:
        return torch.device("cpu") if self.backbone is None else next(self.backbone.parameters()).device

    @property
    def embedding_dim(self) -> int:
        return self.graph.dim if self.graph is not None else int(self.backbone.config.hidden_size)

    @property
    def template(self) -> str:
        return self.config.template

    @property
    def pooling(self) -> str:
        return self.config.pooling

    @property
    def max_length(self) -> int:
        return self.config.max_length

    @property
    def prompt_shape(self) -> PromptShape | None:
        """The trigger layout of a learned prompt, or None for a manual template."""
        return PromptShape.parse(self.config.prompt["shape"]) if self.config.prompt else None

    def set_trigger_ids(self, trigger_ids: Sequence[int]) -> None:
        """Use these vocabulary ids in the trigger slots of a discrete (AutoPrompt) prompt."""
        shape = self.prompt_shape
        if shape is None or self.config.prompt["method"] != "autoprompt":
            raise ValueError("set_trigger_ids needs a model with an autoprompt prompt")
        ids = [int(i) for i in trigger_ids]
        words = [
            self.tokenizer.convert_tokens_to_string([t]).strip() for t in self.tokenizer.convert_ids_to_tokens(ids)
        ]
        self.config.prompt = {**self.config.prompt, "trigger_ids": ids, "trigger_tokens": words}
        self.config.template = shape.template(words)

    # ------------------------------------------------------------------ tokenization
    def prompts(self, pairs: Sequence[Pair]) -> list[str]:
        """The filled prompt strings for already-validated pairs."""
        mask = self.tokenizer.mask_token
        return [fill(self.template, h, t, mask) for h, t in pairs]

    def tokenize(self, pairs: Sequence[Pair]) -> list[PromptFeatures]:
        """Tokenize validated pairs without padding; truncate (keeping the final special token)."""
        if not pairs:
            return []
        self._check_words_have_tokens(pairs)
        if self.config.prompt:
            return self._tokenize_learned(pairs)
        texts = self.prompts(pairs)
        ids_list = self.tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        mask_id = self.tokenizer.mask_token_id
        ordinals = self._mask_ordinals(pairs)
        out: list[PromptFeatures] = []
        for i, ids in enumerate(ids_list):
            if len(ids) > self.max_length:
                self._warn_truncation(pairs[i], len(ids))
                ids = [*ids[: self.max_length - 1], ids[-1]]
            positions = [j for j, tok in enumerate(ids) if tok == mask_id]
            ordinal = ordinals[i]
            index = positions[ordinal] if ordinal is not None and ordinal < len(positions) else -1
            if index < 0 and self.pooling == "mask":
                raise ValueError(
                    f"pair {i} {pairs[i]!r}: the prompt's mask token was cut off by max_length="
                    f"{self.max_length}; raise max_length or use shorter words"
                )
            out.append(PromptFeatures(ids, index))
        return out

    def _check_words_have_tokens(self, pairs: Sequence[Pair]) -> None:
        """Reject words this tokenizer turns into nothing (only words outside printable ASCII can be)."""
        odd = sorted({w for pair in pairs for w in pair if not (w.isascii() and w.isprintable())})
        if not odd:
            return
        ids = self.tokenizer(odd, add_special_tokens=False, verbose=False)["input_ids"]
        empty = {w for w, tokens in zip(odd, ids, strict=True) if not tokens}
        for i, pair in enumerate(pairs):
            for word in pair:
                if word in empty:
                    raise ValueError(
                        f"pair {i} {short_repr(pair)}: word {short_repr(word)} has no tokens for this tokenizer"
                    )

    def _tokenize_learned(self, pairs: Sequence[Pair]) -> list[PromptFeatures]:
        """Build ids slot by slot: triggers, the words' own tokens, the mask; positions are exact by construction."""
        shape = self.prompt_shape
        if shape is None:
            raise ValueError("_tokenize_learned needs a learned prompt")
        if self.config.prompt["method"] == "autoprompt":
            trigger_ids = list(self.config.prompt["trigger_ids"])
        else:  # continuous prompts: a placeholder id whose embedding the prompt encoder replaces
            placeholder = self.tokenizer.unk_token_id if self.tokenizer.unk_token_id is not None else 0
            trigger_ids = [placeholder] * shape.num_triggers
        words = self.tokenizer([w for pair in pairs for w in pair], add_special_tokens=False, verbose=False)[
            "input_ids"
        ]
        prefix, specials = special_layout(self.tokenizer)
        budget = max(2, (self.max_length - specials - shape.num_triggers - 1) // 2)
        out = []
        for i, pair in enumerate(pairs):
            head, tail = words[2 * i], words[2 * i + 1]
            if len(head) > budget or len(tail) > budget:
                self._warn_truncation(pair, len(head) + len(tail) + shape.num_triggers + 1 + specials)
                head, tail = head[:budget], tail[:budget]
            body: list[int] = []
            positions: list[int] = []
            mask_index = -1
            for item in shape.segments():
                if isinstance(item, int):
                    positions.append(prefix + len(body))
                    body.append(trigger_ids[item])
                elif item == MASK:
                    mask_index = prefix + len(body)
                    body.append(self.tokenizer.mask_token_id)
                else:
                    body.extend(head if item == SUBJ else tail)
            ids = self.tokenizer.build_inputs_with_special_tokens(body)
            out.append(PromptFeatures(ids, mask_index, tuple(positions)))
        return out

    def _mask_ordinals(self, pairs: Sequence[Pair]) -> list[int | None]:
        """For each prompt, how many mask tokens precede the template's own (words may contain one)."""
        if MASK not in self.template:
            return [None] * len(pairs)
        head = self.template[: self.template.index(MASK)]
        mask = self.tokenizer.mask_token
        return [fill(head, h, t, mask).count(mask) for h, t in pairs]

    def _warn_truncation(self, pair: Pair, length: int) -> None:
        if not self._truncation_warned:
            self._truncation_warned = True
            warnings.warn(
                f"prompt for {pair!r} has {length} tokens and was truncated to max_length="
                f"{self.max_length} (warned once per encoder)",
                stacklevel=4,
            )

    def collate(self, features: Sequence[PromptFeatures]) -> dict[str, torch.Tensor]:
        """Pad a batch only to its own longest prompt."""
        width = max(len(f.input_ids) for f in features)
        pad_id = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((len(features), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(features), width), dtype=torch.long)
        for row, f in enumerate(features):
            input_ids[row, : len(f.input_ids)] = torch.tensor(f.input_ids, dtype=torch.long)
            attention[row, : len(f.input_ids)] = 1
        mask_index = torch.tensor([f.mask_index for f in features], dtype=torch.long)
        batch = {"input_ids": input_ids, "attention_mask": attention, "mask_index": mask_index}
        if any(f.trigger_positions for f in features):
            slots = torch.full((len(features), width), -1, dtype=torch.long)
            for row, f in enumerate(features):
                slots[row, list(f.trigger_positions)] = torch.arange(len(f.trigger_positions))
            batch["trigger_slot"] = slots
        return batch

    # ------------------------------------------------------------------ forward / encode
    def forward(self, batch: dict[str, torch.Tensor], trigger_embeddings: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled float32 embeddings for a collated batch (keeps the autograd graph).

        With a P-tuning prompt encoder, or explicit ``trigger_embeddings`` (num_triggers, hidden) as
        AutoPrompt uses for its gradients, the trigger slots take those input embeddings.
        """
        if self.graph is not None:
            return torch.from_numpy(self.graph(batch))
        device = self.device
        input_ids = batch["input_ids"].to(device)
        attention = batch["attention_mask"].to(device)
        if trigger_embeddings is None and self.prompt_encoder is not None:
            trigger_embeddings = self.prompt_encoder()
        if trigger_embeddings is not None and "trigger_slot" in batch:
            slots = batch["trigger_slot"].to(device)
            embeds = self.backbone.get_input_embeddings()(input_ids)
            replaced = trigger_embeddings.to(embeds.dtype)[slots.clamp(min=0)]
            embeds = torch.where((slots >= 0).unsqueeze(-1), replaced, embeds)
            hidden = self.backbone(inputs_embeds=embeds, attention_mask=attention).last_hidden_state
        else:
            hidden = self.backbone(input_ids=input_ids, attention_mask=attention).last_hidden_state
        mask_tokens = input_ids == self.tokenizer.mask_token_id
        return pool(hidden, attention, mask_tokens, batch["mask_index"].to(device), self.pooling)

    def encode(
        self,
        pairs: Any,
        batch_size: int = 64,
        normalize: bool = False,
        convert_to_tensor: bool = False,
        show_progress_bar: bool | None = None,
        precision: str | None = None,
    ) -> np.ndarray | torch.Tensor:
        """Embed one pair (1-D result) or a sequence of pairs (2-D float32, input order); ``precision`` (default:
        the model's, :attr:`precision`) "auto" is bf16 where the CPU has it natively.

        A pair repeated in ``pairs`` is encoded once (a bidirectional hybrid asks for (a, b) and (b, a) of
        every pair, classification for both directions of each: together each direction twice)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        checked, single = validate_pairs(pairs)
        resolved = resolve_precision(precision or self.precision, self.device)
        resolved = "fp32" if self.graph is not None else resolved  # an export runs at its own precision
        unique = list(dict.fromkeys(checked))
        features = self.tokenize(unique)
        order = sorted(range(len(features)), key=lambda i: -len(features[i].input_ids))
        out = torch.empty((len(features), self.embedding_dim), dtype=torch.float32)
        n_batches = -(-len(order) // batch_size)
        show = n_batches >= _PROGRESS_MIN_BATCHES if show_progress_bar is None else show_progress_bar
        was_training = self.training
        self.eval()
        try:
            cast = resolved == "bf16" and len(order) >= _BF16_WEIGHTS_MIN_PAIRS
            with bf16_weights(self, cast), torch.inference_mode(), autocast("fp32" if cast else resolved, self.device):
                for idx in tqdm(_chunks(order, batch_size), total=n_batches, disable=not show, desc="encode"):
                    out[idx] = self(self.collate([features[i] for i in idx])).float().cpu()
        finally:
            self.train(was_training)
        if len(unique) < len(checked):
            row = {pair: i for i, pair in enumerate(unique)}
            out = out[[row[pair] for pair in checked]]
        if normalize:
            out = torch.nn.functional.normalize(out, dim=-1)
        result = out[0] if single else out
        return result if convert_to_tensor else result.numpy()

    def describe(self) -> dict[str, Any]:
        """What ``relvec info`` shows (with the folder's exports and their agreement with PyTorch)."""
        cfg = self.config
        if self.graph is not None:  # an exported model: the graph runs, there are no PyTorch weights loaded
            architecture, parameters = f"{self.graph.backend} graph {self.graph.name}", "-"
        else:
            architecture = type(self.backbone).__name__
            parameters = f"{sum(p.numel() for p in self.backbone.parameters()) / 1e6:.1f}M"
        rows: dict[str, Any] = {
            "model_type": "relation_encoder",
            "backbone": cfg.backbone or "-",
            "architecture": architecture,
            "parameters": parameters,
            "embedding_dim": self.embedding_dim,
            "template": cfg.template,
            "prompt": f"{cfg.prompt['method']} {cfg.prompt['shape']}" if cfg.prompt else "manual",
            "pooling": cfg.pooling,
            "max_length": cfg.max_length,
            "precision": self.precision,
            "format_version": cfg.format_version,
            "relvec_version": cfg.relvec_version or "-",
            "trained": "yes" if cfg.training else "no",
        }
        if Path(self.name_or_path).is_dir():
            for name, export in read_export_config(self.name_or_path)["exports"].items():
                agreement = f"min {export.get('cosine_min')} mean {export.get('cosine_mean')}"
                rows[f"export {name}"] = f"cosine to torch fp32 {agreement}"
        if cfg.training:
            rows["training"] = cfg.training
        return rows


def _given(**options: Any) -> dict[str, Any]:
    """The options a caller set (not None)."""
    return {k: v for k, v in options.items() if v is not None}


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
