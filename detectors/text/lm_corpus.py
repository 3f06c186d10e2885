"""The training corpus of the LM-feature text detector: several generators, several domains, one normalisation.

- ``human-vs-llm-text``: five open LLMs of 2019-2022 continuing SQuAD and
  WritingPrompts texts; each pair's shared human-written opening is removed
  from both sides (it says nothing about either class).
- ``m4-llama2-chat``: Llama-2-70B-chat answering prompts (arXiv, Reddit ELI5,
  WikiHow, Wikipedia) in varied voices.

Both sides are normalised the same way (detectors/text/normalize.py) and
split by group (detectors/text/data.py) so no human text or its twin
straddles a split.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from detectors.text.data import (
    HUMAN,
    SHARED_CHAT_DIR,
    SHARED_TEXT_DIR,
    LabelledText,
    load_chat_corpus,
    load_shared_corpus,
    without_shared_openings,
)
from detectors.text.normalize import normalise

# Texts shorter than this (in characters, after normalisation) are dropped from training: nothing to learn from.
MIN_CHARS = 200
# Domains with five generators' continuations of each human text: machine texts are plentiful there.
MANY_MACHINE_DOMAINS = frozenset({"squad", "writing"})


def training_corpus(text_dir: Path = SHARED_TEXT_DIR, chat_dir: Path = SHARED_CHAT_DIR) -> list[LabelledText]:
    """Every usable labelled text of both corpora, normalised, in a stable order."""
    texts = without_shared_openings(load_shared_corpus(text_dir)) + load_chat_corpus(chat_dir)
    out = []
    humans_seen: set[str] = set()
    for t in texts:
        if t.label == HUMAN:  # near-identical copies of one human text recur across the model files
            if t.group in humans_seen:
                continue
            humans_seen.add(t.group)
        text = normalise(t.text).text
        if len(text) >= MIN_CHARS:
            out.append(replace(t, text=text))
    return out


def corpus_of(text: LabelledText) -> str:
    """Which training corpus a text comes from; its domain says it (only human-vs-llm-text has five generators'
    continuations of each human text)."""
    return "human-vs-llm-text" if text.domain in MANY_MACHINE_DOMAINS else "m4-llama2-chat"


def scoring_order(texts: list[LabelledText]) -> list[LabelledText]:
    """Scarce texts first (every human text and every chat-model text), then the rest round-robin over
    (domain, generator), so that a scoring run stopped early still leaves a balanced training set."""
    scarce = [t for t in texts if t.label == HUMAN or t.domain not in MANY_MACHINE_DOMAINS]
    buckets: dict[tuple[str, str], list[LabelledText]] = {}
    for t in texts:
        if t.label != HUMAN and t.domain in MANY_MACHINE_DOMAINS:
            buckets.setdefault((t.domain, t.generator), []).append(t)
    queues = [list(v) for _, v in sorted(buckets.items())]
    out = list(scarce)
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out
