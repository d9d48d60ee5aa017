"""Fine-tuning relation encoders: arguments, the trainer, its checkpoints, and prompt search."""

from relvec.data import validation_questions
from relvec.training.arguments import PRESETS, SELECT_ON, TrainingArguments
from relvec.training.checkpoint import CHECKPOINT, HISTORY_FILE, STATE_FILE, finished_run
from relvec.training.gradient_cache import chunks_by_length, relation_step
from relvec.training.sampling import prepare_records, sample_epoch, sample_relation
from relvec.training.trainer import LOG_FILE, PLOT_FILE, Trainer, linear_schedule

__all__ = [
    "CHECKPOINT",
    "HISTORY_FILE",
    "LOG_FILE",
    "PLOT_FILE",
    "PRESETS",
    "SELECT_ON",
    "STATE_FILE",
    "Trainer",
    "TrainingArguments",
    "chunks_by_length",
    "finished_run",
    "linear_schedule",
    "prepare_records",
    "relation_step",
    "sample_epoch",
    "sample_relation",
    "validation_questions",
]
