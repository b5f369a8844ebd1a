"""Crossover and mutation proposed by a language model, a whole generation per backend call.

One generation's parent groups become one batch of prompts sent in a single
:meth:`Backend.generate` call. Each prompt asks for ``k`` children (chat
style: the model lists them; plain style: ``k`` sampled completions of one
child each). Replies are untrusted text: children are parsed, validated,
canonicalised and filtered — parents, molecules already scored in the run,
repeats within the batch and molecules outside the graph GA's filters are
dropped. Groups that come up short are asked again (a bounded number of
rounds); slots still empty are filled by a graph-GA child labelled as a
fallback, so each generation keeps its offspring count. A reasoning model's
``<think>…</think>`` is stripped before a reply is parsed. With a
:class:`GenerationDeadline`, each batch carries the generation's deadline:
prompts not answered by then fail with ``deadline`` and graph GA makes the
children still missing.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from llmga.backends import Backend, Completion, GenerationParams, Prompt, strip_thinking
from llmga.chem import flat
from llmga.operators._base import Child, Operator, Parent, VariationContext, fallback_children
from llmga.operators.graph_ga import GraphCrossover, GraphMutation, MoleculeFilter
from llmga.prompting import MAX_REPLY_CHARS, Templates, parse_reply

if TYPE_CHECKING:
    from llmga.engine import Evaluation

__all__ = ["ExperienceMemo", "GenerationDeadline", "LLMCrossover", "LLMMutation", "LLMOperator", "PromptOptions"]

Style = Literal["chat", "plain"]


@dataclass(frozen=True)
class PromptOptions:
    """What goes into prompts; every switch is recorded with the run."""

    style: Style = "chat"
    hide_objective_name: bool = False
    selfies: bool = False
    neutralize: bool = False  # replies are standardised; this also neutralises their charges (--neutralize)


def _score_text(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.4g}"


_MEMO_CHARS = 1500
_NEXT = "\n<<<next completion>>>\n"


def _clip(text: str, total: int | None = None) -> str:
    """A reply as stored in the call log: at most MAX_REPLY_CHARS characters, marked when cut.

    ``total`` is the reply's length as the model wrote it, when ``text`` is already a shortened copy.
    """
    total = len(text) if total is None else max(total, len(text))
    if total <= MAX_REPLY_CHARS and len(text) == total:
        return text
    return text[:MAX_REPLY_CHARS] + f"\n<<<truncated: {total} characters in all>>>"


def _reply_chars(completion: Completion) -> int:
    """The length of a completion's texts joined as in the call log, as the model wrote them."""
    texts = completion.texts
    lengths = completion.text_chars if len(completion.text_chars) == len(texts) else [len(t) for t in texts]
    return sum(lengths) + len(_NEXT) * max(0, len(texts) - 1)


def _outcome(completion: Completion, answers: Sequence[str], limit: int) -> tuple[str, str]:
    """The error and error kind a call is logged with: the backend's, or ``length`` when the token limit
    cut every reply before any answer (a reasoning model that spent it thinking)."""
    if completion.error:
        return completion.error, completion.error_kind or "error"
    if completion.texts and not any(a.strip() for a in answers) and "length" in completion.finish_reasons:
        return (
            f"length: every reply was cut by the token limit (--max-new-tokens {limit}, plus --reasoning-tokens for "
            "a reasoning model, which thinks first) before any answer; raise them",
            "length",
        )
    return "", ""


class GenerationDeadline:
    """When one generation's LLM calls must be done: ``seconds`` after the first of them, shared by the LLM
    operators and the memo of a run (each generation starts the clock anew)."""

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"an LLM deadline must be a positive number of seconds, got {seconds}")
        self.seconds = float(seconds)
        self._generation: int | None = None
        self._until = 0.0

    def until(self, generation: int) -> float:
        """The :func:`time.monotonic` instant by which ``generation``'s LLM calls must be done."""
        if generation != self._generation:
            self._generation = generation
            self._until = time.monotonic() + self.seconds
        return self._until


