"""Unigram and trigram token models fitted on human text: the weak LMs of the Ghostbuster recipe.

Ghostbuster (Verma et al., 2023) scores a text under language models of
different strength and learns from how their token probabilities relate:
machine text is much likelier under a strong LM than under a trigram model
of human writing, human text less so. These models count tokens of the
scoring LM's tokenizer in human texts only; probabilities are interpolated
(trigram, bigram, unigram with add-one), so an unseen n-gram never gives
minus infinity. Counts are stored as sorted keys + counts (searchsorted at
lookup), which is compact enough to ship in safetensors beside the model.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

# Interpolation weights of the trigram, bigram and unigram estimates (fixed: a few thousand human texts are too
# few to tune them reliably, and the classifier on top learns how much to trust each model anyway).
LAMBDAS = (0.5, 0.3, 0.2)


def _pair_keys(a: np.ndarray, b: np.ndarray, vocab: int) -> np.ndarray:
    return a.astype(np.int64) * vocab + b.astype(np.int64)


def _lookup(keys: np.ndarray, counts: np.ndarray, query: np.ndarray) -> np.ndarray:
    if len(keys) == 0:
        return np.zeros(len(query), dtype=np.float64)
    where = np.clip(np.searchsorted(keys, query), 0, len(keys) - 1)
    return np.where(keys[where] == query, counts[where], 0).astype(np.float64)


@dataclass(frozen=True)
class NGramModel:
    """Token counts of human text; ``logprobs`` gives the unigram and interpolated trigram log-probabilities."""

    vocab: int
    unigram: np.ndarray  # float64 [vocab]: counts
    bigram_keys: np.ndarray  # int64 sorted: a*V + b
    bigram_counts: np.ndarray
    trigram_keys: np.ndarray  # int64 sorted: (a*V + b)*V + c
    trigram_counts: np.ndarray

    @classmethod
    def fit(cls, sequences: Iterable[np.ndarray], vocab: int) -> NGramModel:
        """Count tokens, bigrams and trigrams of token-id sequences (each one text)."""
        unigram = np.zeros(vocab, dtype=np.float64)
        bigrams, trigrams = [], []
        for ids in sequences:
            ids = np.asarray(ids, dtype=np.int64)
            np.add.at(unigram, ids, 1.0)
            if len(ids) >= 2:
                bigrams.append(_pair_keys(ids[:-1], ids[1:], vocab))
            if len(ids) >= 3:
                trigrams.append(_pair_keys(_pair_keys(ids[:-2], ids[1:-1], vocab), ids[2:], vocab))
        bk, bc = np.unique(np.concatenate(bigrams) if bigrams else np.zeros(0, np.int64), return_counts=True)
        tk, tc = np.unique(np.concatenate(trigrams) if trigrams else np.zeros(0, np.int64), return_counts=True)
        return cls(vocab, unigram, bk, bc.astype(np.float64), tk, tc.astype(np.float64))

    def logprobs(self, ids: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(unigram, trigram) log-probabilities of each token given its two predecessors (-1 = none)."""
        ids = np.asarray(ids, dtype=np.int64)
        a, b = previous[:, 0], previous[:, 1]
        total = self.unigram.sum()
        p_uni = (self.unigram[ids] + 1.0) / (total + self.vocab)
        has_b = b >= 0
        has_ab = has_b & (a >= 0)
        b_safe, a_safe = np.where(has_b, b, 0), np.where(has_ab, a, 0)
        c_b = np.where(has_b, self.unigram[b_safe], 0.0)
        c_bc = np.where(has_b, _lookup(self.bigram_keys, self.bigram_counts, _pair_keys(b_safe, ids, self.vocab)), 0.0)
        ab = _pair_keys(a_safe, b_safe, self.vocab)
        c_ab = np.where(has_ab, _lookup(self.bigram_keys, self.bigram_counts, ab), 0.0)
        c_abc = np.where(has_ab, _lookup(self.trigram_keys, self.trigram_counts, _pair_keys(ab, ids, self.vocab)), 0.0)
        l3, l2, _l1 = LAMBDAS
        # A context never seen passes its weight down to the lower orders.
        w3 = np.where(c_ab > 0, l3, 0.0)
        w2 = np.where(c_b > 0, l2, 0.0)
        w1 = 1.0 - w3 - w2
        p_tri = (w3 * np.divide(c_abc, c_ab, out=np.zeros_like(c_abc), where=c_ab > 0)
                 + w2 * np.divide(c_bc, c_b, out=np.zeros_like(c_bc), where=c_b > 0) + w1 * p_uni)
        return np.log(p_uni), np.log(p_tri)

    def to_tensors(self) -> dict[str, np.ndarray]:
        return {"ngram.unigram": self.unigram.astype(np.float32), "ngram.bigram_keys": self.bigram_keys,
                "ngram.bigram_counts": self.bigram_counts.astype(np.float32), "ngram.trigram_keys": self.trigram_keys,
                "ngram.trigram_counts": self.trigram_counts.astype(np.float32)}

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], vocab: int) -> NGramModel:
        return cls(vocab, tensors["ngram.unigram"].astype(np.float64), tensors["ngram.bigram_keys"].astype(np.int64),
                   tensors["ngram.bigram_counts"].astype(np.float64), tensors["ngram.trigram_keys"].astype(np.int64),
                   tensors["ngram.trigram_counts"].astype(np.float64))
