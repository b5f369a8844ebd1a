"""The embedded chemical language model: loading, batched sampling with a KV cache, edits of molecules."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from llmga.chem import canonical
from llmga.errors import LLMGAError
from llmga.lm._gpt import GPT
from llmga.lm._vocab import Vocab, random_selfies

__all__ = ["EMBEDDED_DIR", "Edit", "EmbeddedLM"]

EMBEDDED_DIR = Path(__file__).resolve().parent.parent / "data" / "lm"


@dataclass(frozen=True)
class Edit:
    """One proposed child: its canonical SMILES (``None`` if it decoded to nothing) and how it was made."""

    smiles: str | None
    parent: str
    kept: int  # tokens of the parent's random SELFIES kept as the prompt
    length: int  # tokens in that SELFIES
    written: int = 0  # tokens the model wrote


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

    def __init__(self, model: GPT, vocab: Vocab, path: Path | None = None) -> None:
        self.model = model
        self.vocab = vocab
        self.path = path
        self.calls = 0
        # Tokens a child may never contain: the special ones other than the end.
        self._banned = [vocab.pad, vocab.bos, vocab.sep, vocab.unk]

    @classmethod
    def load(cls, path: str | Path | None = None, *, verify: bool = True) -> EmbeddedLM:
        """Load a model folder (the packaged model when ``path`` is None or ``"embedded"``)."""
        folder = EMBEDDED_DIR if path in (None, "embedded") else Path(str(path))
        weights = folder / "model.safetensors"
        if not weights.is_file() or not (folder / "tokenizer.json").is_file():
            raise LLMGAError(
                f"no language model in {folder} (model.safetensors and tokenizer.json missing); "
                "train one with `llmga train-lm --out DIR` or reinstall llmga for the embedded model"
            )
        card_path = folder / "model_card.json"
        if verify and card_path.is_file():
            expected = json.loads(card_path.read_text()).get("weights_sha256")
            actual = hashlib.sha256(weights.read_bytes()).hexdigest()
            if expected and expected != actual:
                raise LLMGAError(
                    f"{weights} does not match its model card (sha256 {actual[:12]}..., card says "
                    f"{expected[:12]}...); the file was altered or truncated: reinstall llmga or retrain"
                )
        return cls(GPT.load(folder), Vocab.load(folder), folder)

    # ---------------------------------------------------------- sampling
    @torch.inference_mode()  # type: ignore[untyped-decorator]
    def complete(
        self,
        prompts: Sequence[Sequence[int]],
        *,
        seed: int,
        temperature: float = 1.0,
        max_new_tokens: int | None = None,
    ) -> list[list[int]]:
        """Sampled continuations (token ids, ``<eos>`` excluded) of ``<bos>``-led prompts, one batch.

        Every row advances one position per step: a row still inside its
        prompt is fed its next prompt token, the others their sampled token,
        so one cached forward pass per step serves prompts of any length.
        """
        self.calls += 1
        n = len(prompts)
        if n == 0:
            return []
        limit = self.model.cfg.n_positions
        lengths = torch.tensor([len(p) for p in prompts])
        longest = int(lengths.max())
        if longest >= limit:
            raise ValueError(f"a prompt of {longest} tokens does not fit the model's {limit} positions")
        steps = limit if max_new_tokens is None else min(limit, longest + max_new_tokens)
        forced = torch.full((n, steps + 1), self.vocab.pad, dtype=torch.long)
        for i, p in enumerate(prompts):
            forced[i, : len(p)] = torch.tensor(list(p))
        generator = torch.Generator().manual_seed(int(seed))
        out: list[list[int]] = [[] for _ in range(n)]
        done = torch.zeros(n, dtype=torch.bool)
        # Every row is inside its prompt up to the shortest prompt: one forward pass for all of that.
        shortest = int(lengths.min())
        cache = self.model.new_cache(n, steps)
        logits, cache = self.model(forced[:, :shortest], cache, start=0)
        t = shortest - 1  # logits[:, -1] predicts position t + 1
        while True:
            last = logits[:, -1].float() / max(temperature, 1e-4)
            last[:, self._banned] = -math.inf
            drawn = torch.multinomial(torch.softmax(last, dim=-1), 1, generator=generator).squeeze(1)
            in_prompt = (t + 1) < lengths
            nxt = torch.where(in_prompt, forced[:, t + 1], drawn)
            fresh = ~in_prompt & ~done
            for i in torch.nonzero(fresh & (nxt != self.vocab.eos)).flatten().tolist():
                out[i].append(int(nxt[i]))
            done |= fresh & (nxt == self.vocab.eos)
            if bool(done.all()) or t + 2 >= steps:
                break
            t += 1
            logits, cache = self.model(nxt[:, None], cache, start=t)
        return out

    def edit(
        self,
        parents: Sequence[str],
        rng: np.random.Generator,
        *,
        keep: tuple[float, float] = (0.5, 0.9),
        temperature: float = 1.0,
    ) -> list[Edit]:
        """One child per parent: keep a random share in ``keep`` of a random SELFIES, sample the rest."""
        prompts: list[list[int]] = []
        made: list[tuple[int, int] | None] = []  # per parent: (kept tokens, SELFIES length)
        max_prompt = self.model.cfg.n_positions - 8
        for parent in parents:
            toks = random_selfies(parent, rng)
            ids = self.vocab.encode(toks) if toks else None
            if not ids or len(ids) >= max_prompt:
                made.append(None)
                continue
            kept = min(len(ids) - 1, max(1, round(rng.uniform(*keep) * len(ids))))
            prompts.append([self.vocab.bos, *ids[:kept]])
            made.append((kept, len(ids)))
        return self._complete_edits(parents, prompts, made, rng, temperature)

    def cross(
        self,
        pairs: Sequence[tuple[str, str]],
        rng: np.random.Generator,
        *,
        keep: tuple[float, float] = (0.3, 0.6),
        temperature: float = 1.0,
    ) -> list[Edit]:
        """One child per pair: a piece of each parent, joined, and completed by the model.

        The prompt is the first ``keep`` share of a random SELFIES of the
        first parent followed by the first ``keep`` share of a random SELFIES
        of the second (each starts at a random atom, so each piece is a
        connected fragment); the model writes the rest of the molecule.
        ``Edit.kept`` counts the prompt tokens, ``Edit.length`` both parents'.
        """
        prompts: list[list[int]] = []
        made: list[tuple[int, int] | None] = []
        max_prompt = self.model.cfg.n_positions - 8
        for a, b in pairs:
            toks_a, toks_b = random_selfies(a, rng), random_selfies(b, rng)
            ids_a = self.vocab.encode(toks_a) if toks_a else None
            ids_b = self.vocab.encode(toks_b) if toks_b else None
            if not ids_a or not ids_b:
                made.append(None)
                continue
            ka = max(1, round(rng.uniform(*keep) * len(ids_a)))
            kb = max(1, round(rng.uniform(*keep) * len(ids_b)))
            prompt = [self.vocab.bos, *ids_a[:ka], *ids_b[:kb]]
            if len(prompt) >= max_prompt:
                made.append(None)
                continue
            prompts.append(prompt)
            made.append((ka + kb, len(ids_a) + len(ids_b)))
        return self._complete_edits([a for a, _ in pairs], prompts, made, rng, temperature)

    def _complete_edits(
        self,
        parents: Sequence[str],
        prompts: list[list[int]],
        made: list[tuple[int, int] | None],
        rng: np.random.Generator,
        temperature: float,
    ) -> list[Edit]:
        """Complete ``prompts`` in one call; one Edit per parent (``made[i]`` None: no prompt for it)."""
        tails = self.complete(prompts, seed=int(rng.integers(2**63)), temperature=temperature)
        done = iter(zip(prompts, tails, strict=True))
        edits: list[Edit] = []
        for parent, item in zip(parents, made, strict=True):
            if item is None:
                edits.append(Edit(None, parent, 0, 0))
                continue
            prompt, tail = next(done)
            edits.append(Edit(_decode(self.vocab.decode(prompt[1:] + tail)), parent, *item, written=len(tail)))
        return edits

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
