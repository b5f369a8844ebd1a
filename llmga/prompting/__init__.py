"""Prompts for language-model operators: templates in, parsed children out."""

from __future__ import annotations

from llmga.prompting._parse import MAX_REPLY_CHARS, MAX_TOKEN_CHARS, ParsedReply, extract_candidates, parse_reply
from llmga.prompting._templates import PLACEHOLDERS, TEMPLATE_NAMES, Templates

__all__ = [
    "MAX_REPLY_CHARS",
    "MAX_TOKEN_CHARS",
    "PLACEHOLDERS",
    "TEMPLATE_NAMES",
    "ParsedReply",
    "Templates",
    "extract_candidates",
    "parse_reply",
]
