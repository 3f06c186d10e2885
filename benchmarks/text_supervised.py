"""text-supervised throughput on this machine's CPU: scores only, and full findings with evidence spans."""
from __future__ import annotations

import time

import numpy as np

from detectors.base import MediaInput, MediaType
from detectors.text.data import SHARED_TEXT_DIR, load_shared_corpus, split_corpus


def _texts(n: int) -> tuple[list[str], str]:
    if SHARED_TEXT_DIR.is_dir():
        return [t.text for t in split_corpus(load_shared_corpus(), "test")][:n], "held-out corpus texts"
    rng = np.random.default_rng(0)
    words = ["the", "of", "and", "a", "to", "in", "is", "was", "that", "for", "on", "with", "as", "by", "at", "from", "his", "her", "it"]
    return [" ".join(rng.choice(words, 150)) for _ in range(n)], "synthetic 150-word texts"


def run() -> list[tuple[str, float, str, str]]:
    from detectors.text.supervised import SupervisedTextDetector

    detector = SupervisedTextDetector()
    texts, source = _texts(400)
    words = sum(len(t.split()) for t in texts)
    detector.score_texts(texts[:10])  # warm up
    start = time.perf_counter()
    detector.score_texts(texts)
    seconds = time.perf_counter() - start
    rows = [("text-supervised score_texts", len(texts) / seconds, "texts/s", f"cpu, {source}"),
            ("text-supervised score_texts", words / seconds, "words/s", f"cpu, {words / len(texts):.0f} words/text")]
    batch = [MediaInput(MediaType.TEXT, text=t) for t in texts[:100]]
    start = time.perf_counter()
    detector.predict(batch)
    rows.append(("text-supervised predict with spans", len(batch) / (time.perf_counter() - start), "texts/s", "cpu"))
    return rows
