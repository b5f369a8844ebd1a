"""SELFIES token vocabulary of the embedded model, and the molecule <-> token conversions.

The model reads and writes SELFIES (Krenn et al. 2020): every token sequence
decodes to a valid molecule, so sampled children are valid by construction.
Training uses randomized SMILES (atoms renumbered by the run's generator)
converted to SELFIES, so a prefix of a parent's tokens can start at any atom
and any part of a molecule can be rewritten. Stereochemistry is dropped: the
GA would otherwise spend oracle calls on stereoisomers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from rdkit import Chem

from llmga.chem import quiet_rdkit, to_mol

__all__ = ["SPECIALS", "Vocab", "random_selfies", "selfies_tokens"]

PAD, BOS, EOS, SEP, UNK = "<pad>", "<bos>", "<eos>", "<sep>", "<unk>"
SPECIALS = (PAD, BOS, EOS, SEP, UNK)

# Structural SELFIES tokens that any molecule may need, whether or not the training data showed them.
_STRUCTURE = tuple(
    f"[{bond}{kind}{size}]" for bond in ("", "=", "#") for kind in ("Branch", "Ring") for size in (1, 2, 3)
)


def selfies_tokens(smiles: str | Chem.Mol, rng: np.random.Generator | None = None) -> list[str] | None:
    """SELFIES tokens of a molecule without stereochemistry, from a random atom order when ``rng`` is given."""
    import selfies as sf

    mol = to_mol(smiles) if isinstance(smiles, str) else smiles
    if mol is None:
        return None
    mol = Chem.Mol(mol)
    Chem.RemoveStereochemistry(mol)
    if rng is not None and mol.GetNumAtoms() > 1:
        mol = Chem.RenumberAtoms(mol, rng.permutation(mol.GetNumAtoms()).tolist())
    try:
        with quiet_rdkit():
            text = Chem.MolToSmiles(mol, canonical=rng is None, isomericSmiles=False)
        encoded = sf.encoder(text)
    except Exception:  # noqa: BLE001 - selfies raises its own EncoderError and others on odd molecules
        return None
    if not encoded:
        return None
    return list(sf.split_selfies(encoded))


def random_selfies(smiles: str, rng: np.random.Generator) -> list[str] | None:
    """Tokens of one randomized SELFIES of ``smiles`` (see :func:`selfies_tokens`)."""
    return selfies_tokens(smiles, rng)


class Vocab:
    """Token <-> id tables; ids 0-4 are the special tokens ``<pad> <bos> <eos> <sep> <unk>``."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary starts with the special tokens {SPECIALS}")
        self.tokens = list(tokens)
        self.index = {tok: i for i, tok in enumerate(self.tokens)}
        self.pad, self.bos, self.eos, self.sep, self.unk = (self.index[t] for t in SPECIALS)

    @classmethod
    def from_tokens(cls, seen: Iterable[str]) -> Vocab:
        """Specials, then the structural tokens, then every other token seen, sorted (deterministic)."""
        rest = sorted(set(seen) - set(_STRUCTURE) - set(SPECIALS))
        return cls([*SPECIALS, *_STRUCTURE, *rest])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Sequence[str]) -> list[int] | None:
        """Ids of ``tokens``; ``None`` when one is not in the vocabulary."""
        ids = [self.index.get(t, -1) for t in tokens]
        return None if -1 in ids else ids

    def decode(self, ids: Iterable[int]) -> str:
        """The SELFIES string of ``ids`` up to the first ``<eos>``/``<sep>``/``<pad>``; ``<bos>`` skipped."""
        out = []
        for i in ids:
            if i in (self.eos, self.sep, self.pad):
                break
            if i != self.bos and 0 <= i < len(self.tokens):
                out.append(self.tokens[i])
        return "".join(out)

    # ---------------------------------------------------------- Hugging Face files
    def save(self, path: Path, max_length: int) -> None:
        """``tokenizer.json`` (+ ``tokenizer_config.json``) that ``AutoTokenizer`` loads offline."""
        vocab = {tok: i for i, tok in enumerate(self.tokens)}
        specials = [
            {
                "id": i,
                "content": tok,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for i, tok in enumerate(SPECIALS)
        ]
        tokenizer = {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": specials,
            "normalizer": None,
            "pre_tokenizer": {
                "type": "Split",
                "pattern": {"Regex": r"\[[^\]]*\]|<[a-z]+>"},
                "behavior": "Isolated",
                "invert": False,
            },
            "post_processor": None,
            "decoder": {"type": "Fuse"},
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": UNK},
        }
        config = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": max_length,
            "pad_token": PAD,
            "bos_token": BOS,
            "eos_token": EOS,
            "sep_token": SEP,
            "unk_token": UNK,
            "clean_up_tokenization_spaces": False,
        }
        (path / "tokenizer.json").write_text(json.dumps(tokenizer, indent=1, ensure_ascii=False) + "\n")
        (path / "tokenizer_config.json").write_text(json.dumps(config, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> Vocab:
        data = json.loads((path / "tokenizer.json").read_text())
        vocab: dict[str, int] = data["model"]["vocab"]
        tokens = [""] * len(vocab)
        for tok, i in vocab.items():
            tokens[i] = tok
        return cls(tokens)
