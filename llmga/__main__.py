from __future__ import annotations

from llmga.cli import entry

entry()
