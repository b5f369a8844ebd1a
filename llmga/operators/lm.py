"""Operators driven by the embedded chemical language model (:mod:`llmga.lm`).

One model call per generation: every parent's random SELFIES is cut after a
share of its tokens (``keep``) and the model writes the rest, for the whole
batch at once. Children are canonicalised and filtered like any LLM child
(parents, molecules already scored, repeats within the batch and molecules
outside the graph GA's size/ring filters are dropped); slots still empty
after ``max_rounds`` model calls get a graph-GA mutant labelled as a
fallback. Every call is one row of ``llm_calls.csv``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from llmga.chem import flat
from llmga.operators._base import Child, Operator, Parent, VariationContext, fallback_children
from llmga.operators.graph_ga import GraphCrossover, GraphMutation, MoleculeFilter

if TYPE_CHECKING:
    from llmga.engine import Evaluation
    from llmga.lm import Edit, EmbeddedLM, FineTuneSettings, OnlineFineTuner, PolicyTrainer

__all__ = ["LMCrossover", "LMDeNovo", "LMMutation", "LMOperator", "keep_range"]


def keep_range(keep: float, spread: float = 0.15) -> tuple[float, float]:
    """The range of kept token shares centred on ``keep`` (the locality knob), inside [0.02, 0.98].

    The half-width is ``spread`` but never more than the distance to 0 or 1,
    so a knob near either end stays near it (0.97 keeps 94-98 % of the tokens).
    """
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"keep must be a share between 0 and 1, got {keep!r}")
    centre = min(max(keep, 0.02), 0.98)
    half = min(spread, centre - 0.02, 0.98 - centre)
    return centre - half, centre + half


class LMOperator(Operator):
    """Shared machinery of the embedded-model operators: batching, filters, resampling, fallback, logging.

    Subclasses say how one batch of parent groups becomes model edits
    (:meth:`_propose`) and which graph-GA operator fills empty slots.
    """

    validated_output = True
    default_keep = 0.7
    template: str | None = None  # for the call log; None: the kept-prefix template of the mutation

    def __init__(
        self,
        lm: EmbeddedLM | str | None = None,
        *,
        keep: float | None = None,
        temperature: float = 1.0,
        molecule_filter: MoleculeFilter | None = None,
        fallback: Operator | None = None,
        max_rounds: int = 3,
        log: Callable[[dict[str, Any]], None] | None = None,
        finetune: FineTuneSettings | None = None,
        policy: PolicyTrainer | None = None,
    ) -> None:
        self._lm = lm if policy is None else policy.lm
        self.policy = policy
        self.finetune = finetune
        self._tuner: OnlineFineTuner | None = None
        self._tune_due = False  # set by tell() when the run has stalled; the next apply() fine-tunes
        self.keep_share = self.default_keep if keep is None else keep
        self.keep = keep_range(self.keep_share)
        self.temperature = temperature
        self.filter = molecule_filter or MoleculeFilter()
        self.fallback = fallback or self._default_fallback()
        self.max_rounds = max_rounds
        self.log = log

    @property
    def lm(self) -> EmbeddedLM:
        """The model, loaded on first use (a path, ``"embedded"`` or None: the packaged one)."""
        from llmga.lm import EmbeddedLM

        if not isinstance(self._lm, EmbeddedLM):
            self._lm = EmbeddedLM.load(self._lm)
        return self._lm

    def _default_fallback(self) -> Operator | None:
        return GraphMutation(self.filter.size_mean, self.filter.size_std)

    def _propose(self, lm: EmbeddedLM, groups: Sequence[Sequence[Parent]], rng: np.random.Generator) -> list[Edit]:
        """One model edit per group, from one batched model call."""
        raise NotImplementedError

    def apply(
        self, groups: Sequence[Sequence[Parent]], rng: np.random.Generator, context: VariationContext
    ) -> list[list[str | Child | None]]:
        kids: list[str | None] = [None] * len(groups)
        taken: set[str] = set()
        lm = self.lm
        if self._tune_due:
            self._finetune(lm, rng, context)
        for _ in range(self.max_rounds):
            todo = [i for i, kid in enumerate(kids) if kid is None]
            if not todo:
                break
            started = time.time()
            clock = time.perf_counter()
            edits = self._propose(lm, [groups[i] for i in todo], rng)
            latency = time.perf_counter() - clock
            valid = new = 0
            for i, edit in zip(todo, edits, strict=True):
                smiles = edit.smiles
                if smiles is None:
                    continue
                valid += 1
                # A parent with its stereochemistry dropped (the model writes 2D SMILES) is no new molecule.
                if any(smiles in (p.smiles, flat(p.smiles)) for p in groups[i]):
                    continue
                if smiles in taken or context.is_scored(smiles):
                    continue
                if not self.filter.accepts(smiles, rng):
                    continue
                taken.add(smiles)
                kids[i] = smiles
                new += 1
            self._log(
                lm,
                context,
                started,
                operator=self.name,
                template=self.template or f"selfies-prefix keep={self.keep[0]:.2f}-{self.keep[1]:.2f}",
                prompt=f"{len(todo)} parents",
                reply="\n".join(e.smiles or "" for e in edits),
                tokens_in=sum(e.kept + 1 for e in edits),
                tokens_out=sum(e.written for e in edits),
                latency_s=round(latency, 4),
                asked=len(todo),
                parsed=len(edits),
                valid=valid,
                new=new,
                parents=" ".join(",".join(str(p.call) for p in groups[i]) for i in todo),
            )
        return self._fill(groups, kids, rng, context)

    def tell(self, evaluations: Sequence[Evaluation], context: VariationContext) -> None:
        """With a ``policy``, train the model on this generation's evaluations (once per generation, however
        many operators share it; one ``lm_learn`` row in the call log). With ``finetune``, watch the best
        score: when it has stalled for ``finetune.patience`` generations, the next :meth:`apply` fine-tunes
        the model first (it draws from the run's generator, where it always did, so a seed gives the same
        run)."""
        if self.policy is not None:
            started = time.time()
            record = self.policy.learn(evaluations, context.generation, context.direction)
            if record is not None:
                self._log(
                    self.lm,
                    context,
                    started,
                    operator="lm_learn",
                    template="augmented-likelihood",
                    prompt=f"{len(evaluations)} new evaluations, replay of the best {record['replay']}",
                    reply=json.dumps(record),
                    tokens_in=record["tokens"],
                    latency_s=record["seconds"],
                )
        if self.finetune is None:
            return
        from llmga.lm import OnlineFineTuner

        if self._tuner is None:
            self._tuner = OnlineFineTuner(self.lm, self.finetune)
        # The generation about to be proposed judges the best score the generation just told left.
        self._tune_due = self._tuner.observe(context.generation + 1, context.best_score, context.direction)

    def _finetune(self, lm: EmbeddedLM, rng: np.random.Generator, context: VariationContext) -> None:
        """Fine-tune the model on the population's best (one row in the call log)."""
        assert self._tuner is not None, "tell() decides when a fine-tune is due"
        self._tune_due = False
        started = time.time()
        record = self._tuner.tune([p.smiles for p in context.population], rng, context.generation)
        self._log(
            lm,
            context,
            started,
            operator="lm_finetune",
            template="finetune",
            prompt=f"top {record['molecules']} molecules of the population, with ZINC replay",
            reply=json.dumps(record),
            latency_s=record.get("seconds", 0.0),
            error=record.get("skipped", ""),
        )

    def _log(self, lm: EmbeddedLM, context: VariationContext, started: float, **fields: Any) -> None:
        """One row of ``llm_calls.csv`` for a model call or a fine-tune; counts not given are 0."""
        if self.log is None:
            return
        counts = dict.fromkeys(("tokens_in", "tokens_out", "asked", "parsed", "valid", "new"), 0)
        self.log(
            {
                "time": started,
                "generation": context.generation,
                "backend": "embedded",
                "model": str(lm.path or "in-memory"),
                **counts,
                "parents": "",
                "error": "",
                **fields,
            }
        )

    @property
    def finetunes(self) -> int:
        """How many fine-tunes this operator has made so far."""
        return self._tuner.count if self._tuner is not None else 0

    def _fill(
        self,
        groups: Sequence[Sequence[Parent]],
        kids: list[str | None],
        rng: np.random.Generator,
        context: VariationContext,
    ) -> list[list[str | Child | None]]:
        """Graph-GA children, labelled ``<operator>(fallback)``, for the slots the model left empty."""
        missing = [i for i, kid in enumerate(kids) if kid is None]
        out: list[list[str | Child | None]] = [[kid] for kid in kids]
        if self.fallback is None:
            return out
        made = fallback_children(self.fallback, [groups[i] for i in missing], rng, context)
        for i, child in zip(missing, made, strict=True):
            out[i] = [child]
        return out

    def card(self) -> dict[str, Any]:
        path = self._lm.path if not isinstance(self._lm, (str, type(None))) else self._lm
        return super().card() | {
            "model": str(path or "embedded"),
            "keep": self.keep_share,
            "keep_range": list(self.keep),
            "temperature": self.temperature,
            "max_rounds": self.max_rounds,
            "fallback": self.fallback.name if self.fallback is not None else None,
            "size_mean": self.filter.size_mean,
            "size_std": self.filter.size_std,
            "finetune": dataclasses.asdict(self.finetune) if self.finetune is not None else None,
            "policy": dataclasses.asdict(self.policy.settings) if self.policy is not None else None,
        }


