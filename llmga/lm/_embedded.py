"""The embedded chemical language model: loading, batched sampling with a KV cache, edits of molecules."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from llmga.chem import canonical
from llmga.errors import LLMGAError
from llmga.lm._gpt import ADAPTER_FILE, GPT
from llmga.lm._vocab import Vocab, random_selfies

__all__ = ["EMBEDDED_DIR", "Edit", "EmbeddedLM", "bf16_autocast", "resolve_device", "resolve_dtype"]

EMBEDDED_DIR = Path(__file__).resolve().parent.parent / "data" / "lm"
# Longest tail written for a child: ZINC-sized molecules take 20-70 SELFIES tokens, and a child
# beyond ~100 would fail the graph GA's size cap anyway.
_MAX_NEW_TOKENS = 100


@functools.cache
def _bf16_ok(kind: str = "cpu") -> bool:
    """Whether this CPU (or, for ``"cuda"``, the GPU) does bfloat16 arithmetic natively (else bfloat16
    would be slower than float32)."""
    if kind == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    # oneDNN "supports" bfloat16 on any AVX-512 CPU, by converting to float32 and back: measured on a Xeon
    # without AVX512-BF16, a policy step took 2.7x and sampling 1.4x the time of float32. Only the CPU's own
    # bfloat16 instructions (AVX512-BF16, AMX) make it pay.
    capabilities = getattr(torch.cpu, "get_capabilities", None)
    if capabilities is not None:
        found = capabilities()
        return bool(found.get("avx512_bf16") or found.get("amx_bf16"))
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def bf16_autocast(device: torch.device, on: bool | None = None) -> torch.autocast:
    """bfloat16 autocast on ``device`` if ``on`` (``None``: where the device has bfloat16 arithmetic, as the
    model was trained), else off."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=_bf16_ok(device.type) if on is None else on)


def resolve_dtype(name: str, device: torch.device) -> bool:
    """Whether the model computes in bfloat16 on ``device`` for a ``dtype`` option: ``auto`` (where the
    device has bfloat16 arithmetic natively), ``bfloat16`` (always: emulated, and slower, on CPUs without
    it) or ``float32``. The choice changes the numbers, so a seed's run is the same only on the same choice."""
    if name == "auto":
        return _bf16_ok(device.type)
    if name in ("bfloat16", "float32"):
        return name == "bfloat16"
    raise LLMGAError(f"dtype {name!r}: the embedded model computes in auto, float32 or bfloat16")


