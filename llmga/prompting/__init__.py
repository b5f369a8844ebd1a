"""Prompts for language-model operators: reply parsing (templates follow)."""

from __future__ import annotations

from llmga.prompting._parse import MAX_REPLY_CHARS, ParsedReply, extract_candidates, parse_reply

__all__ = ["MAX_REPLY_CHARS", "ParsedReply", "extract_candidates", "parse_reply"]