class ExperienceMemo:
    """A short memo the model writes about what separates good molecules from poor ones (after ExLLM).

    Every ``every`` generations (written when the generation before is told,
    :meth:`LLMOperator.tell`) the model gets the best molecules so far and
    the worst of the population and summarises the difference; each prompt
    of the LLM operators sharing this memo includes it with probability
    ``probability``. Each memo is one call in ``llm_calls.csv`` (operator
    ``llm_memo``; the reply is the memo).
    """

    def __init__(
        self,
        backend: Backend,
        templates: Templates,
        *,
        every: int,
        probability: float = 0.5,
        params: GenerationParams | None = None,
        log: Callable[[dict[str, Any]], None] | None = None,
        shown: int = 10,
        deadline: GenerationDeadline | None = None,
        seed: int = 0,
    ) -> None:
        self.backend = backend
        self.seed = seed
        self.deadline = deadline
        self.templates = templates
        self.every = every
        self.probability = probability
        self.params = params or GenerationParams()
        self.log = log
        self.shown = shown
        self.text = ""
        self._generation = -1

    def write(self, context: VariationContext) -> None:
        """After a generation is told (``context`` describes the run then): write the memo for the next
        generation when it is due (once per generation, whichever operator sharing it is told first).
        Its sampling seed comes from ``seed`` and the generation, not from the run's generator."""
        generation = context.generation + 1  # the generation the memo is written for
        due = self.every > 0 and generation % self.every == 0
        if not due or self._generation == generation or len(context.population) < 2:
            return
        self._generation = generation
        ranked = list(context.population)
        half = max(1, len(ranked) // 2)
        best, worst = ranked[: min(self.shown, half)], ranked[-min(self.shown, half) :]
        values = {
            "description": context.description,
            "card": context.extra.get("card", ""),
            "better": "higher" if context.direction == "maximize" else "lower",
            "best_molecules": "\n".join(f"{p.smiles} score {_score_text(p.score)}" for p in best),
            "worst_molecules": "\n".join(f"{p.smiles} score {_score_text(p.score)}" for p in worst),
        }
        prompt = Prompt.chat(self.templates.render("memo", values), system=self.templates.render("system", {}))
        until = self.deadline.until(generation) if self.deadline is not None else None
        params = GenerationParams(
            n=1,
            temperature=self.params.temperature,
            max_new_tokens=self.params.max_new_tokens,
            seed=int(np.random.default_rng([self.seed, generation]).integers(2**31)),
            deadline=until,
        )
        started = time.time()
        (completion,) = self.backend.generate([prompt], params)
        reply = strip_thinking(completion.texts[0]).strip() if completion.texts else ""
        if reply:
            self.text = reply[:_MEMO_CHARS]
        error, kind = _outcome(completion, [reply], params.max_new_tokens)
        if self.log is not None:
            self.log(
                {
                    "time": completion.sent_at if completion.sent_at is not None else started,
                    "generation": generation,
                    "operator": "llm_memo",
                    "backend": self.backend.name,
                    "model": self.backend.model,
                    "template": "memo",
                    "prompt": prompt.text(),
                    "reply": reply[:_MEMO_CHARS],
                    "tokens_in": completion.tokens_in,
                    "tokens_out": completion.tokens_out,
                    "latency_s": round(completion.latency_s, 4),
                    "error": error,
                    "error_kind": kind,
                    "finish_reason": ",".join(completion.finish_reasons),
                    "reply_chars": _reply_chars(completion),
                }
            )

    def for_prompt(self, rng: np.random.Generator) -> str:
        """The memo for one prompt: drawn with ``probability``, empty otherwise."""
        if not self.text or rng.random() >= self.probability:
            return ""
        return f"Lessons from earlier generations:\n{self.text}"


class LLMOperator(Operator):
    """A language-model variation operator (see the module docstring).

    ``log(record)`` receives one dict per prompt: time (when its request was
    sent), backend, model, template, prompt, raw reply (clipped), tokens
    in/out, latency, children parsed, valid and new, parent call numbers,
    error and its kind, finish reasons, and the reply's length as written.
    """

    kind: Literal["crossover", "mutation"] = "mutation"
    validated_output = True  # parsed replies are canonicalised; fallbacks come from graph GA

    def __init__(
        self,
        backend: Backend,
        *,
        k: int = 4,
        params: GenerationParams | None = None,
        templates: Templates | None = None,
        options: PromptOptions | None = None,
        fallback: Operator | None = None,
        molecule_filter: MoleculeFilter | None = None,
        max_rounds: int = 2,
        log: Callable[[dict[str, Any]], None] | None = None,
        memo: ExperienceMemo | None = None,
        deadline: GenerationDeadline | None = None,
    ) -> None:
        if k < 1:
            raise ValueError(f"children per call must be at least 1, got {k}")
        self.backend = backend
        self.k = k
        self.children_per_group = k
        self.params = params or GenerationParams()
        self.templates = templates or Templates.load()
        self.options = options or PromptOptions()
        self.filter = molecule_filter or MoleculeFilter()
        self.fallback = fallback if fallback is not None else self._default_fallback()
        self.max_rounds = max_rounds
        self.log = log
        self.memo = memo
        self.deadline = deadline
        self.name = f"llm_{self.kind}"
        self.arity = 2 if self.kind == "crossover" else 1

    def _default_fallback(self) -> Operator:
        return (
            GraphCrossover(self.filter.size_mean, self.filter.size_std)
            if self.kind == "crossover"
            else GraphMutation(self.filter.size_mean, self.filter.size_std)
        )

    # ------------------------------------------------------------------ prompts
    def _template(self) -> str:
        return self.kind if self.options.style == "chat" else f"{self.kind}_plain"

    def _prompt(self, group: Sequence[Parent], context: VariationContext, k: int, rng: np.random.Generator) -> Prompt:
        better = "higher" if context.direction == "maximize" else "lower"
        hide = self.options.hide_objective_name
        values = {
            "objective": "" if hide else context.objective,
            "description": "an undisclosed objective, detailed below" if hide else context.description,
            "card": context.extra.get("card_hidden" if hide else "card", ""),
            "direction": context.direction,
            "better": better,
            "best_score": _score_text(context.best_score),
            "parents": "\n".join(f"<smiles>{p.smiles}</smiles> score {_score_text(p.score)}" for p in group),
            "parents_plain": ".".join(self._encode(p.smiles) for p in group),
            "k": k,
            "memo": self.memo.for_prompt(rng) if self.memo is not None else "",
        }
        user = self.templates.render(self._template(), values)
        if self.options.style == "plain":
            return Prompt.chat(user)
        return Prompt.chat(user, system=self.templates.render("system", values))

    def _encode(self, smiles: str) -> str:
        if not self.options.selfies:
            return smiles
        import selfies

        encoded: str = selfies.encoder(smiles)
        return encoded

    # ------------------------------------------------------------------ apply
    def apply(
        self, groups: Sequence[Sequence[Parent]], rng: np.random.Generator, context: VariationContext
    ) -> list[list[str | Child | None]]:
        until = self.deadline.until(context.generation) if self.deadline is not None else None
        kids: list[list[str | Child | None]] = [[] for _ in groups]
        taken: set[str] = set()
        plain = self.options.style == "plain"
        for _ in range(self.max_rounds):
            todo = [i for i, got in enumerate(kids) if len(got) < self.k]
            if not todo:
                break
            # Past the deadline the backend answers "deadline" at once, sending nothing. Asking it all the same
            # keeps the prompts (and the random stream) independent of timing, so a resumed run, whose replies
            # are replayed at once, asks what the record holds.
            wanted = {i: self.k - len(kids[i]) for i in todo}
            prompts = [self._prompt(groups[i], context, wanted[i], rng) for i in todo]
            # Chat models list k children in one reply; plain models give one child per sample.
            n = max(wanted.values()) if plain else 1
            params = GenerationParams(
                n=n,
                temperature=self.params.temperature,
                top_p=self.params.top_p,
                max_new_tokens=self.params.max_new_tokens,
                seed=int(rng.integers(2**31)),
                deadline=until,
            )
            started = time.time()
            completions = self.backend.generate(prompts, params)
            answers = [[strip_thinking(t) for t in c.texts] for c in completions]
            outcomes = [_outcome(c, a, params.max_new_tokens) for c, a in zip(completions, answers, strict=True)]
            failed = [error for (error, _), c in zip(outcomes, completions, strict=True) if error and not c.texts]
            failed += [error for error, kind in outcomes if kind == "length"]
            if failed:
                warnings.warn(
                    f"{len(failed)} of {len(completions)} requests to {self.backend.name}:{self.backend.model} "
                    f"failed in generation {context.generation} ({failed[0]}); graph GA makes those children",
                    RuntimeWarning,
                    stacklevel=2,
                )
            for i, prompt, completion, texts, (error, kind) in zip(
                todo, prompts, completions, answers, outcomes, strict=True
            ):
                # A parent, also with its stereochemistry dropped, is not a new molecule.
                parents = {p.smiles for p in groups[i]} | {flat(p.smiles) for p in groups[i]}
                parsed = valid = new = 0
                for text in texts:
                    reply = parse_reply(
                        text, selfies=self.options.selfies, max_items=4 * self.k, neutralize=self.options.neutralize
                    )
                    parsed += reply.candidates
                    valid += len(reply.smiles)
                    for smiles in reply.smiles:
                        if len(kids[i]) >= self.k:
                            break
                        if smiles in parents or smiles in taken or context.is_scored(smiles):
                            continue
                        if not self.filter.accepts(smiles, rng):
                            continue
                        taken.add(smiles)
                        kids[i].append(smiles)
                        new += 1
                if self.log is not None:
                    self.log(
                        {
                            "time": completion.sent_at if completion.sent_at is not None else started,
                            "generation": context.generation,
                            "operator": self.name,
                            "backend": self.backend.name,
                            "model": self.backend.model,
                            "template": self._template(),
                            "prompt": prompt.text(),
                            "reply": _clip(_NEXT.join(completion.texts), _reply_chars(completion)),
                            "tokens_in": completion.tokens_in,
                            "tokens_out": completion.tokens_out,
                            "latency_s": round(completion.latency_s, 4),
                            "asked": wanted[i],
                            "parsed": parsed,
                            "valid": valid,
                            "new": new,
                            "parents": " ".join(str(p.call) for p in groups[i]),
                            "error": error,
                            "error_kind": kind,
                            "finish_reason": ",".join(completion.finish_reasons),
                            "reply_chars": _reply_chars(completion),
                        }
                    )
        return self._fill(groups, kids, rng, context)

    def _fill(
        self,
        groups: Sequence[Sequence[Parent]],
        kids: list[list[str | Child | None]],
        rng: np.random.Generator,
        context: VariationContext,
    ) -> list[list[str | Child | None]]:
        """Fill empty slots with graph-GA children, labelled ``<name>(fallback)``, in one batch."""
        slots = [(i, self.k - len(got)) for i, got in enumerate(kids) if len(got) < self.k]
        made = iter(fallback_children(self.fallback, [groups[i] for i, n in slots for _ in range(n)], rng, context))
        for i, missing in slots:
            kids[i].extend(next(made) for _ in range(missing))
        return kids

    def tell(self, evaluations: Sequence[Evaluation], context: VariationContext) -> None:
        """The run's news after each generation: the shared memo is written here when it is due."""
        if self.memo is not None:
            self.memo.write(context)

    def card(self) -> dict[str, Any]:
        return super().card() | {
            **self.backend.card(),
            "k": self.k,
            "temperature": self.params.temperature,
            "top_p": self.params.top_p,
            "max_new_tokens": self.params.max_new_tokens,
            "style": self.options.style,
            "hide_objective_name": self.options.hide_objective_name,
            "selfies": self.options.selfies,
            "neutralize": self.options.neutralize,
            "max_rounds": self.max_rounds,
            "templates": self.templates.source,
            "fallback": self.fallback.name,
            "memo_every": self.memo.every if self.memo is not None else 0,
            "memo_probability": self.memo.probability if self.memo is not None else 0.0,
        }


class LLMCrossover(LLMOperator):
    """Two parents in, ``k`` children per prompt."""

    kind = "crossover"


class LLMMutation(LLMOperator):
    """One parent in, ``k`` children per prompt."""

    kind = "mutation"
