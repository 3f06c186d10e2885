"""Tokenizer and small-LM training on tiny data; the saved directory loads as an ordinary HF model."""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from detectors.text.lm import LMSpec, build_model, perplexity, save_hf, train_model
from detectors.text.tokenizer import train_tokenizer
from tests.detectors.text.conftest import sample_texts


def test_byte_level_tokenizer_round_trips_any_text() -> None:
    tokenizer = train_tokenizer(sample_texts(20), vocab_size=300)
    for text in ["the lazy dog", "Ünïcødé – “quotes” 👋 and\ttabs\n", "  leading spaces"]:
        assert tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text


def test_training_lowers_held_out_perplexity_and_saves_a_loadable_hf_dir(tmp_path: Path) -> None:
    texts = sample_texts(40, words=60)
    tokenizer = train_tokenizer(texts, vocab_size=300)
    spec = LMSpec(role="observer", n_embd=32, n_layer=1, n_head=2, steps=40, include_machine=False,
                  batch_size=8, block_size=64, lr=1e-2)
    held_out = sample_texts(5, words=60, seed=7)
    before = perplexity(build_model(spec, len(tokenizer), tokenizer.eos_token_id), tokenizer, held_out)
    model, stats = train_model(spec, tokenizer, texts)
    after = perplexity(model, tokenizer, held_out)
    assert after < 0.7 * before and stats["tokens_seen"] == 40 * 8 * 64
    sha = save_hf(model, tokenizer, tmp_path / "lm")
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "lm", local_files_only=True, dtype=torch.float32)
    reloaded_tokenizer = AutoTokenizer.from_pretrained(tmp_path / "lm", local_files_only=True)
    assert len(sha) == 64 and reloaded_tokenizer.get_vocab() == tokenizer.get_vocab()
    assert abs(perplexity(loaded, reloaded_tokenizer, held_out) - after) / after < 0.02  # fp16 round trip
