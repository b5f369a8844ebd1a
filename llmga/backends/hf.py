"""Hugging Face transformers in-process, on CPU or GPU: decoder-only and encoder-decoder models.

A batch of prompts is tokenised with padding (left padding for decoder-only
models, so every prompt ends where generation starts) and sent through one
``model.generate`` call per chunk of ``batch_size`` prompts, with
``num_return_sequences = n``. Chat models use their chat template; models
without one (molecule language models, T5-family seq2seq models) see the
plain prompt text. Sampling is seeded from the run's generator, so a run is
reproducible on the same hardware and library versions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmga.backends._base import (
    Backend,
    BackendError,
    Completion,
    GenerationParams,
    Prompt,
    reasoning_budget,
    rejects_system_role,
)

__all__ = ["HFBackend"]

_INSTALL_HINT = (
    "the hf backend needs PyTorch and transformers: pip install 'llmga[hf]' "
    "(on a CPU-only machine install torch first, e.g. pip install torch --index-url https://download.pytorch.org/whl/cpu)"
)


def _imports() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BackendError(_INSTALL_HINT) from exc
    return torch, transformers


def _context_size(config: Any, tokenizer: Any) -> int | None:
    """The most positions the model takes: from its configuration, else its tokenizer's limit, else None."""
    for name in ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 1_000_000:  # transformers' "no limit" is a huge sentinel
        return limit
    return None


