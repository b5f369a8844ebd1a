"""Training and fine-tuning of the embedded model (``llmga train-lm``).

Deterministic per seed for a given number of steps: the data order, the
random SMILES of every molecule and the weight initialisation all come from
the seed. A run checkpoints every few minutes (``checkpoint.pt`` in the
output folder) and picks up from there when started again with the same
settings. The folder it leaves is a Hugging Face GPT-2 folder plus
``model_card.json`` (data hash, steps, losses, sample quality, command).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from llmga.errors import LLMGAError
from llmga.executors import available_cores
from llmga.lm._condition import CONDITION_BITS, region_bits
from llmga.lm._embedded import bf16_autocast, pad_rows, resolve_device
from llmga.lm._gpt import ADAPTER_FILE, GPT, GPTConfig
from llmga.lm._settings import TrainSettings
from llmga.lm._vocab import Vocab, random_selfies, selfies_tokens

__all__ = ["TrainReport", "train_lm"]


@dataclass
class TrainReport:
    out: Path
    steps: int
    epochs: float
    seconds: float
    train_loss: float
    heldout_loss: float
    tokens_per_s: float
    sample_quality: dict[str, float] = field(default_factory=dict)
    skipped_molecules: int = 0


def _file_hash(smiles: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for s in smiles:
        digest.update(s.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _load_smiles(data: str | None) -> list[str]:
    if data is None:
        from llmga.data import zinc250k

        return zinc250k()
    from llmga.data import read_smiles_file

    return read_smiles_file(data)


def _split(smiles: list[str], holdout: float, seed: int) -> tuple[list[str], list[str]]:
    """A held-out share chosen by hash of the SMILES (stable under reordering and across runs)."""
    train: list[str] = []
    held: list[str] = []
    for s in smiles:
        h = int.from_bytes(hashlib.blake2b(f"{seed}:{s}".encode(), digest_size=8).digest(), "little")
        (held if h / 2**64 < holdout else train).append(s)
    if not train:
        raise LLMGAError("no training molecules left after the hold-out split; give more data")
    return train, held


def _batch(
    rows: Sequence[str],
    vocab: Vocab,
    rng: np.random.Generator,
    max_len: int,
    conditioned: Sequence[bool] | None = None,
    n_cond: int = 0,
    region: tuple[float, float] = (0.3, 1.15),
) -> tuple[torch.Tensor | None, torch.Tensor | None, int]:
    """Token ids [batch, time] (padded), fingerprint conditions [batch, n_cond], rows skipped.

    A molecule becomes ``<bos> SELFIES <eos>`` with a random SELFIES (random
    atom order; loss on every token). Rows flagged in ``conditioned`` also
    get the Morgan bits of a random connected region of the molecule (a
    share of its atoms drawn from ``region``, capped at 1, so that about one
    row in six sees the whole fingerprint; :func:`region_bits`), the others
    an all-zero condition; without ``n_cond`` there are no conditions.
    """
    seqs: list[list[int]] = []
    conds: list[np.ndarray | None] = []
    skipped = 0
    for i, smiles in enumerate(rows):
        toks = random_selfies(smiles, rng)
        ids = vocab.encode(toks) if toks else None
        if ids is None or len(ids) + 2 > max_len:
            skipped += 1
            continue
        bits = None
        if n_cond and conditioned is not None and conditioned[i]:
            bits = region_bits(smiles, rng, float(min(1.0, rng.uniform(*region))))
        seqs.append([vocab.bos, *ids, vocab.eos])
        conds.append(bits)
    if not seqs:
        return None, None, skipped
    out = pad_rows(seqs, vocab.pad)
    cond = None
    if n_cond:
        cond = torch.zeros((len(seqs), n_cond))
        for i, bits in enumerate(conds):
            if bits is not None:
                cond[i, torch.from_numpy(bits)] = 1.0
    return out, cond, skipped


def _loss_sum(model: GPT, ids: torch.Tensor, pad: int, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, int]:
    """Summed next-token loss over the tokens that are not pads, and their number (on the model's device)."""
    device = model.transformer.wte.weight.device
    ids = ids.to(device)
    offsets = model.condition(cond.to(device)) if cond is not None else None
    logits, _ = model(ids[:, :-1], cond=offsets)
    flat = ids[:, 1:].masked_fill(ids[:, 1:] == pad, -100).reshape(-1)
    total = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), flat, ignore_index=-100, reduction="sum")
    return total, int((flat != -100).sum())


def _loss(model: GPT, ids: torch.Tensor, pad: int, cond: torch.Tensor | None = None) -> torch.Tensor:
    """Mean next-token loss (see :func:`_loss_sum`)."""
    total, count = _loss_sum(model, ids, pad, cond)
    return total / max(count, 1)


