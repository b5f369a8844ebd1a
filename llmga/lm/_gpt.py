"""A small GPT-2 in plain PyTorch: the embedded model's network, with a KV-cache sampler.

The parameter names and shapes are GPT-2's (``transformer.h.0.attn.c_attn.weight``
and so on, Conv1D weights stored as ``[in, out]``), and the saved folder is a
Hugging Face GPT-2 folder (``config.json``, ``model.safetensors``,
``tokenizer.json``), so ``transformers`` loads it as ``GPT2LMHeadModel`` and
``transformers serve`` or vLLM can serve it. Inside llmga this module runs it
instead: importing ``transformers`` alone takes longer than our whole load.

A model trained for crossover also has a fingerprint adapter (``n_cond``
input bits; :mod:`llmga.lm._condition`): vectors computed from a Morgan
fingerprint and added to every token's residual stream before each block. Its weights live in
``fingerprint_adapter.safetensors`` beside the GPT-2 weights, so the folder
stays a plain GPT-2 for ``transformers`` (which runs it unconditioned).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ADAPTER_FILE", "GPT", "GPTConfig"]


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int
    n_positions: int = 256
    n_embd: int = 256
    n_layer: int = 4
    n_head: int = 8
    layer_norm_epsilon: float = 1e-5
    n_cond: int = 0  # fingerprint bits the adapter reads (0: no adapter)

    def hf_config(self, *, bos: int, eos: int, pad: int) -> dict[str, Any]:
        """The ``config.json`` of the equivalent Hugging Face GPT-2."""
        return {
            "architectures": ["GPT2LMHeadModel"],
            "model_type": "gpt2",
            "activation_function": "gelu_new",
            "n_inner": None,
            "resid_pdrop": 0.0,
            "embd_pdrop": 0.0,
            "attn_pdrop": 0.0,
            "tie_word_embeddings": True,
            "bos_token_id": bos,
            "eos_token_id": eos,
            "pad_token_id": pad,
            "torch_dtype": "float16",
            **asdict(self),
        }

    @classmethod
    def from_hf(cls, data: dict[str, Any]) -> GPTConfig:
        if data.get("model_type") != "gpt2":
            raise ValueError(f"not a GPT-2 configuration (model_type {data.get('model_type')!r})")
        sizes = {k: data[k] for k in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head")}
        return cls(**sizes, n_cond=int(data.get("n_cond", 0)))


class _Conv1D(nn.Module):
    """GPT-2's linear layer: ``x @ weight + bias`` with ``weight`` stored as ``[in, out]``."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out).normal_(std=0.02))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).reshape(*x.shape[:-1], -1)


