"""Turn a language model's reply — untrusted text — into candidate molecules.

Nothing in a reply is ever executed. The parser looks, in order, for
``<smiles>…</smiles>`` tags (what our templates ask for), MolLEO-style
``\\box{…}``, JSON (``{"molecules": [...]}``, a list of strings or of
``{"smiles": ...}`` objects, bare or in a fenced block; read with
``json.loads`` only), then fenced code blocks, then bare SMILES-like tokens;
Markdown emphasis, bullets and numbering around a molecule are stripped. It
keeps the first ``max_items`` distinct candidates and reports what it dropped.

Lengths are checked before RDKit sees any text: a reply is cut to
:data:`MAX_REPLY_CHARS` and a candidate longer than :data:`MAX_TOKEN_CHARS`
is never parsed. Each candidate then goes through
:func:`llmga.chem.standardize`, the step every molecule entering llmga takes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmga.chem import StandardizationReport, canonical, standardize

__all__ = ["MAX_REPLY_CHARS", "MAX_TOKEN_CHARS", "ParsedReply", "extract_candidates", "parse_reply"]

MAX_REPLY_CHARS = 20_000  # a reply longer than this is truncated (and counted as such)
MAX_TOKEN_CHARS = 300  # no SMILES of interest is longer; a longer candidate is dropped unparsed
_MAX_JSON_DEPTH = 8  # how deep in a JSON reply molecules are looked for
_MAX_JSON_STARTS = 20  # '{' / '[' positions a JSON value is tried at

_TAGGED = re.compile(r"<smiles>\s*(.*?)\s*</smiles>", re.IGNORECASE | re.DOTALL)
_BOXED = re.compile(r"\\box(?:ed)?\{([^{}]*)\}")
_FENCED = re.compile(r"```[A-Za-z]*\s*\n?(.*?)```", re.DOTALL)
_SMILES_TOKEN = re.compile(r"^[A-Za-z0-9@+\-\[\]()=#$%/\\.:~*]+$")
_SELFIES_TOKEN = re.compile(r"^(\[[^\[\]\s]+\])+$")
_SMILES_SYNTAX = re.compile(r"[0-9()=#\[\]@+\-/\\]")
# A Markdown list marker opening a line: a bullet (-, *, +, •) or a number ("1.", "2)") and a space.
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-*+•]|\d+[.)])[ \t]+", re.MULTILINE)
_NUMBERED = re.compile(r"^\d+[.)]\s*")  # "1.CCO", "2) CCN": a number glued to the molecule
_WRAPPERS = ("**", "__", "*", "_", "`")  # Markdown emphasis and code around a molecule
_LETTER = re.compile(r"[A-Za-z]")
_JSON_START = re.compile(r"[\[{]")
_SMILES_KEYS = frozenset({"smiles", "selfies", "molecule", "mol", "structure"})


@dataclass
class ParsedReply:
    """What a reply yielded: valid canonical SMILES (in order, distinct) and the counts of the rest.

    ``standardized`` counts the kept molecules that standardisation changed
    (a salt's counter-ion removed ...); ``standardization`` has the full
    report, dropped candidates by reason included.
    """

    smiles: list[str] = field(default_factory=list)
    candidates: int = 0
    invalid: int = 0
    duplicates: int = 0
    truncated: bool = False
    invalid_examples: list[str] = field(default_factory=list)
    standardized: int = 0
    standardization: StandardizationReport = field(default_factory=StandardizationReport)


def _strip(token: str) -> str:
    return token.strip().strip("`'\".,;:!?").strip()


def _clean(token: str) -> str:
    """A candidate without what surrounds it: list marker, emphasis, code ticks, quotes, parentheses, punctuation."""
    token = _NUMBERED.sub("", _LIST_MARKER.sub("", token.strip(), count=1))
    while True:
        before = token
        token = _strip(token)
        for mark in _WRAPPERS:
            if len(token) > 2 * len(mark) and token.startswith(mark) and token.endswith(mark):
                token = token[len(mark) : -len(mark)]
                break
        # No SMILES opens with a branch: "(" there, and a ")" it leaves unbalanced, are prose.
        token = token.removeprefix("(")
        if token.endswith(")") and token.count(")") > token.count("("):
            token = token[:-1]
        if token == before:
            return token


def _json_strings(value: Any, depth: int = 0) -> list[str]:
    """Molecule strings in a parsed JSON value: the strings of lists, and ``smiles``-like keys of objects."""
    if depth > _MAX_JSON_DEPTH:
        return []
    out: list[str] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                out.append(item)
            else:
                out.extend(_json_strings(item, depth + 1))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                if str(key).strip().lower() in _SMILES_KEYS:
                    out.append(item)
            elif isinstance(item, (list, dict)):
                out.extend(_json_strings(item, depth + 1))
    return out


def _json_candidates(text: str) -> list[str]:
    """Molecules of the first JSON value (in a fenced block, or anywhere in ``text``) that names any."""
    decoder = json.JSONDecoder()
    for source in [*_FENCED.findall(text), text]:
        for tries, match in enumerate(_JSON_START.finditer(source)):
            if tries >= _MAX_JSON_STARTS:
                break
            try:
                value, _ = decoder.raw_decode(source, match.start())
            except (ValueError, RecursionError):
                continue
            # Prose is no molecule: a list item with a space inside ("a good idea") is left out.
            found = [c for c in (_clean(s) for s in _json_strings(value)) if c and not re.search(r"\s", c)]
            if found:
                return found
    return []


def _looks_like_smiles(token: str) -> bool:
    # Words that look like SMILES have SMILES syntax (ring digits, bonds, brackets) or parse with
    # 3+ characters (so prose such as "I" or "No" is neither a child nor counted as invalid).
    # A token without a letter ("1", "-", "---" of a list or table) names no atom. The length
    # check comes first: RDKit never sees an overlong token.
    if len(token) > MAX_TOKEN_CHARS or not _SMILES_TOKEN.match(token) or not _LETTER.search(token):
        return False
    return bool(_SMILES_SYNTAX.search(token)) or (len(token) >= 3 and canonical(token) is not None)


def extract_candidates(text: str, *, selfies: bool = False, max_items: int = 64) -> list[str]:
    """Candidate molecule strings found in ``text``, in order, before validation.

    Candidates longer than :data:`MAX_TOKEN_CHARS` are left out (never parsed).
    """
    text = text[:MAX_REPLY_CHARS]
    found = [m for m in _TAGGED.findall(text) if m.strip()]
    if not found:
        found = _BOXED.findall(text)
    if not found:
        found = _json_candidates(text)
    if not found:
        blocks = _FENCED.findall(text)
        found = [line for block in blocks for line in block.splitlines()]
    if not found:
        # Bare tokens: SELFIES strings, or words that look like SMILES.
        tokens = [_clean(t) for t in re.split(r"[\s,;|]+", _LIST_MARKER.sub("", text))]
        if selfies:
            found = [t for t in tokens if len(t) <= MAX_TOKEN_CHARS and _SELFIES_TOKEN.match(t)]
        else:
            found = [t for t in tokens if _looks_like_smiles(t)]
    out: list[str] = []
    for item in found:
        token = _clean(item)
        if token and len(token) <= MAX_TOKEN_CHARS and token not in out:
            out.append(token)
        if len(out) >= max_items:
            break
    return out


def _selfies_decoder() -> Callable[[str], str | None]:
    try:
        import selfies
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from llmga.errors import LLMGAError

        raise LLMGAError("SELFIES replies need the selfies package: pip install selfies") from exc

    def decode(text: str) -> str | None:
        try:
            out: str | None = selfies.decoder(text)
        except Exception:  # noqa: BLE001 - any decoding failure is an invalid child
            return None
        return out

    return decode


def parse_reply(text: str, *, selfies: bool = False, max_items: int = 64, neutralize: bool = False) -> ParsedReply:
    """Valid, distinct, standardised canonical SMILES from a reply, with counts of what was dropped.

    Each candidate goes through :func:`llmga.chem.standardize` (``neutralize``
    as the run's ``--neutralize``): a salt gives its parent molecule, a
    candidate with a dummy atom (``*``) is invalid.
    """
    result = ParsedReply(truncated=len(text) > MAX_REPLY_CHARS)
    decode = _selfies_decoder() if selfies else None
    for candidate in extract_candidates(text, selfies=selfies, max_items=max_items):
        result.candidates += 1
        smiles = decode(candidate) if decode is not None else candidate
        outcome = standardize(smiles, neutralize=neutralize)
        result.standardization.add(candidate, outcome)
        canon = outcome.smiles
        if canon is None:
            result.invalid += 1
            if len(result.invalid_examples) < 3:
                result.invalid_examples.append(candidate[:80])
        elif canon in result.smiles:
            result.duplicates += 1
        else:
            result.smiles.append(canon)
            result.standardized += outcome.changed
    return result