class LMMutation(LMOperator):
    """Rewrite the end of a random SELFIES of each parent with the embedded model (one child per parent)."""

    name = "lm_mutation"
    arity = 1

    def _propose(self, lm: EmbeddedLM, groups: Sequence[Sequence[Parent]], rng: np.random.Generator) -> list[Edit]:
        return lm.edit([g[0].smiles for g in groups], rng, keep=self.keep, temperature=self.temperature)


class LMDeNovo(LMOperator):
    """Molecules the model writes from nothing (``<bos>``): the policy's own samples, one per group.

    It takes no parents (``arity`` 0: a recipe gives it empty groups, and its
    children have no parents in the record). With a policy that learns from
    every generation (:class:`~llmga.lm.PolicyTrainer`) these samples move
    toward what scores well, beyond the population's neighbourhood. A slot
    the model leaves empty after ``max_rounds`` stays empty (no parent to
    mutate instead).
    """

    name = "lm_denovo"
    arity = 0
    template = "de novo from <bos>"

    def _default_fallback(self) -> Operator | None:
        return None

    def _propose(self, lm: EmbeddedLM, groups: Sequence[Sequence[Parent]], rng: np.random.Generator) -> list[Edit]:
        return lm.sample(len(groups), rng, temperature=self.temperature)

    def card(self) -> dict[str, Any]:
        card = super().card()
        del card["keep"], card["keep_range"]
        return card


class LMCrossover(LMOperator):
    """The embedded model writes a child given both parents (one child per pair).

    The prompt is a prefix of a random SELFIES of A; the model, conditioned
    on the Morgan bits of that prefix and of a region of B, writes the rest
    (see :meth:`llmga.lm.EmbeddedLM.cross`). ``keep`` does not apply: A's
    share is drawn from 0.35-0.65 and B's region is the rest's share of B.
    """

    name = "lm_crossover"
    arity = 2
    template = "selfies-prefix of A + Morgan bits of that prefix and a region of B"

    def _default_fallback(self) -> Operator:
        return GraphCrossover(self.filter.size_mean, self.filter.size_std)

    def _propose(self, lm: EmbeddedLM, groups: Sequence[Sequence[Parent]], rng: np.random.Generator) -> list[Edit]:
        pairs = [(g[0].smiles, g[1].smiles) for g in groups]
        return lm.cross(pairs, rng, temperature=self.temperature)

    def card(self) -> dict[str, Any]:
        card = super().card()
        del card["keep"], card["keep_range"]
        return card