class _Attention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.c_attn = _Conv1D(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = _Conv1D(cfg.n_embd, cfg.n_embd)

    def forward(
        self,
        x: torch.Tensor,
        cache: tuple[torch.Tensor, torch.Tensor] | None,
        start: int,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=t > 1)
            return self.c_proj(y.transpose(1, 2).reshape(b, t, c)), (k, v)
        # A preallocated cache: write the new keys/values in place, attend to everything so far.
        keys, values = cache
        keys[:, :, start : start + t] = k
        values[:, :, start : start + t] = v
        k, v = keys[:, :, : start + t], values[:, :, : start + t]
        if mask is not None:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        elif t == 1:  # one new query after every cached key: nothing to mask
            y = F.scaled_dot_product_attention(q, k, v)
        else:
            mask = torch.ones(t, start + t, dtype=torch.bool, device=x.device).tril(diagonal=start)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.c_proj(y.transpose(1, 2).reshape(b, t, c)), (keys, values)


class _MLP(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.c_fc = _Conv1D(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = _Conv1D(4 * cfg.n_embd, cfg.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class _Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = _Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = _MLP(cfg)

    def forward(
        self,
        x: torch.Tensor,
        cache: tuple[torch.Tensor, torch.Tensor] | None,
        start: int,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        a, cache = self.attn(self.ln_1(x), cache, start, mask)
        x = x + a
        return x + self.mlp(self.ln_2(x)), cache


class _Transformer(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        self.h = nn.ModuleList(_Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)


class _FingerprintAdapter(nn.Module):
    """Fingerprint bits [batch, n_cond] -> offsets [batch, n_layer, n_embd], one added before each block.

    A hidden layer (layer-normalised, so regions of any size give inputs of
    one scale) feeds one projection per block: every layer reads the
    condition directly. The projections start at zero, so a freshly added
    adapter leaves the model exactly as it was; an all-zero fingerprint
    gives zero offsets (no condition).
    """

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_layer = cfg.n_layer
        self.fc = nn.Linear(cfg.n_cond, cfg.n_embd)
        self.ln = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_layer * cfg.n_embd)
        nn.init.normal_(self.fc.weight, std=0.05)
        nn.init.zeros_(self.fc.bias)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, bits: torch.Tensor) -> torch.Tensor:
        given = (bits.sum(dim=-1, keepdim=True) > 0).to(bits.dtype)
        out = self.proj(F.gelu(self.ln(self.fc(bits)))) * given
        return out.view(bits.shape[0], self.n_layer, -1)


Cache = list[tuple[torch.Tensor, torch.Tensor]]
ADAPTER_FILE = "fingerprint_adapter.safetensors"


class GPT(nn.Module):
    """GPT-2 language model with tied input/output embeddings."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.transformer = _Transformer(cfg)
        self.adapter = _FingerprintAdapter(cfg) if cfg.n_cond else None
        # GPT-2's residual projections start smaller, scaled by depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layer))

    def forward(
        self,
        ids: torch.Tensor,
        cache: Cache | None = None,
        start: int = 0,
        pads: torch.Tensor | None = None,
        cond: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, Cache]:
        """Logits for ``ids`` ([batch, time]) at slots ``start...``, and the cache.

        Without ``cache`` (training) the keys and values of ``ids`` come back;
        with one from :meth:`new_cache` they are written into it in place.
        ``pads`` (with a cache; [batch] ints) says how many slots at the start
        of each row are left padding: a row's positions count from its first
        real token and no query attends to its pads, so prompts of different
        lengths, aligned at their ends, are read in one pass. ``cond``
        ([batch, n_layer, n_embd], from :meth:`condition`) is added to each
        row's residual stream before each block.
        """
        t = ids.shape[1]
        positions = torch.arange(start, start + t, device=ids.device)
        mask = None
        if pads is not None and cache is not None:
            slots = torch.arange(start + t, device=ids.device)
            real = slots[None, :] >= pads[:, None]  # [batch, keys]
            causal = slots[None, :] <= positions[:, None]  # [queries, keys]
            # A pad query sees itself only (no row of the mask is empty); real queries never see pads.
            own = slots[None, :] == positions[:, None]
            mask = ((causal[None] & real[:, None, :]) | own[None])[:, None]  # [batch, 1, queries, keys]
            # Rows past their last position (finished, still fed) reuse it: their tokens are discarded.
            pos = (positions[None, :] - pads[:, None]).clamp(0, self.cfg.n_positions - 1)
            x = self.transformer.wte(ids) + self.transformer.wpe(pos)
        else:
            x = self.transformer.wte(ids) + self.transformer.wpe(positions)
        new: Cache = []
        for i, block in enumerate(self.transformer.h):
            if cond is not None:
                x = x + cond[:, i, None, :].to(x.dtype)
            x, kv = block(x, cache[i] if cache is not None else None, start, mask)
            new.append(kv)
        x = self.transformer.ln_f(x)
        return x @ self.transformer.wte.weight.T, new

    def condition(self, bits: torch.Tensor) -> torch.Tensor:
        """The residual offsets [batch, n_layer, n_embd] for fingerprints ``bits`` [batch, n_cond] (0/1)."""
        if self.adapter is None:
            raise ValueError("this model has no fingerprint adapter (it was not trained for crossover)")
        out: torch.Tensor = self.adapter(bits.to(self.adapter.fc.weight.dtype))
        return out

    def add_adapter(self, n_cond: int) -> None:
        """Give the model a fresh fingerprint adapter (it changes nothing until trained)."""
        self.cfg = replace(self.cfg, n_cond=n_cond)
        self.adapter = _FingerprintAdapter(self.cfg).to(self.transformer.wte.weight.dtype)

    def new_cache(self, batch: int, length: int, dtype: torch.dtype = torch.float32) -> Cache:
        """Empty key/value buffers for ``batch`` sequences of up to ``length`` positions (on the model's device)."""
        cfg = self.cfg
        shape = (batch, cfg.n_head, length, cfg.n_embd // cfg.n_head)
        device = self.transformer.wte.weight.device
        return [
            (torch.zeros(shape, dtype=dtype, device=device), torch.zeros(shape, dtype=dtype, device=device))
            for _ in range(cfg.n_layer)
        ]

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # ---------------------------------------------------------- files
    def save(self, path: Path, *, bos: int, eos: int, pad: int) -> None:
        """``config.json`` and ``model.safetensors`` (float16) of the equivalent Hugging Face GPT-2."""
        from safetensors.torch import save_file

        path.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().to(torch.float16).contiguous() for k, v in self.state_dict().items()}
        gpt2 = {k: v for k, v in state.items() if not k.startswith("adapter.")}
        save_file(gpt2, str(path / "model.safetensors"), metadata={"format": "pt"})
        adapter = {k.removeprefix("adapter."): v for k, v in state.items() if k.startswith("adapter.")}
        if adapter:
            save_file(adapter, str(path / ADAPTER_FILE), metadata={"format": "pt"})
        else:
            (path / ADAPTER_FILE).unlink(missing_ok=True)
        config = self.cfg.hf_config(bos=bos, eos=eos, pad=pad)
        (path / "config.json").write_text(json.dumps(config, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path, dtype: torch.dtype = torch.float32) -> GPT:
        from safetensors.torch import load_file

        cfg = GPTConfig.from_hf(json.loads((path / "config.json").read_text()))
        model = cls(cfg)
        state = load_file(str(path / "model.safetensors"))
        state.pop("lm_head.weight", None)  # tied to the input embeddings
        if cfg.n_cond:
            if not (path / ADAPTER_FILE).is_file():
                raise ValueError(f"{path}: config.json has n_cond={cfg.n_cond} but {ADAPTER_FILE} is missing")
            state |= {f"adapter.{k}": v for k, v in load_file(str(path / ADAPTER_FILE)).items()}
        try:
            missing, unexpected = model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=False)
        except RuntimeError as exc:  # shapes that do not fit the configuration
            detail = str(exc).splitlines()[-1].strip()
            raise ValueError(f"{path}: weights do not fit its config.json ({detail})") from None
        if missing or unexpected:
            raise ValueError(f"{path}: weights do not fit a GPT-2 (missing {missing[:3]}, unexpected {unexpected[:3]})")
        return model.to(dtype).eval()
