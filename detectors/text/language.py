"""Which language a text is in, offline: the text detectors state their scope instead of guessing.

py3langid (a maintained fork of langid.py) ships its model as a numpy
archive inside the wheel: no download, no pickle, about a millisecond a text.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Below this confidence the identifier is unsure (short, mixed or name-heavy text): such texts are judged, not refused.
MIN_CONFIDENCE = 0.5
SUPPORTED = frozenset({"en"})


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1
    confidence: float

    @property
    def supported(self) -> bool:
        return self.code in SUPPORTED or self.confidence < MIN_CONFIDENCE


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify(text: str) -> Language:
    code, confidence = _identifier().classify(text)
    return Language(str(code), float(confidence))