def _heldout_loss(
    model: GPT,
    held: Sequence[str],
    vocab: Vocab,
    max_len: int,
    limit: int = 2000,
    region: float | None = None,
) -> float:
    """Mean token loss on held-out molecules; with ``region``, given the bits of that share of each one."""
    rng = np.random.default_rng(12345)  # a fixed set of random SMILES (and regions) for every evaluation
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, min(limit, len(held)), 256):
            rows = held[i : i + 256]
            flags = [region is not None] * len(rows)
            n_cond = model.cfg.n_cond if region is not None else 0
            ids, cond, _ = _batch(rows, vocab, rng, max_len, flags, n_cond, (region or 1.0, region or 1.0))
            if ids is None:
                continue
            n = int((ids[:, 1:] != vocab.pad).sum())
            total += float(_loss(model, ids, vocab.pad, cond)) * n
            count += n
    model.train()
    return total / count if count else math.nan


def _vocab_for(smiles: Sequence[str]) -> Vocab:
    seen: set[str] = set()
    for s in smiles:
        toks = selfies_tokens(s)
        if toks:
            seen.update(toks)
    return Vocab.from_tokens(seen)


def resolve_model_dir(init: str) -> Path:
    if init == "embedded":
        from llmga.lm._embedded import EMBEDDED_DIR

        return EMBEDDED_DIR
    path = Path(init)
    if not (path / "config.json").is_file() or not (path / "tokenizer.json").is_file():
        raise LLMGAError(
            f"--init {init}: not a model folder (no config.json and tokenizer.json); "
            "give 'embedded' or a folder written by llmga train-lm"
        )
    return path


