"""Text detector throughput on this machine's CPU (GPU when FORENSICS_DEVICE=cuda), in tokens/s."""
from __future__ import annotations

import os
import time

from detectors.base import MediaInput, MediaType
from detectors.device import resolve_device

N_TEXTS = 64


def _texts() -> list[str]:
    """Held-out corpus texts when the shared corpus is there, otherwise a fixed stand-in of similar length."""
    from detectors.text.data import SHARED_TEXT_DIR, load_shared_corpus, split_corpus

    if SHARED_TEXT_DIR.is_dir():
        return [t.text for t in split_corpus(load_shared_corpus(), "test")[:N_TEXTS]]
    return [f"Sample {i}: the committee met on Tuesday to review the budget and agreed to revisit it in spring. " * 8
            for i in range(N_TEXTS)]


def run() -> list[tuple[str, float, str, str]]:
    from detectors.registry import create_detector

    device = resolve_device(os.environ.get("FORENSICS_DEVICE", "auto"))
    texts = _texts()
    detector = create_detector("text-binoculars", device=device)
    tokens = sum(min(detector.pair.count_tokens(t) + 1, detector.pair.max_tokens) - 1 for t in texts)
    detector.score_texts(texts[:4])  # warm-up
    start = time.perf_counter()
    detector.score_texts(texts)
    scores_rate = tokens / (time.perf_counter() - start)
    start = time.perf_counter()
    detector.predict([MediaInput(MediaType.TEXT, text=t) for t in texts])
    predict_rate = tokens / (time.perf_counter() - start)
    note = f"{device}, {N_TEXTS} texts, observer+performer forward passes"
    return [("text-binoculars scores", scores_rate, "tokens/s", note),
            ("text-binoculars predict (with spans)", predict_rate, "tokens/s", note)]
