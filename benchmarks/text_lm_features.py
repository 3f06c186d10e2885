"""text-lm-features on this machine: scoring-LM load time and memory, texts/s and tokens/s batched, and the
latency of one 300-word text (the whole text path: language check, forward pass, features, spans)."""
from __future__ import annotations

import resource
import time

import numpy as np

from detectors.base import MediaInput, MediaType

WORDS = ["the", "council", "said", "on", "monday", "that", "a", "new", "plan", "for", "the", "river", "crossing", "would", "be", "ready", "before", "winter", "and", "that", "residents", "could", "read", "it", "at", "the", "library", "or", "online", "where", "comments", "will", "be", "open", "for", "six", "weeks"]


def _texts(n: int, words: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, words)).capitalize() + "." for _ in range(n)]


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run() -> list[tuple[str, float, str, str]]:
    from django.conf import settings

    from detectors.device import resolve_device
    from detectors.text.lm_detector import LMFeatureTextDetector

    device = resolve_device(settings.FORENSICS_DEVICE)
    before = _peak_rss_gib()
    started = time.perf_counter()
    detector = LMFeatureTextDetector(device=device)
    load_seconds = time.perf_counter() - started
    texts = _texts(32, 220, seed=1)
    detector.score_texts(texts[:2])  # warm-up
    detector.lm._results.clear()
    started = time.perf_counter()
    detector.predict([MediaInput(MediaType.TEXT, text=t) for t in texts])
    seconds = time.perf_counter() - started
    tokens = sum(s.tokens for s in detector.lm.statistics(texts, max_tokens=detector.max_tokens) if s is not None)
    single = _texts(1, 300, seed=2)[0]
    started = time.perf_counter()
    detector.predict([MediaInput(MediaType.TEXT, text=single)])
    latency = time.perf_counter() - started
    note = f"{device}, {len(texts)} texts of 220 words, batch {detector.lm.batch_size}, first {detector.max_tokens} tokens"
    return [
        ("text-lm-features load (scoring LM + model)", load_seconds, "s", device),
        ("text-lm-features predict, batched", len(texts) / seconds, "texts/s", note),
        ("text-lm-features predict, batched", tokens / seconds, "tokens/s", note),
        ("text-lm-features one 300-word text", latency, "s", f"{device}, language check + forward pass + spans"),
        ("text-lm-features peak RSS", _peak_rss_gib(), "GiB", f"process peak; {before:.2f} GiB before loading"),
    ]
