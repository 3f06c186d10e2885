"""Tiny HF model pairs built in a temp dir: real transformers models, seconds to make."""
from __future__ import annotations

from pathlib import Path

import pytest

from detectors.text.lm import LMSpec, build_model, save_hf
from detectors.text.tokenizer import train_tokenizer

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "seven", "wizards", "quietly", "hum", "old", "songs", "about", "rivers", "mountains", "and", "bright", "green", "fields", "under", "the", "morning", "sun"]


def sample_texts(n: int, words: int = 90, seed: int = 0) -> list[str]:
    import random

    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(words)) + "." for _ in range(n)]


def tiny_pair(root: Path, tokenizer_texts: list[str] | None = None, vocab_size: int = 300) -> tuple[Path, Path]:
    tokenizer = train_tokenizer(tokenizer_texts or sample_texts(50), vocab_size=vocab_size)
    paths = []
    for seed, role in enumerate(("observer", "performer")):
        spec = LMSpec(role=role, n_embd=16, n_layer=1, n_head=2, steps=0, include_machine=False, seed=seed)
        save_hf(build_model(spec, len(tokenizer), tokenizer.eos_token_id), tokenizer, root / role)
        paths.append(root / role)
    return paths[0], paths[1]


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    return tiny_pair(tmp_path_factory.mktemp("tiny-pair"))
