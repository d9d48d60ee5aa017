"""P-tuning's prompt encoder (Liu et al., 2021): learned input vectors for a prompt's trigger slots, and its file."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers import PreTrainedModel

from relvec.config import RelvecConfig
from relvec.files import read_safetensors
from relvec.prompts import PromptShape

PROMPT_ENCODER_FILE = "prompt_encoder.safetensors"


class PromptEncoder(nn.Module):
    """P-tuning's prompt encoder: one learned input vector per trigger slot, reparametrised by a
    bidirectional LSTM and an MLP so that the slots are trained jointly (Liu et al., 2021, Sec. 3)."""

    def __init__(self, num_triggers: int, hidden_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_triggers, hidden_size)
        self.lstm = nn.LSTM(hidden_size, hidden_size // 2, num_layers=2, bidirectional=True, batch_first=True)
        self.mlp = nn.Sequential(
            nn.Linear(2 * (hidden_size // 2), hidden_size), nn.ReLU(), nn.Linear(hidden_size, hidden_size)
        )

    def forward(self) -> torch.Tensor:
        """(num_triggers, hidden_size) input embeddings for the trigger slots."""
        index = torch.arange(self.embedding.num_embeddings, device=self.embedding.weight.device)
        states, _ = self.lstm(self.embedding(index).unsqueeze(0))
        return self.mlp(states.squeeze(0))


def load_prompt_encoder(folder: Path, config: RelvecConfig, backbone: PreTrainedModel) -> nn.Module | None:
    """The P-tuning prompt encoder saved next to the weights (None for discrete prompts)."""
    if config.prompt.get("method") != "ptuning":
        return None
    path = folder / PROMPT_ENCODER_FILE
    if not path.is_file():
        raise ValueError(f"{folder} has a P-tuning prompt but no {PROMPT_ENCODER_FILE}")
    shape = PromptShape.parse(config.prompt["shape"])
    encoder = PromptEncoder(shape.num_triggers, int(backbone.config.hidden_size))
    encoder.load_state_dict(read_safetensors(path))
    return encoder
