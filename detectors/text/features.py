"""Hashed n-gram and stylometric features of a text, with the words each feature came from.

Every feature occurrence remembers which words it was built from, so a
linear model's logit splits exactly into per-word contributions (the evidence
the UI highlights). Hashing uses CRC-32 (never Python's salted ``hash``), so
the same text gives the same features on every machine and run, and the
weights file stays a fixed size whatever the vocabulary.
"""
from __future__ import annotations

import itertools
import re
import zlib
from dataclasses import dataclass

import numpy as np

# A word (with inner apostrophes/hyphens) or a single other non-space character.
WORD_PATTERN = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]")
SENTENCE_END = frozenset(".!?")
NUM_BUCKETS = 1 << 18
CHAR_NGRAMS = (3, 4, 5)
# Namespaces are normalised separately so that the many character n-grams
# do not drown the word n-grams.
NAMESPACES = ("word", "bigram", "trigram", "char")
# Typography says which editor was used, not who wrote the text; and in the
# training corpus curly quotes, newlines and double spaces occur almost only in
# the machine texts (an artefact of how its human texts were cleaned), so
# quotes are folded and whitespace is never a feature.
TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": "-", "–": "-"})
STYLE_NAMES = (
    "mean_word_length",
    "std_word_length",
    "type_token_ratio_first_60",
    "punctuation_per_word",
    "mean_sentence_words",
    "std_sentence_words",
    "capitalised_fraction",
    "digit_fraction",
    "repeated_bigram_fraction",
)


@dataclass(frozen=True)
class Word:
    """One token of the text: its ``str`` offsets and a normalised form."""

    start: int
    end: int
    form: str  # lowercase word, or "_," / "," for punctuation with / without a space before it


@dataclass(frozen=True)
class TextFeatures:
    """Feature occurrences of one text (parallel arrays) plus its dense style vector.

    ``index[k]`` is the hashed bucket of occurrence k, ``value[k]`` its share
    of that feature's normalised value (so summing ``w[index] * value`` gives
    the text's logit part), and words ``first_word[k] .. first_word[k] +
    n_words[k] - 1`` built it.
    """

    words: tuple[Word, ...]
    index: np.ndarray  # int64
    value: np.ndarray  # float32
    first_word: np.ndarray  # int64
    n_words: np.ndarray  # int64
    style: np.ndarray  # float32, len(STYLE_NAMES)

    @property
    def word_count(self) -> int:
        """Words proper (punctuation excluded): the unit of the minimum length."""
        return sum(1 for w in self.words if not _is_punctuation(w.form))


def _is_punctuation(form: str) -> bool:
    return not any(ch.isalnum() or ch == "_" for ch in form.lstrip("_")) if form else False


def tokenize(text: str) -> list[Word]:
    words = []
    for match in WORD_PATTERN.finditer(text):
        token = match.group(0).translate(TYPOGRAPHY)
        if len(token) == 1 and not (token.isalnum() or token == "_"):
            spaced = match.start() > 0 and text[match.start() - 1].isspace()
            form = ("_" if spaced else "") + token
        else:
            form = token.lower()
        words.append(Word(match.start(), match.end(), form))
    return words


def count_words(text: str) -> int:
    """Words proper (no punctuation) as the detector counts them for its minimum length."""
    return sum(1 for w in tokenize(text) if not _is_punctuation(w.form))


def _bucket(namespace: str, key: str) -> int:
    return zlib.crc32(f"{namespace}\x1f{key}".encode()) % NUM_BUCKETS


def _occurrences(words: list[Word]) -> dict[str, list[tuple[int, int, int]]]:
    """(bucket, first word, number of words) per namespace."""
    forms = [w.form for w in words]
    out: dict[str, list[tuple[int, int, int]]] = {name: [] for name in NAMESPACES}
    for i, form in enumerate(forms):
        out["word"].append((_bucket("w", form), i, 1))
        if i + 1 < len(forms):
            out["bigram"].append((_bucket("b", f"{form} {forms[i + 1]}"), i, 2))
        if i + 2 < len(forms):
            out["trigram"].append((_bucket("t", f"{form} {forms[i + 1]} {forms[i + 2]}"), i, 3))
        if len(form) > 1 and not _is_punctuation(form):
            padded = f"<{form}>"
            for n in CHAR_NGRAMS:
                for s in range(len(padded) - n + 1):
                    out["char"].append((_bucket("c", padded[s:s + n]), i, 1))
    return out


def style_vector(text: str, words: list[Word]) -> np.ndarray:
    """Simple stylometry (length-robust where possible); standardised later by the model."""
    tokens = [w.form for w in words if not _is_punctuation(w.form)]
    n = max(len(tokens), 1)
    lengths = np.array([len(t) for t in tokens] or [0], dtype=np.float64)
    sentences, current = [], 0
    for w in words:
        if _is_punctuation(w.form):
            if w.form.lstrip("_") in SENTENCE_END and current:
                sentences.append(current)
                current = 0
        else:
            current += 1
    if current:
        sentences.append(current)
    sentence_lengths = np.array(sentences or [0], dtype=np.float64)
    raw_words = [text[w.start:w.end] for w in words if not _is_punctuation(w.form)]
    bigrams = list(itertools.pairwise(tokens))
    return np.array([
        lengths.mean(),
        lengths.std(),
        len(set(tokens[:60])) / max(min(len(tokens), 60), 1),
        (len(words) - len(tokens)) / n,
        sentence_lengths.mean(),
        sentence_lengths.std(),
        sum(1 for w in raw_words if w[:1].isupper()) / n,
        sum(1 for w in raw_words if any(c.isdigit() for c in w)) / n,
        (len(bigrams) - len(set(bigrams))) / max(len(bigrams), 1),
    ], dtype=np.float32)


def extract(text: str) -> TextFeatures:
    """Features of one text: sublinear TF per hashed n-gram, L2-normalised per namespace."""
    words = tokenize(text)
    index, value, first, width = [], [], [], []
    for occurrences in _occurrences(words).values():
        if not occurrences:
            continue
        buckets = np.array([o[0] for o in occurrences], dtype=np.int64)
        _unique, inverse, counts = np.unique(buckets, return_inverse=True, return_counts=True)
        tf = 1.0 + np.log(counts)
        tf /= np.linalg.norm(tf)
        # Each occurrence carries its share of its feature's value.
        index.append(buckets)
        value.append((tf / counts)[inverse])
        first.append(np.array([o[1] for o in occurrences], dtype=np.int64))
        width.append(np.array([o[2] for o in occurrences], dtype=np.int64))
    return TextFeatures(tuple(words), _concat(index, np.int64), _concat(value, np.float32),
                        _concat(first, np.int64), _concat(width, np.int64), style_vector(text, words))


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)
