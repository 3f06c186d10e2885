"""Token statistics of a whole corpus under the scoring LM, kept on disk so that training can resume.

Scoring five thousand texts takes tens of minutes on two CPU cores; a run
that is stopped keeps every finished chunk, and a rerun scores only what is
missing. Entries are keyed by the SHA-256 of (max tokens, text) and of the
scoring LM's weights, so a different LM or cut never reuses stale numbers.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from detectors.text.scoring_lm import DEFAULT_MAX_TOKENS, STATS_FORMAT, ScoringLM, TokenStats, text_key

log = logging.getLogger(__name__)

CHUNK = 64


class StatsCache:
    """A folder of ``chunk-*.npz`` files, each holding the statistics of up to CHUNK texts."""

    def __init__(self, folder: Path, lm_sha256: str, max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        self.folder = Path(folder) / f"{lm_sha256[:16]}-v{STATS_FORMAT}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_tokens = max_tokens
        self.entries: dict[str, TokenStats] = {}
        for path in sorted(self.folder.glob("chunk-*.npz")):
            with np.load(path) as data:
                keys = [k.split("/", 1)[0] for k in data.files]
                for key in dict.fromkeys(keys):
                    self.entries[key] = TokenStats.from_arrays(
                        {name.split("/", 1)[1]: data[name] for name in data.files if name.startswith(key + "/")})

    def get(self, text: str) -> TokenStats | None:
        return self.entries.get(text_key(text, self.max_tokens))

    def missing(self, texts: Sequence[str]) -> list[str]:
        return list(dict.fromkeys(t for t in texts if text_key(t, self.max_tokens) not in self.entries))

    def fill(self, lm: ScoringLM, texts: Sequence[str],
             progress: Callable[[int, int, float], None] | None = None) -> None:
        """Score every text not yet cached, CHUNK at a time, writing each chunk as it finishes."""
        todo = self.missing(texts)
        started = time.perf_counter()
        for done in range(0, len(todo), CHUNK):
            chunk = todo[done:done + CHUNK]
            arrays: dict[str, np.ndarray] = {}
            for text, stats in zip(chunk, lm.statistics(chunk, max_tokens=self.max_tokens)):
                if stats is None:
                    continue
                key = text_key(text, self.max_tokens)
                self.entries[key] = stats
                arrays |= {f"{key}/{name}": value for name, value in stats.to_arrays().items()}
            target = self.folder / f"chunk-{len(list(self.folder.glob('chunk-*.npz'))):05d}.npz"
            tmp = target.with_name(target.name + ".tmp.npz")
            np.savez(tmp, **arrays)
            tmp.replace(target)
            if progress is not None:
                progress(done + len(chunk), len(todo), time.perf_counter() - started)
