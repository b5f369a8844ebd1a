"""Prompt templates: files rendered with ``string.Template`` (``$name`` placeholders)."""

from __future__ import annotations

import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from llmga.errors import ConfigError

__all__ = ["PLACEHOLDERS", "TEMPLATE_NAMES", "Templates"]

TEMPLATE_NAMES = ("system", "crossover", "mutation", "crossover_plain", "mutation_plain", "memo")
PLACEHOLDERS = (
    "objective",
    "description",
    "card",
    "direction",
    "better",
    "best_score",
    "parents",
    "parents_plain",
    "k",
    "memo",
    "best_molecules",
    "worst_molecules",
)


@dataclass(frozen=True)
class Templates:
    """The prompt templates of a run, by name (see ``prompts/README.md``)."""

    texts: dict[str, str]
    source: str

    @classmethod
    def load(cls, prompt_dir: str | Path | None = None) -> Templates:
        """Templates from ``prompt_dir`` (files it lacks come from the shipped set), checked now.

        Raises :class:`~llmga.errors.ConfigError` naming an unknown placeholder
        or a missing folder, so a bad template fails before any oracle call.
        """
        shipped = resources.files("llmga") / "prompts"
        texts = {name: (shipped / f"{name}.txt").read_text() for name in TEMPLATE_NAMES}
        source = "shipped"
        if prompt_dir is not None:
            folder = Path(prompt_dir)
            if not folder.is_dir():
                raise ConfigError(f"--prompt-dir {str(prompt_dir)!r} is not a folder; copy prompts/ and edit it")
            found = {name: folder / f"{name}.txt" for name in TEMPLATE_NAMES if (folder / f"{name}.txt").is_file()}
            if not found:
                raise ConfigError(
                    f"--prompt-dir {str(prompt_dir)!r} holds none of {', '.join(n + '.txt' for n in TEMPLATE_NAMES)}"
                )
            texts.update({name: path.read_text() for name, path in found.items()})
            source = str(folder)
        templates = cls(texts, source)
        templates.check()
        return templates

    def check(self) -> None:
        """Render every template with dummy values: unknown placeholders or a stray ``$`` fail here."""
        dummy = dict.fromkeys(PLACEHOLDERS, "x")
        for name, text in self.texts.items():
            try:
                string.Template(text).substitute(dummy)
            except KeyError as exc:
                raise ConfigError(
                    f"prompt template {name}.txt ({self.source}) uses unknown placeholder ${exc.args[0]}; "
                    f"valid placeholders: {', '.join('$' + p for p in PLACEHOLDERS)}"
                ) from None
            except ValueError as exc:
                raise ConfigError(
                    f"prompt template {name}.txt ({self.source}) has a stray '$' ({exc}); write $$ for a literal $"
                ) from None

    def render(self, name: str, values: dict[str, object]) -> str:
        """The template ``name`` with ``values`` filled in.

        Placeholders not given are left empty, and runs of blank lines collapse to one.
        """
        filled = dict.fromkeys(PLACEHOLDERS, "") | {k: str(v) for k, v in values.items()}
        text = string.Template(self.texts[name]).substitute(filled)
        lines = text.strip().splitlines()
        kept = [line for i, line in enumerate(lines) if line.strip() or (i > 0 and lines[i - 1].strip())]
        return "\n".join(kept).strip()
