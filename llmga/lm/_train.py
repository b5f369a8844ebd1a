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
from llmga.lm._gpt import GPT, GPTConfig
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


Row = str | tuple[str, str, str]  # a molecule, or a crossover triple (parent, parent, child)


def _batch(
    rows: Sequence[Row], vocab: Vocab, rng: np.random.Generator, max_len: int
) -> tuple[torch.Tensor | None, torch.Tensor, int]:
    """Token ids [batch, time] (padded), where each row's loss starts, and how many rows were skipped.

    A molecule becomes ``<bos> SELFIES <eos>`` with a random SELFIES (random
    atom order; loss on every token). A triple ``(a, b, c)`` becomes
    ``<bos> A <sep> B <sep> C <eos>`` with canonical SELFIES, so that shared
    substructures read alike in parents and child and the model can copy
    them, with the loss on ``C <eos>`` only: the model learns to write a
    child given both parents.
    """
    seqs: list[list[int]] = []
    starts: list[int] = []
    skipped = 0
    for row in rows:
        parts = [row] if isinstance(row, str) else list(row)
        encoded = []
        for smiles in parts:
            toks = random_selfies(smiles, rng) if len(parts) == 1 else selfies_tokens(smiles)
            ids = vocab.encode(toks) if toks else None
            if ids is None:
                break
            encoded.append(ids)
        if len(encoded) != len(parts):
            skipped += 1
            continue
        seq = [vocab.bos]
        for ids in encoded[:-1]:
            seq += [*ids, vocab.sep]
        start = len(seq) - 1  # targets before this index are the prompt: no loss
        seq += [*encoded[-1], vocab.eos]
        if len(seq) > max_len:
            skipped += 1
            continue
        seqs.append(seq)
        starts.append(start if len(parts) > 1 else 0)
    if not seqs:
        return None, torch.zeros(0, dtype=torch.long), skipped
    width = max(len(r) for r in seqs)
    out = torch.full((len(seqs), width), vocab.pad, dtype=torch.long)
    for i, r in enumerate(seqs):
        out[i, : len(r)] = torch.tensor(r)
    return out, torch.tensor(starts, dtype=torch.long), skipped


def _loss_sum(model: GPT, ids: torch.Tensor, pad: int, starts: torch.Tensor | None = None) -> tuple[torch.Tensor, int]:
    """Summed next-token loss over the tokens that count (not pads, not before ``starts``), and their number."""
    logits, _ = model(ids[:, :-1])
    target = ids[:, 1:].masked_fill(ids[:, 1:] == pad, -100)
    if starts is not None and bool((starts > 0).any()):
        position = torch.arange(target.shape[1])[None, :]
        target = target.masked_fill(position < starts[:, None], -100)
    flat = target.reshape(-1)
    total = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), flat, ignore_index=-100, reduction="sum")
    return total, int((flat != -100).sum())


def _loss(model: GPT, ids: torch.Tensor, pad: int, starts: torch.Tensor | None = None) -> torch.Tensor:
    """Mean next-token loss (see :func:`_loss_sum`)."""
    total, count = _loss_sum(model, ids, pad, starts)
    return total / max(count, 1)


def neighbour_lists(smiles: Sequence[str], k: int) -> np.ndarray:
    """Indices [n, k] of each molecule's ``k`` most similar others in ``smiles`` (Morgan r2 Tanimoto).

    Unparsable molecules get their own index (never used as a neighbour).
    """
    from rdkit import DataStructs

    from llmga.chem import morgan

    empty = DataStructs.ExplicitBitVect(2048)
    fps = [fp if (fp := morgan(s)) is not None else empty for s in smiles]
    k = min(k, len(smiles) - 1)
    out = np.zeros((len(smiles), max(k, 0)), dtype=np.int64)
    for i, fp in enumerate(fps):
        sims = np.asarray(DataStructs.BulkTanimotoSimilarity(fp, fps))
        sims[i] = -1.0
        top = np.argpartition(-sims, k - 1)[:k] if k > 0 else np.zeros(0, dtype=np.int64)
        out[i] = top[np.argsort(-sims[top], kind="stable")]
    return out


class _Triples:
    """Crossover examples from near neighbours: a child and two of its ``k`` most similar molecules."""

    def __init__(self, smiles: Sequence[str], rng: np.random.Generator, pool: int, k: int) -> None:
        picked = rng.choice(len(smiles), size=min(pool, len(smiles)), replace=False)
        self.smiles = [smiles[int(i)] for i in np.sort(picked)]
        self.neighbours = neighbour_lists(self.smiles, k) if len(self.smiles) > 2 else None

    def draw(self, rng: np.random.Generator) -> tuple[str, str, str] | None:
        if self.neighbours is None:
            return None
        child = int(rng.integers(len(self.smiles)))
        a, b = rng.choice(self.neighbours[child], size=2, replace=False)
        return self.smiles[int(a)], self.smiles[int(b)], self.smiles[child]


