"""Turn a language model's reply — untrusted text — into candidate molecules.

Nothing in a reply is ever executed. The parser looks, in order, for
``<smiles>…</smiles>`` tags (what our templates ask for), MolLEO-style
``\\box{…}``, then fenced code blocks, then bare SMILES-like tokens; it keeps
the first ``max_items`` distinct candidates and reports what it dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from llmga.chem import canonical

__all__ = ["MAX_REPLY_CHARS", "ParsedReply", "extract_candidates", "parse_reply"]

MAX_REPLY_CHARS = 20_000  # a reply longer than this is truncated (and counted as such)
_MAX_TOKEN = 300  # no SMILES of interest is longer

_TAGGED = re.compile(r"<smiles>\s*(.*?)\s*</smiles>", re.IGNORECASE | re.DOTALL)
_BOXED = re.compile(r"\\box(?:ed)?\{([^{}]*)\}")
_FENCED = re.compile(r"```[A-Za-z]*\s*\n?(.*?)```", re.DOTALL)
_SMILES_TOKEN = re.compile(r"^[A-Za-z0-9@+\-\[\]()=#$%/\\.:~*]+$")
_SELFIES_TOKEN = re.compile(r"^(\[[^\[\]\s]+\])+$")
_SMILES_SYNTAX = re.compile(r"[0-9()=#\[\]@+\-/\\]")


@dataclass
class ParsedReply:
    """What a reply yielded: valid canonical SMILES (in order, distinct) and the counts of the rest."""

    smiles: list[str] = field(default_factory=list)
    candidates: int = 0
    invalid: int = 0
    duplicates: int = 0
    truncated: bool = False
    invalid_examples: list[str] = field(default_factory=list)


def _strip(token: str) -> str:
    return token.strip().strip("`'\".,;:!?").strip()


def extract_candidates(text: str, *, selfies: bool = False, max_items: int = 64) -> list[str]:
    """Candidate molecule strings found in ``text``, in order, before validation."""
    text = text[:MAX_REPLY_CHARS]
    found = [m for m in _TAGGED.findall(text) if m.strip()]
    if not found:
        found = _BOXED.findall(text)
    if not found:
        blocks = _FENCED.findall(text)
        found = [line for block in blocks for line in block.splitlines()]
    if not found:
        # Bare tokens: SELFIES strings, or words that look like SMILES — they have SMILES
        # syntax (ring digits, bonds, brackets) or parse with 3+ characters (so prose such
        # as "I" or "No" is neither a child nor counted as invalid).
        tokens = [_strip(t) for t in re.split(r"[\s,;]+", text)]
        if selfies:
            found = [t for t in tokens if _SELFIES_TOKEN.match(t)]
        else:
            found = [
                t
                for t in tokens
                if _SMILES_TOKEN.match(t) and (_SMILES_SYNTAX.search(t) or (len(t) >= 3 and canonical(t) is not None))
            ]
    out: list[str] = []
    for item in found:
        token = _strip(item)
        # A numbered list item ("1. CCO", "2) CCN") keeps only the molecule.
        token = re.sub(r"^\d+[.)]\s*", "", token)
        if token and len(token) <= _MAX_TOKEN and token not in out:
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


def parse_reply(text: str, *, selfies: bool = False, max_items: int = 64) -> ParsedReply:
    """Valid, distinct, canonical SMILES from a reply, with counts of what was dropped."""
    result = ParsedReply(truncated=len(text) > MAX_REPLY_CHARS)
    decode = _selfies_decoder() if selfies else None
    for candidate in extract_candidates(text, selfies=selfies, max_items=max_items):
        result.candidates += 1
        smiles = decode(candidate) if decode is not None else candidate
        canon = canonical(smiles) if smiles else None
        if canon is None:
            result.invalid += 1
            if len(result.invalid_examples) < 3:
                result.invalid_examples.append(candidate[:80])
        elif canon in result.smiles:
            result.duplicates += 1
        else:
            result.smiles.append(canon)
    return result
