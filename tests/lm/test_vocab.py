from __future__ import annotations

import numpy as np
import selfies as sf

from llmga.chem import canonical
from llmga.lm import Vocab, random_selfies, selfies_tokens
from tests.conftest import ASPIRIN, CAFFEINE, IBUPROFEN


def test_random_selfies_decode_to_the_same_molecule_without_stereo():
    rng = np.random.default_rng(0)
    flat = canonical("CC(C)Cc1ccc(cc1)C(C)C(=O)O")  # ibuprofen without its stereocentre
    variants = set()
    for _ in range(10):
        toks = random_selfies(IBUPROFEN, rng)
        assert toks is not None
        variants.add(tuple(toks))
        assert canonical(sf.decoder("".join(toks))) == flat
    assert len(variants) > 3  # different atom orders give different token sequences
    assert selfies_tokens(ASPIRIN) == selfies_tokens(ASPIRIN)  # canonical order without a generator
    assert selfies_tokens("not a molecule") is None


def test_vocab_encodes_decodes_and_rejects_unknown_tokens(tmp_path):
    vocab = Vocab.from_tokens(selfies_tokens(CAFFEINE) + selfies_tokens(ASPIRIN))
    assert vocab.tokens[:5] == ["<pad>", "<bos>", "<eos>", "<sep>", "<unk>"]
    ids = vocab.encode(selfies_tokens(CAFFEINE))
    assert ids is not None
    assert canonical(sf.decoder(vocab.decode([vocab.bos, *ids, vocab.eos, 7, 8]))) == canonical(CAFFEINE)
    assert vocab.encode(["[Xe]"]) is None
    vocab.save(tmp_path, max_length=64)
    assert Vocab.load(tmp_path).tokens == vocab.tokens


def test_saved_tokenizer_loads_in_transformers_and_agrees(tmp_path):
    from transformers import AutoTokenizer

    vocab = Vocab.from_tokens(selfies_tokens(CAFFEINE) + selfies_tokens(IBUPROFEN))
    vocab.save(tmp_path, max_length=64)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    text = "".join(selfies_tokens(CAFFEINE))
    assert tok(text, add_special_tokens=False)["input_ids"] == vocab.encode(selfies_tokens(CAFFEINE))
    assert tok.decode(vocab.encode(selfies_tokens(CAFFEINE))) == text
    assert tok.eos_token_id == vocab.eos and tok.bos_token_id == vocab.bos and tok.pad_token_id == vocab.pad