class HFBackend(Backend):
    """A transformers model loaded in this process.

    A prompt that does not fit the model's context (``max_position_embeddings``
    or the like, less the tokens kept for the reply) is not run: its
    completion fails with ``error_kind`` ``context_length``, naming both
    lengths. A chat template that rejects the system role gets the system
    text folded into the first user turn.
    """

    name = "hf"

    def __init__(
        self,
        model: str,
        *,
        device: str = "auto",
        batch_size: int = 64,
        chat: bool | None = None,
        reasoning_tokens: int | None = None,
    ) -> None:
        torch, transformers = _imports()
        self._torch = torch
        self.model = model
        local = Path(model).expanduser()
        looks_local = model.startswith((".", "/", "~")) or local.exists()
        if looks_local and not (local / "config.json").is_file():
            raise BackendError(
                f"model directory {model!r} does not exist or holds no config.json; give a folder saved with "
                "save_pretrained(), or a hub id such as Qwen/Qwen2.5-0.5B-Instruct when you have network"
            )
        source = str(local) if looks_local else model
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            raise BackendError("--device cuda was asked for but PyTorch sees no GPU; use --device cpu or auto")
        self.device = device
        try:
            config = transformers.AutoConfig.from_pretrained(source)
            self.seq2seq = bool(getattr(config, "is_encoder_decoder", False))
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source)
            auto = transformers.AutoModelForSeq2SeqLM if self.seq2seq else transformers.AutoModelForCausalLM
            self.net = auto.from_pretrained(source).to(device).eval()
        except OSError as exc:
            raise BackendError(f"cannot load model {model!r}: {exc}") from exc
        if not self.seq2seq:
            self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.batch_size = max(1, batch_size)
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        self.chat = has_template if chat is None else (chat and has_template)
        self.fold_system = False  # learned: the chat template rejects the system role
        self.context = _context_size(config, self.tokenizer)
        self.reasoning_tokens = reasoning_budget(model, reasoning_tokens)
        eos = getattr(getattr(self.net, "generation_config", None), "eos_token_id", None)
        eos_ids = eos if isinstance(eos, list) else [eos]
        self._eos = {int(t) for t in [*eos_ids, self.tokenizer.eos_token_id] if t is not None}

    def _template(self, prompt: Prompt) -> str:
        messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
        text: str = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return text

    def _render(self, prompt: Prompt) -> str:
        """The prompt as the model reads it: its chat template, the system text folded in where the template
        rejects the system role (learned once), or the plain text for models without a template."""
        if not self.chat:
            return prompt.text()
        if self.fold_system:
            prompt = prompt.folded()
        try:
            return self._template(prompt)
        except Exception as exc:  # jinja2's TemplateError, raised by the template itself
            folded = prompt.folded()
            if folded is prompt or not rejects_system_role(str(exc)):
                raise BackendError(f"the chat template of model {self.model!r} failed: {exc}") from exc
            self.fold_system = True
            return self._template(folded)

    def _encode(self, text: str) -> list[int]:
        # A rendered chat template already holds the special tokens it wants (Llama-3 and DeepSeek templates
        # write BOS): tokenising it with special tokens again would double them.
        ids: list[int] = self.tokenizer(text, add_special_tokens=not self.chat)["input_ids"]
        return ids

    def _too_long(self, length: int, limit: int) -> str | None:
        """Why a prompt of ``length`` tokens cannot be generated from with ``limit`` new tokens, or None."""
        if self.context is None:
            return None
        need = length if self.seq2seq else length + limit
        if need <= self.context:
            return None
        room = "" if self.seq2seq else f" and {limit} are kept for the reply (--max-new-tokens)"
        return (
            f"the prompt is {length} tokens but model {self.model!r} has a context of {self.context} positions"
            f"{room}; shorten the prompts (fewer --children-per-call, no --memo-every), lower --max-new-tokens, "
            "or use a model with a longer context"
        )

    def _finish(self, row: Any, limit: int) -> str:
        """``stop`` when a generated row holds an end-of-sequence token, else ``length`` (cut by the limit)."""
        tokens = set(row.tolist())
        if tokens & self._eos:
            return "stop"
        generated = row.shape[0] - (1 if self.seq2seq else 0)  # seq2seq rows start with the decoder start token
        return "length" if generated >= limit else "stop"

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Completion]:
        torch = self._torch
        limit = params.max_new_tokens + self.reasoning_tokens
        encoded = [self._encode(self._render(p)) for p in prompts]
        out: list[Completion] = [Completion() for _ in prompts]
        fits: list[int] = []
        for i, ids in enumerate(encoded):
            problem = self._too_long(len(ids), limit)
            if problem is None:
                fits.append(i)
            else:
                out[i].tokens_in = len(ids)
                out[i].fail("context_length", problem)
        for start in range(0, len(fits), self.batch_size):
            chunk = fits[start : start + self.batch_size]
            if params.deadline is not None and time.monotonic() >= params.deadline:
                for i in chunk:
                    out[i].fail("deadline", "deadline: the generation's LLM deadline passed before this prompt ran")
                continue
            sent = time.time()
            began = time.perf_counter()
            enc = self.tokenizer.pad({"input_ids": [encoded[i] for i in chunk]}, return_tensors="pt").to(self.device)
            if params.seed is not None:
                torch.manual_seed(params.seed + start)
            sample = params.temperature > 0
            kwargs: dict[str, Any] = {
                "max_new_tokens": limit,
                "num_return_sequences": params.n,
                "do_sample": sample,
                "pad_token_id": self.tokenizer.pad_token_id,
            }
            if sample:
                kwargs.update(temperature=params.temperature, top_p=params.top_p)
            elif params.n > 1:
                kwargs.update(num_beams=params.n)
            with torch.inference_mode():
                generated = self.net.generate(**enc, **kwargs)
            new = generated if self.seq2seq else generated[:, enc["input_ids"].shape[1] :]
            decoded = self.tokenizer.batch_decode(new, skip_special_tokens=True)
            pad = self.tokenizer.pad_token_id
            lengths_in = enc["attention_mask"].sum(dim=1).tolist()
            lengths_out = (new != pad).sum(dim=1).tolist()
            latency = (time.perf_counter() - began) / len(chunk)
            for j, i in enumerate(chunk):
                rows = range(j * params.n, (j + 1) * params.n)
                out[i] = Completion(
                    texts=[decoded[r].strip() for r in rows],
                    tokens_in=int(lengths_in[j]),
                    tokens_out=int(sum(lengths_out[r] for r in rows)),
                    latency_s=latency,
                    finish_reasons=[self._finish(new[r], limit) for r in rows],
                    sent_at=sent,
                )
        return out

    def close(self) -> None:
        del self.net
        if self.device == "cuda":
            self._torch.cuda.empty_cache()

    def card(self) -> dict[str, str]:
        return {"backend": self.name, "model": self.model, "device": self.device, "seq2seq": str(self.seq2seq)}
