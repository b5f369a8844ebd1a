"""The embedded chemical language model: a small GPT over SELFIES, trained by ``llmga train-lm``.

It ships inside the package (``llmga/data/lm``) as a Hugging Face GPT-2
folder and runs on a laptop CPU; the LM operators
(:mod:`llmga.operators.lm`) use it to rewrite parts of molecules. Names that
need torch are imported on first use, so ``import llmga.lm`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from llmga.lm._settings import TrainSettings

if TYPE_CHECKING:
    from llmga.lm._embedded import EMBEDDED_DIR, Edit, EmbeddedLM
    from llmga.lm._finetune import FineTuneSettings, OnlineFineTuner
    from llmga.lm._gpt import GPT, GPTConfig
    from llmga.lm._policy import PolicySettings, PolicyTrainer, sequence_logp
    from llmga.lm._train import TrainReport, train_lm
    from llmga.lm._vocab import Vocab, random_selfies, selfies_tokens

__all__ = [
    "EMBEDDED_DIR",
    "GPT",
    "Edit",
    "EmbeddedLM",
    "FineTuneSettings",
    "GPTConfig",
    "OnlineFineTuner",
    "PolicySettings",
    "PolicyTrainer",
    "TrainReport",
    "TrainSettings",
    "Vocab",
    "random_selfies",
    "selfies_tokens",
    "sequence_logp",
    "train_lm",
]

_LAZY = {
    "EMBEDDED_DIR": "_embedded",
    "Edit": "_embedded",
    "EmbeddedLM": "_embedded",
    "FineTuneSettings": "_finetune",
    "OnlineFineTuner": "_finetune",
    "GPT": "_gpt",
    "GPTConfig": "_gpt",
    "PolicySettings": "_policy",
    "PolicyTrainer": "_policy",
    "sequence_logp": "_policy",
    "TrainReport": "_train",
    "train_lm": "_train",
    "Vocab": "_vocab",
    "random_selfies": "_vocab",
    "selfies_tokens": "_vocab",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"llmga.lm.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'llmga.lm' has no attribute {name!r}")