def resolve_device(name: str, flag: str = "--device") -> torch.device:
    """The torch device for a ``device`` option (given as ``flag``): cpu, cuda, cuda:N, or auto (a CUDA GPU
    when there is one)."""
    name = name.strip() or "cpu"
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise LLMGAError(f"{flag} {name}: torch sees no CUDA GPU here; use {flag} cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise LLMGAError(f"{flag} {name}: not a torch device; use cpu, cuda, cuda:N or auto") from None
    if device.type not in ("cpu", "cuda"):
        raise LLMGAError(f"{flag} {name}: the model runs on cpu or cuda; use cpu, cuda, cuda:N or auto")
    count = torch.cuda.device_count() if device.type == "cuda" else 0
    if device.index is not None and device.index >= count and device.type == "cuda":
        raise LLMGAError(f"{flag} {name}: torch sees {count} GPU(s) here; use cuda:0 to cuda:{count - 1}")
    if device.type == "cuda":
        # Same seed, same run: deterministic cuBLAS needs this before its first use (see torch's notes on
        # reproducibility); the policy's training steps also ask torch for deterministic kernels.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return device


def pad_rows(rows: Sequence[Sequence[int]], pad: int) -> torch.Tensor:
    """Token rows right-padded with ``pad`` to the longest of them (a training batch)."""
    out = torch.full((len(rows), max(len(r) for r in rows)), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r)
    return out


def optimizer_step(optim: torch.optim.Optimizer) -> None:
    """``optim.step()`` on one thread, so that a seed trains the same weights in every process.

    On two threads torch's CPU Adam step gave other weights from the same
    weights and gradients in 1 to 4 of 40 fresh processes (measured here, torch
    2.13), which broke resume; on one thread 40 of 40 agreed. The step is
    elementwise and a few milliseconds, so one thread costs next to nothing.
    """
    threads = torch.get_num_threads()
    if threads == 1:
        optim.step()
        return
    torch.set_num_threads(1)
    try:
        optim.step()
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class Edit:
    """One proposed child: its canonical SMILES (``None`` if it decoded to nothing) and how it was made."""

    smiles: str | None
    parent: str
    kept: int  # tokens of the parent's random SELFIES kept as the prompt
    length: int  # tokens in that SELFIES
    written: int = 0  # tokens the model wrote
    bits: int = 0  # Morgan bits the model was given as its condition (crossover)


def _kept(length: int, share: float) -> int:
    """How many of a parent's ``length`` tokens a prompt keeps for ``share``: at least one, never all."""
    return min(length - 1, max(1, round(share * length)))


def _decode(selfies_text: str) -> str | None:
    import selfies as sf

    try:
        smiles = sf.decoder(selfies_text)
    except Exception:  # noqa: BLE001 - untrusted model output: any decoding failure means "no child"
        return None
    return canonical(smiles) if smiles else None


class EmbeddedLM:
    """A GPT over SELFIES tokens that rewrites the end of a molecule's random SELFIES.

    ``keep`` (a fraction range) sets locality: the share of the parent's
    tokens kept before the model writes the rest (0.85 gives close analogues,
    0.3 distant relatives).
    """

    def __init__(self, model: GPT, vocab: Vocab, path: Path | None = None, *, bf16: bool | None = None) -> None:
        self.model = model
        # bfloat16 autocast for reading prompts and the policy's steps (None: where the device has it natively)
        self.bf16 = _bf16_ok(self.device.type) if bf16 is None else bf16
        self.vocab = vocab
        self.path = path
        self.calls = 0
        self.tokens = 0  # tokens read and written by complete() (rows run twice for guidance count twice)
        # Tokens a child may never contain: the special ones other than the end.
        self._banned = [vocab.pad, vocab.bos, vocab.sep, vocab.unk]

    @property
    def device(self) -> torch.device:
        """Where the model's weights are (and where it samples and learns)."""
        return self.model.transformer.wte.weight.device

    @classmethod
    def load(
        cls, path: str | Path | None = None, *, verify: bool = True, device: str = "cpu", dtype: str = "auto"
    ) -> EmbeddedLM:
        """Load a model folder (the packaged model when ``path`` is None or ``"embedded"``) onto ``device``
        (cpu, cuda, cuda:N or auto: see :func:`resolve_device`), computing in ``dtype`` (auto, float32 or
        bfloat16: see :func:`resolve_dtype`)."""
        where = resolve_device(device)
        bf16 = resolve_dtype(dtype, where)
        folder = EMBEDDED_DIR if path in (None, "embedded") else Path(str(path))
        weights = folder / "model.safetensors"
        if not weights.is_file() or not (folder / "tokenizer.json").is_file():
            raise LLMGAError(
                f"no language model in {folder} (model.safetensors and tokenizer.json missing); "
                "train one with `llmga train-lm --out DIR` or reinstall llmga for the embedded model"
            )
        card_path = folder / "model_card.json"
        card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        if verify and card:
            for key, file in (("weights_sha256", weights), ("adapter_sha256", folder / ADAPTER_FILE)):
                expected = card.get(key)
                if not expected:
                    continue
                actual = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else "missing"
                if expected != actual:
                    raise LLMGAError(
                        f"{file} does not match its model card (sha256 {actual[:12]}..., card says "
                        f"{expected[:12]}...); the file was altered or truncated: reinstall llmga or retrain"
                    )
        try:
            model = GPT.load(folder)
        except ValueError as exc:
            raise LLMGAError(f"{exc}; retrain with `llmga train-lm` or reinstall llmga") from None
        return cls(model.to(where), Vocab.load(folder), folder, bf16=bf16)

    @property
    def crosses(self) -> bool:
        """Whether the model has a fingerprint adapter, i.e. was trained to cross (see :meth:`cross`)."""
        return self.model.adapter is not None

    # ---------------------------------------------------------- sampling
    @torch.inference_mode()  # type: ignore[untyped-decorator]
    def complete(
        self,
        prompts: Sequence[Sequence[int]],
        *,
        seed: int,
        temperature: float = 1.0,
        max_new_tokens: int | None = None,
        conditions: Sequence[np.ndarray | None] | None = None,
        guidance: float = 0.0,
    ) -> list[list[int]]:
        """Sampled continuations (token ids, ``<eos>`` excluded) of ``<bos>``-led prompts, one batch.

        Prompts are aligned at their ends (left padding that no token
        attends to) and read in one forward pass; then every row gets one
        new token per cached step until all have written ``<eos>``, reached
        ``max_new_tokens`` or the model's last position. ``conditions``
        (one per prompt: the Morgan bits to write towards, or None) needs a
        model with a fingerprint adapter. ``guidance`` w > 0 samples with
        classifier-free guidance: every row is also run without its
        condition, and tokens are drawn from ``(1 + w) log p(x | bits) -
        w log p(x)``, which strengthens what the condition changes (twice
        the arithmetic).
        """
        self.calls += 1
        n = len(prompts)
        if n == 0:
            return []
        limit = self.model.cfg.n_positions
        dev = self.device
        lengths = torch.tensor([len(p) for p in prompts])
        longest = int(lengths.max())
        if longest >= limit:
            raise ValueError(f"a prompt of {longest} tokens does not fit the model's {limit} positions")
        steps = limit - int(lengths.min())
        if max_new_tokens is not None:
            steps = min(steps, max_new_tokens)
        pads = longest - lengths
        ids = torch.full((n, longest), self.vocab.pad, dtype=torch.long)
        for i, p in enumerate(prompts):
            ids[i, int(pads[i]) :] = torch.tensor(list(p), dtype=torch.long)
        generator = torch.Generator(device=dev).manual_seed(int(seed))
        ids, pads, lengths = ids.to(dev), pads.to(dev), lengths.to(dev)
        cond = None
        if conditions is not None and any(c is not None for c in conditions):
            bits = torch.zeros((n, self.model.cfg.n_cond))
            for i, c in enumerate(conditions):
                if c is not None:
                    bits[i, torch.from_numpy(np.asarray(c, dtype=np.int64))] = 1.0
            cond = self.model.condition(bits.to(dev))
        guided = cond is not None and guidance > 0
        if guided:  # the batch twice: rows with their condition, then the same rows without
            assert cond is not None
            ids, pads, cond = torch.cat([ids, ids]), torch.cat([pads, pads]), torch.cat([cond, torch.zeros_like(cond)])
        cache = self.model.new_cache(ids.shape[0], longest + steps)
        self.tokens += int(lengths.sum()) * (2 if guided else 1)
        # Reading the prompts is most of the arithmetic: bfloat16 (as in training) where the CPU has it.
        with bf16_autocast(dev, self.bf16):
            logits, cache = self.model(ids, cache, start=0, pads=pads, cond=cond)
        out: list[list[int]] = [[] for _ in range(n)]
        rows = torch.arange(n, device=dev)  # which prompt each row of the (shrinking) batch is
        room = limit - lengths  # new tokens each row may still write
        finished = torch.zeros(n, dtype=torch.bool, device=dev)
        for step in range(steps):
            last = logits[:, -1].float()
            if guided:
                m = len(rows)
                given, plain = torch.log_softmax(last[:m], -1), torch.log_softmax(last[m:], -1)
                last = given + guidance * (given - plain)
            last = last / max(temperature, 1e-4)
            last[:, self._banned] = -math.inf
            drawn = torch.multinomial(torch.softmax(last, dim=-1), 1, generator=generator).squeeze(1)
            ended = drawn == self.vocab.eos
            skip = (finished | ended).tolist()
            for row, token, no in zip(rows.tolist(), drawn.tolist(), skip, strict=True):
                if not no:
                    out[row].append(token)
            finished |= ended | (step + 1 >= room)
            if bool(finished.all()):
                break
            if int(finished.sum()) * 2 >= len(rows) and len(rows) > 4:
                # Half the rows have finished: drop them from the batch (the cost of a step grows with it).
                live = torch.nonzero(~finished).flatten()
                both = torch.cat([live, live + len(rows)]) if guided else live
                cache = [(k[both], v[both]) for k, v in cache]
                cond = cond[both] if cond is not None else None
                pads = pads[both]
                rows, room, drawn, finished = rows[live], room[live], drawn[live], finished[live]
            # Finished rows still in the batch are fed on; what they write is never read.
            feed = torch.cat([drawn, drawn]) if guided else drawn
            self.tokens += len(feed)
            logits, cache = self.model(feed[:, None], cache, start=longest + step, pads=pads, cond=cond)
        return out

    def edit(
        self,
        parents: Sequence[str],
        rng: np.random.Generator,
        *,
        keep: tuple[float, float] = (0.5, 0.9),
        temperature: float = 1.0,
    ) -> list[Edit]:
        """One child per parent: keep a random share in ``keep`` of a random SELFIES, sample the rest.

        A parent whose SELFIES has a token the model does not know (a graph-GA child with a hypervalent
        ``[SH1]``, say) is cut before its first such token when the share would keep it, so the model
        rewrites the part it cannot read; one whose first token is unknown gets no prompt.
        """
        prompts: list[list[int]] = []
        made: list[tuple[int, int] | None] = []  # per parent: (kept tokens, SELFIES length)
        for parent in parents:
            ids = self._spelling(parent, rng)
            if ids is None:
                made.append(None)
                continue
            kept = _kept(len(ids), rng.uniform(*keep))
            if -1 in ids[:kept]:
                kept = ids.index(-1)
                if kept < 1:
                    made.append(None)
                    continue
            prompts.append([self.vocab.bos, *ids[:kept]])
            made.append((kept, len(ids)))
        return self._complete_edits(parents, prompts, made, rng, temperature)

    def sample(self, n: int, rng: np.random.Generator, *, temperature: float = 1.0) -> list[Edit]:
        """``n`` molecules written from ``<bos>`` (de novo), in one batched call; ``Edit.parent`` is empty."""
        prompts = [[self.vocab.bos] for _ in range(n)]
        return self._complete_edits([""] * n, prompts, [(0, 0)] * n, rng, temperature)

    def _random_ids(self, smiles: str, rng: np.random.Generator) -> list[int] | None:
        """Token ids of a random SELFIES of ``smiles``, or None when it has none, it has a token the model does
        not know, or it leaves no room to write."""
        ids = self._spelling(smiles, rng)
        return None if ids is None or -1 in ids else ids

    def _spelling(self, smiles: str, rng: np.random.Generator) -> list[int] | None:
        """Token ids of a random SELFIES of ``smiles`` (-1 for a token the model does not know), or None when it
        has none or it leaves no room to write."""
        toks = random_selfies(smiles, rng)
        if not toks or len(toks) >= self.model.cfg.n_positions - 8:
            return None
        return [self.vocab.index.get(t, -1) for t in toks]

    def cross(
        self,
        pairs: Sequence[tuple[str, str]],
        rng: np.random.Generator,
        *,
        temperature: float = 1.0,
        share: tuple[float, float] = (0.35, 0.65),
        from_prefix: bool = True,
        guidance: float = 0.0,
    ) -> list[Edit]:
        """One child per pair, written by the model given both parents, in one batched call.

        A share ``s`` of A is drawn from ``share``. With ``from_prefix`` the
        prompt is the first ``s`` of A's tokens (a random SELFIES, as in
        :meth:`edit`) and the condition joins the Morgan bits of that prefix
        with those of a connected region of B holding ``1 - s`` of B's atoms:
        the model writes the rest of the child towards B. Without it the
        child is written from ``<bos>``, given the bits of a region of A
        (``s`` of its atoms) and of B (``1 - s``)
        (:func:`~llmga.lm._condition.crossover_condition`). ``Edit.bits``
        counts the condition's bits; ``guidance`` is passed to :meth:`complete`.
        """
        if not self.crosses:
            raise LLMGAError(
                f"the model in {self.path or 'memory'} has no fingerprint adapter (it was trained without "
                "crossover examples); retrain or fine-tune it with `llmga train-lm --crossover-share 0.5`"
            )
        from llmga.lm._condition import crossover_condition, region_bits

        prompts: list[list[int]] = []
        conditions: list[np.ndarray] = []
        made: list[tuple[int, int] | None] = []
        for a, b in pairs:
            s = float(rng.uniform(*share))
            if from_prefix:
                ids = self._random_ids(a, rng)
                bits_b = region_bits(b, rng, 1.0 - s)
                if ids is None or bits_b is None:
                    made.append(None)
                    continue
                kept = _kept(len(ids), s)
                head = _decode(self.vocab.decode(ids[:kept]))
                bits_a = region_bits(head, rng, 1.0) if head else None
                bits = np.union1d(bits_a, bits_b) if bits_a is not None else bits_b
                prompts.append([self.vocab.bos, *ids[:kept]])
                made.append((kept, len(ids)))
            else:
                joined = crossover_condition(a, b, rng, s)
                if joined is None:
                    made.append(None)
                    continue
                bits = joined
                prompts.append([self.vocab.bos])
                made.append((0, 0))
            conditions.append(bits)
        edits = self._complete_edits(
            [a for a, _ in pairs], prompts, made, rng, temperature, conditions=conditions, guidance=guidance
        )
        counts = iter(len(c) for c in conditions)
        return [e if m is None else dataclasses.replace(e, bits=next(counts)) for e, m in zip(edits, made, strict=True)]

    def _complete_edits(
        self,
        parents: Sequence[str],
        prompts: list[list[int]],
        made: list[tuple[int, int] | None],
        rng: np.random.Generator,
        temperature: float,
        *,
        conditions: Sequence[np.ndarray | None] | None = None,
        guidance: float = 0.0,
    ) -> list[Edit]:
        """Complete ``prompts`` in one call; one Edit per parent (``made[i]`` None: no prompt for it).

        The child is the prompt (after ``<bos>``) plus what the model wrote.
        """
        tails = self.complete(
            prompts,
            seed=int(rng.integers(2**63)),
            temperature=temperature,
            max_new_tokens=_MAX_NEW_TOKENS,
            conditions=conditions,
            guidance=guidance,
        )
        done = iter(zip(prompts, tails, strict=True))
        edits: list[Edit] = []
        for parent, item in zip(parents, made, strict=True):
            if item is None:
                edits.append(Edit(None, parent, 0, 0))
                continue
            prompt, tail = next(done)
            text = self.vocab.decode(prompt[1:] + tail)
            edits.append(Edit(_decode(text), parent, *item, written=len(tail)))
        return edits

    def cross_quality(self, pairs: Sequence[tuple[str, str]], seed: int) -> dict[str, float]:
        """Validity of crossover children of ``pairs`` and their mean Tanimoto to each parent (Morgan r2)."""
        from rdkit import DataStructs

        from llmga.chem import morgan

        edits = self.cross(pairs, np.random.default_rng(seed))
        near, far, valid, new = [], [], 0, 0
        for (a, b), edit in zip(pairs, edits, strict=True):
            fa, fb, fc = morgan(a), morgan(b), morgan(edit.smiles)
            if fc is None or fa is None or fb is None:
                continue
            valid += 1
            new += edit.smiles not in (canonical(a), canonical(b))
            sims = sorted((DataStructs.TanimotoSimilarity(fa, fc), DataStructs.TanimotoSimilarity(fb, fc)))
            far.append(sims[0])
            near.append(sims[1])
        n = max(1, len(pairs))
        return {
            "pairs": len(pairs),
            "valid": round(valid / n, 4),
            "new": round(new / max(1, valid), 4),
            "tanimoto_nearer_parent": round(float(np.mean(near)), 4) if near else math.nan,
            "tanimoto_farther_parent": round(float(np.mean(far)), 4) if far else math.nan,
        }

    def sample_quality(self, n: int, seed: int, reference: set[str] | None = None) -> dict[str, float]:
        """Validity, uniqueness and novelty of ``n`` unconditional samples (canonical SMILES)."""
        rng = np.random.default_rng(seed)
        tails = self.complete([[self.vocab.bos]] * n, seed=int(rng.integers(2**63)))
        smiles = [_decode(self.vocab.decode(t)) for t in tails]
        valid = [s for s in smiles if s]
        unique = set(valid)
        novel = unique - reference if reference is not None else unique
        return {
            "samples": n,
            "valid": round(len(valid) / n, 4),
            "unique": round(len(unique) / max(1, len(valid)), 4),
            "novel": round(len(novel) / max(1, len(unique)), 4) if reference is not None else math.nan,
        }