def train_lm(
    settings: TrainSettings,
    *,
    command: str = "",
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> TrainReport:
    """Train (or fine-tune) the embedded model as ``settings`` say; write it to ``settings.out``."""
    settings.check()
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    threads = settings.threads or available_cores()
    torch.set_num_threads(threads)
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)

    smiles = _load_smiles(settings.data)
    data_hash = _file_hash(smiles)
    train, held = _split(smiles, settings.holdout, settings.seed)
    init_card: dict[str, Any] | None = None
    if settings.init is not None:
        init_dir = resolve_model_dir(settings.init)
        if (init_dir / "model_card.json").is_file():
            init_card = json.loads((init_dir / "model_card.json").read_text())
        vocab = Vocab.load(init_dir)
        model = GPT.load(init_dir).train()
        lr = settings.lr if settings.lr is not None else 2e-4
    else:
        vocab = _vocab_for(train)
        cfg = GPTConfig(
            vocab_size=len(vocab),
            n_positions=settings.n_positions,
            n_embd=settings.n_embd,
            n_layer=settings.n_layer,
            n_head=settings.n_head,
        )
        model = GPT(cfg).train()
        lr = settings.lr if settings.lr is not None else 1e-3
    if settings.crossover_share > 0 and model.adapter is None:
        model.add_adapter(CONDITION_BITS)
        model.train()
    device = resolve_device(settings.device)
    model.to(device)
    n_cond = model.cfg.n_cond if settings.crossover_share > 0 else 0
    max_len = model.cfg.n_positions
    # The adapter (new, and small) learns at adapter_lr_scale times the rate of the rest.
    groups: list[dict[str, Any]] = []
    for adapter in (False, True):
        named = [(n, p) for n, p in model.named_parameters() if n.startswith("adapter.") == adapter]
        scale = settings.adapter_lr_scale if adapter else 1.0
        groups.append({"params": [p for n, p in named if p.dim() >= 2], "weight_decay": 0.1, "scale": scale})
        groups.append({"params": [p for n, p in named if p.dim() < 2], "weight_decay": 0.0, "scale": scale})
    optim = torch.optim.AdamW([g for g in groups if g["params"]], lr=lr)
    total_steps = settings.steps

    def lr_at(step: int) -> float:
        if step < settings.warmup:
            return lr * (step + 1) / settings.warmup
        if total_steps is None:
            return lr
        frac = min(1.0, (step - settings.warmup) / max(1, total_steps - settings.warmup))
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))

    # Resume from a checkpoint written by an earlier run with the same settings.
    step, position, order, skipped, tokens, losses = 0, 0, rng.permutation(len(train)), 0, 0, []
    elapsed_before = 0.0
    ckpt = out / "checkpoint.pt"
    key = json.dumps(asdict(replace(settings, minutes=None, steps=None, threads=0, device="")), sort_keys=True)
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False, map_location=device)
        if state.get("key") == key:
            model.load_state_dict(state["model"])
            optim.load_state_dict(state["optim"])
            rng.bit_generator.state = state["rng"]
            torch.set_rng_state(state["torch_rng"])
            step, position, order = state["step"], state["position"], state["order"]
            skipped, tokens, losses = state["skipped"], state["tokens"], state["losses"]
            elapsed_before = state["elapsed"]

    started = time.perf_counter()
    last_ckpt = started
    heldout = math.nan
    autocast = bf16_autocast(device)  # bfloat16 where the device has it natively, else float32 (faster there)

    def save_checkpoint() -> None:
        state = {
            "key": key,
            "model": model.state_dict(),
            "optim": optim.state_dict(),
            "rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "step": step,
            "position": position,
            "order": order,
            "skipped": skipped,
            "tokens": tokens,
            "losses": losses,
            "elapsed": elapsed_before + time.perf_counter() - started,
        }
        torch.save(state, ckpt.with_suffix(".tmp"))
        ckpt.with_suffix(".tmp").replace(ckpt)

    while True:
        seconds = elapsed_before + time.perf_counter() - started
        if total_steps is not None and step >= total_steps:
            break
        if settings.minutes is not None and seconds >= settings.minutes * 60:
            break
        if position + settings.batch_size > len(order):
            order, position = rng.permutation(len(train)), 0
        picked = [train[int(i)] for i in order[position : position + settings.batch_size]]
        position += settings.batch_size
        # A share of the rows are conditioned on the fingerprint of a region of their molecule.
        flags = (rng.random(len(picked)) < settings.crossover_share).tolist() if n_cond else None
        ids, cond, miss = _batch(picked, vocab, rng, max_len, flags, n_cond)
        skipped += miss
        if ids is None:
            continue
        for group in optim.param_groups:
            group["lr"] = lr_at(step) * group["scale"]
        optim.zero_grad(set_to_none=True)
        with autocast:
            loss = _loss(model, ids, vocab.pad, cond)
        tokens += int((ids != vocab.pad).sum())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        step += 1
        losses.append(round(float(loss.detach()), 4))
        if step % settings.eval_every == 0:
            heldout = _heldout_loss(model, held, vocab, max_len) if held else math.nan
            if progress is not None:
                row = {"step": step, "loss": float(np.mean(losses[-100:])), "heldout": heldout, "seconds": seconds}
                if n_cond and held:  # only for the progress line: the card has its own, at the end
                    row["heldout_given_bits"] = _heldout_loss(model, held, vocab, max_len, limit=1000, region=1.0)
                progress(row)
        if time.perf_counter() - last_ckpt > settings.checkpoint_minutes * 60:
            save_checkpoint()
            last_ckpt = time.perf_counter()

    seconds = elapsed_before + time.perf_counter() - started
    model.eval()
    heldout = _heldout_loss(model, held, vocab, max_len) if held else math.nan
    model.cpu()
    model.save(out, bos=vocab.bos, eos=vocab.eos, pad=vocab.pad)
    vocab.save(out, max_length=max_len)
    from llmga.lm._embedded import EmbeddedLM

    crosses = model.adapter is not None
    conditioned_loss: dict[str, float] = {}
    if crosses and held:
        # The adapter's acceptance check: the bits of a molecule should make it far more predictable.
        for share in (1.0, 0.5):
            conditioned_loss[f"region_{share}"] = _heldout_loss(model, held, vocab, max_len, region=share)
    lm = EmbeddedLM.load(out, verify=False)
    quality = lm.sample_quality(n=settings.quality_samples, seed=settings.seed, reference=set(train))
    cross_quality: dict[str, float] = {}
    if crosses and len(held) >= 2:
        pick = np.random.default_rng(settings.seed).permutation(len(held))[: 2 * min(200, len(held) // 2)]
        pairs = [(held[int(pick[i])], held[int(pick[i + 1])]) for i in range(0, len(pick) - 1, 2)]
        cross_quality = lm.cross_quality(pairs, seed=settings.seed)
    report = TrainReport(
        out=out,
        steps=step,
        epochs=round(step * settings.batch_size / max(1, len(train)), 3),
        seconds=round(seconds, 1),
        train_loss=float(np.mean(losses[-100:])) if losses else math.nan,
        heldout_loss=heldout,
        tokens_per_s=round(tokens / max(seconds, 1e-9), 1),
        sample_quality=quality,
        skipped_molecules=skipped,
    )
    card = {
        "model": "llmga embedded chemical language model (GPT-2 architecture, SELFIES tokens)",
        "command": command or " ".join(sys.argv),
        "settings": asdict(settings),
        "data": {
            "source": settings.data or "llmga/data/zinc250k.smi.gz (ZINC 250k, as used by PMO and MolLEO)",
            "molecules": len(smiles),
            "train": len(train),
            "heldout": len(held),
            "sha256": data_hash,
        },
        "parameters": model.n_params(),
        "vocab_size": len(vocab),
        "steps": step,
        "epochs": report.epochs,
        "seconds": report.seconds,
        "tokens_per_s": report.tokens_per_s,
        "train_loss_last100": report.train_loss,
        "heldout_loss": heldout,
        "heldout_loss_given_bits": conditioned_loss,
        "loss_every_100_steps": [float(np.mean(losses[i : i + 100])) for i in range(0, len(losses), 100)],
        "skipped_molecules": skipped,
        "sample_quality": quality,
        "crossover": crosses,
        "cross_quality_random_heldout_pairs": cross_quality,
        "weights_sha256": hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest(),
        "adapter_sha256": (
            hashlib.sha256((out / ADAPTER_FILE).read_bytes()).hexdigest() if (out / ADAPTER_FILE).is_file() else None
        ),
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
        "init_model_card": init_card,
    }
    (out / "model_card.json").write_text(json.dumps(card, indent=1) + "\n")
    with contextlib.suppress(FileNotFoundError):
        ckpt.unlink()
    return report
