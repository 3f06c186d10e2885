"""One text normalisation for training, evaluation and serving of the LM-based text detector.

In the training corpora, curly quotes, newlines and doubled spaces occur
almost only on one side (an artefact of how each corpus was cleaned, not of
who wrote the text), so a model that sees them learns the artefact. Both
sides are folded the same way: typographic quotes and dashes to ASCII, every
run of whitespace to one space. The map back to the original characters
keeps evidence spans pointing at the text the user gave.
"""
from __future__ import annotations

from dataclasses import dataclass

from detectors.text.features import TYPOGRAPHY


@dataclass(frozen=True)
class NormalisedText:
    text: str
    # origin[i] is the index in the original text of normalised character i.
    origin: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original character span of normalised characters ``start:end`` (end exclusive)."""
        if not self.origin or end <= start:
            return (0, 0)
        start = min(max(start, 0), len(self.origin) - 1)
        end = min(max(end, start + 1), len(self.origin))
        return (self.origin[start], self.origin[end - 1] + 1)


def normalise(text: str) -> NormalisedText:
    """Fold typography and collapse whitespace, remembering where each kept character came from."""
    chars: list[str] = []
    origin: list[int] = []
    pending_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            pending_space = bool(chars)
            continue
        if pending_space:
            chars.append(" ")
            origin.append(i - 1)
            pending_space = False
        chars.append(ch.translate(TYPOGRAPHY))
        origin.append(i)
    return NormalisedText("".join(chars), tuple(origin))
