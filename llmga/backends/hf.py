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

from llmga.backends._base import Backend, BackendError, Completion, GenerationParams, Prompt

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


class HFBackend(Backend):
    """A transformers model loaded in this process."""

    name = "hf"

    def __init__(self, model: str, *, device: str = "auto", batch_size: int = 64, chat: bool | None = None) -> None:
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

    def _render(self, prompt: Prompt) -> str:
        if self.chat:
            messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
            text: str = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            return text
        return prompt.text()

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Completion]:
        torch = self._torch
        texts = [self._render(p) for p in prompts]
        out: list[Completion] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            began = time.perf_counter()
            enc = self.tokenizer(chunk, return_tensors="pt", padding=True).to(self.device)
            if params.seed is not None:
                torch.manual_seed(params.seed + start)
            sample = params.temperature > 0
            kwargs: dict[str, Any] = {
                "max_new_tokens": params.max_new_tokens,
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
            for i in range(len(chunk)):
                rows = range(i * params.n, (i + 1) * params.n)
                out.append(
                    Completion(
                        texts=[decoded[r].strip() for r in rows],
                        tokens_in=int(lengths_in[i]),
                        tokens_out=int(sum(lengths_out[r] for r in rows)),
                        latency_s=latency,
                    )
                )
        return out

    def close(self) -> None:
        del self.net
        if self.device == "cuda":
            self._torch.cuda.empty_cache()

    def card(self) -> dict[str, str]:
        return {"backend": self.name, "model": self.model, "device": self.device, "seq2seq": str(self.seq2seq)}