def _heldout_loss(model: GPT, held: Sequence[str], vocab: Vocab, max_len: int, limit: int = 2000) -> float:
    rng = np.random.default_rng(12345)  # a fixed set of random SMILES for every evaluation
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, min(limit, len(held)), 256):
            ids, _, _ = _batch(held[i : i + 256], vocab, rng, max_len)
            if ids is None:
                continue
            n = int((ids[:, 1:] != vocab.pad).sum())
            total += float(_loss(model, ids, vocab.pad)) * n
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
    max_len = model.cfg.n_positions
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}], lr=lr)
    total_steps = settings.steps

    def lr_at(step: int) -> float:
        if step < settings.warmup:
            return lr * (step + 1) / settings.warmup
        if total_steps is None:
            return lr
        frac = min(1.0, (step - settings.warmup) / max(1, total_steps - settings.warmup))
        return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))

    triples = None
    if settings.crossover_share > 0:
        triples = _Triples(
            train, np.random.default_rng(settings.seed + 1), settings.pair_pool, settings.pair_neighbours
        )

    # Resume from a checkpoint written by an earlier run with the same settings.
    step, position, order, skipped, tokens, losses = 0, 0, rng.permutation(len(train)), 0, 0, []
    elapsed_before = 0.0
    ckpt = out / "checkpoint.pt"
    key = json.dumps(asdict(replace(settings, minutes=None, steps=None, threads=0)), sort_keys=True)
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
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
    autocast = torch.autocast("cpu", dtype=torch.bfloat16)

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
        picked: list[Row] = [train[int(i)] for i in order[position : position + settings.batch_size]]
        position += settings.batch_size
        if triples is not None:
            # A share of the rows become crossover examples (the molecule order is unchanged).
            for j in np.flatnonzero(rng.random(len(picked)) < settings.crossover_share):
                picked[int(j)] = triples.draw(rng) or picked[int(j)]
        # Molecules and (three times longer) crossover rows go in separate passes, so that short rows are
        # not padded to the long ones; the step's loss is the mean over all its counted tokens.
        singles = [r for r in picked if isinstance(r, str)]
        cross_rows = [r for r in picked if not isinstance(r, str)]
        batches = []
        for rows in (singles, cross_rows):
            ids, starts, miss = _batch(rows, vocab, rng, max_len) if rows else (None, None, 0)
            skipped += miss
            if ids is not None:
                batches.append((ids, starts))
        if not batches:
            continue
        for group in optim.param_groups:
            group["lr"] = lr_at(step)
        optim.zero_grad(set_to_none=True)
        counted = 0
        summed = []
        for ids, starts in batches:
            with autocast:
                total, count = _loss_sum(model, ids, vocab.pad, starts)
            summed.append(total)
            counted += count
            tokens += int((ids != vocab.pad).sum())
        loss = torch.stack(summed).sum() / max(counted, 1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        step += 1
        losses.append(round(float(loss.detach()), 4))
        if step % settings.eval_every == 0:
            heldout = _heldout_loss(model, held, vocab, max_len) if held else math.nan
            if progress is not None:
                progress({"step": step, "loss": float(np.mean(losses[-100:])), "heldout": heldout, "seconds": seconds})
        if time.perf_counter() - last_ckpt > settings.checkpoint_minutes * 60:
            save_checkpoint()
            last_ckpt = time.perf_counter()

    seconds = elapsed_before + time.perf_counter() - started
    model.eval()
    heldout = _heldout_loss(model, held, vocab, max_len) if held else math.nan
    model.save(out, bos=vocab.bos, eos=vocab.eos, pad=vocab.pad)
    vocab.save(out, max_length=max_len)
    from llmga.lm._embedded import EmbeddedLM

    crosses = settings.crossover_share > 0 or bool(init_card and init_card.get("crossover"))
    lm = EmbeddedLM.load(out, verify=False)
    lm.crosses = crosses
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
        "loss_every_100_steps": [float(np.mean(losses[i : i + 100])) for i in range(0, len(losses), 100)],
        "skipped_molecules": skipped,
        "sample_quality": quality,
        "crossover": crosses,
        "cross_quality_random_heldout_pairs": cross_quality,
        "weights_sha256": hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest(),
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
        "init_model_card": init_card,
    }
    (out / "model_card.json").write_text(json.dumps(card, indent=1) + "\n")
    with contextlib.suppress(FileNotFoundError):
        ckpt.unlink()
    return report
