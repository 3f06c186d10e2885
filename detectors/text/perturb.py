"""Edits that people make to machine text before posting it: the robustness rows of the text evaluation.

All deterministic for a given seed, so the rows in the model card are reproducible.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

SENTENCE = re.compile(r"(?<=[.!?])\s+")
WORD = re.compile(r"[A-Za-z]+")


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE.split(text.strip()) if s]


def substitute_words(text: str, fraction: float, vocabulary: Sequence[str], rng: np.random.Generator) -> str:
    """Replace ``fraction`` of the alphabetic words with words drawn from ``vocabulary`` (a crude paraphrase)."""
    matches = list(WORD.finditer(text))
    if not matches or not vocabulary:
        return text
    chosen = set(rng.choice(len(matches), size=max(1, round(fraction * len(matches))), replace=False).tolist())
    out, last = [], 0
    for k, m in enumerate(matches):
        out.append(text[last:m.start()])
        out.append(str(vocabulary[int(rng.integers(len(vocabulary)))]) if k in chosen else m.group(0))
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def shuffle_sentences(text: str, rng: np.random.Generator) -> str:
    parts = sentences(text)
    order = rng.permutation(len(parts))
    return " ".join(parts[i] for i in order)


def mix_with_human(machine: str, human: str, fraction: float, rng: np.random.Generator) -> str:
    """A human-edited machine text: ``fraction`` of its sentences replaced by sentences of a human text."""
    ours, theirs = sentences(machine), sentences(human)
    if not ours or not theirs:
        return machine
    k = min(len(theirs), max(1, round(fraction * len(ours))))
    positions = sorted(rng.choice(len(ours), size=min(k, len(ours)), replace=False).tolist())
    for position, sentence in zip(positions, theirs[:k]):
        ours[position] = sentence
    return " ".join(ours)
