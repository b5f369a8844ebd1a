"""Tiny random transformers models with a character-level tokenizer, for tests and benchmarks.

No hub access: the tokenizer is made from a fixed alphabet with the
``tokenizers`` library and the models are randomly initialised GPT-2 and T5.
They produce gibberish, which is the point: the pipeline must cope.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ALPHABET = list("CNOSFPIBrlcnos()[]=#@+-123456789%/\\.<>:abdefghijkmpqtuvwxyzAEGHJKLMQRTUVWXYZ0 \n,'\"!?_$")
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]


def char_tokenizer(max_length: int = 512) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIALS + ALPHABET)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=max_length,
    )


def save_tiny_gpt2(path: Path) -> Path:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = char_tokenizer()
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=1024,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def save_tiny_t5(path: Path) -> Path:
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tok = char_tokenizer()
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tok),
        d_model=32,
        d_kv=16,
        d_ff=64,
        num_layers=2,
        num_heads=2,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id,
    )
    T5ForConditionalGeneration(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def save_tiny_lm(path: Path, smiles: list[str] | None = None, *, steps: int = 40, seed: int = 0) -> Path:
    """A tiny embedded-model folder (2 layers, width 32) trained for ``steps`` steps on ``smiles``.

    Defaults to the first 400 ZINC molecules; takes a few seconds on one core.
    """
    from llmga.data import zinc250k
    from llmga.lm import TrainSettings, train_lm

    data = path.parent / f"{path.name}-data.smi"
    data.write_text("\n".join(smiles or list(zinc250k()[:400])) + "\n")
    settings = TrainSettings(
        out=str(path),
        data=str(data),
        steps=steps,
        seed=seed,
        batch_size=32,
        lr=3e-3,
        warmup=5,
        n_layer=2,
        n_embd=32,
        n_head=2,
        n_positions=128,
        eval_every=max(1, steps // 2),
        quality_samples=50,
        threads=1,
        crossover_share=0.3,
    )
    train_lm(settings, command="llmga.testing.save_tiny_lm")
    return path
