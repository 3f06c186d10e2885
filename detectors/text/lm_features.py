"""Aggregate features of a text from token probabilities under LMs of different strength (the Ghostbuster family).

Per scored token we have, from one forward pass of the scoring LM
(SmolLM2): the log-probability of the token, the entropy and second moment
of the next-token distribution and the token's rank, and the same token
under the logit lens of earlier layers (weaker models for free); and from n-gram models
of human text: its unigram and trigram log-probabilities. A text becomes
a fixed vector of aggregates over its tokens: means, spreads and quantiles,
differences between the LMs (machine text is far likelier under a strong LM
than under a trigram model of human writing), Fast-DetectGPT's analytic
sampling discrepancy, window extremes (a human-edited machine text has
machine-like stretches), and the length; plus the stylometry that
``text-supervised`` uses.

Features named ``mean:<per-token quantity>`` are means of per-token
quantities, so a linear model's contribution from them splits exactly into
per-token shares: the evidence spans.
"""
from __future__ import annotations

import numpy as np

from detectors.text.features import STYLE_NAMES, style_vector, tokenize
from detectors.text.ngram import NGramModel
from detectors.text.scoring_lm import LENS_LAYERS, TokenStats

# Per-token quantities whose means are features (and whose shares make the evidence).
TOKEN_QUANTITIES = (
    "logprob",  # log p(token) under the scoring LM
    "entropy",  # entropy of the scoring LM's next-token distribution
    "discrepancy",  # log p(token) - E_p[log p]: Fast-DetectGPT's per-token term
    "log_rank",
    "top1",  # the token was the LM's first choice
    "top10",
    "unigram",  # log p under the unigram model of human text
    "trigram",  # log p under the trigram model of human text
    # Per lens layer L: log p(token) under the logit lens at layer L of the scoring LM, that distribution's
    # entropy, and -sum p_final log p_lens (how far the early guess is from the final prediction).
    *(f"lens{layer}_{name}" for layer in LENS_LAYERS for name in ("logprob", "entropy", "cross_entropy")),
)
# Differences between the LMs are linear in the means above, so only their spread is a feature of its own
# (their means would only let the classifier spread one weight over collinear copies).
WINDOW = 32
FEATURE_NAMES: tuple[str, ...] = (
    *(f"mean:{q}" for q in TOKEN_QUANTITIES),
    "std:logprob", "q10:logprob", "q25:logprob", "q50:logprob", "q75:logprob", "q90:logprob",
    "std:entropy", "std:discrepancy", "std:trigram", "std:lm_minus_trigram", "std:lm_minus_unigram",
    "fast_detectgpt",  # sum of discrepancies / sqrt(sum of variances)
    "surprise_over_entropy",  # mean(-log p) / mean(entropy): a one-model Binoculars ratio
    # Binoculars with each lens layer as the second model, and the spread of the LM's gain over that layer.
    *(name for layer in LENS_LAYERS
      for name in (f"surprise_over_lens{layer}_cross_entropy", f"std:lm_minus_lens{layer}")),
    f"window{WINDOW}_min:discrepancy", f"window{WINDOW}_max:discrepancy",
    "log_tokens",
    *(f"style:{name}" for name in STYLE_NAMES),
)


def token_quantities(stats: TokenStats, ngram: NGramModel) -> dict[str, np.ndarray]:
    """Every per-token quantity of TOKEN_QUANTITIES for one text (float64 arrays of length ``stats.tokens``)."""
    logprob = stats.logprob.astype(np.float64)
    entropy = stats.entropy.astype(np.float64)
    unigram, trigram = ngram.logprobs(stats.ids, stats.previous)
    return {
        "logprob": logprob,
        "entropy": entropy,
        "discrepancy": logprob + entropy,
        "log_rank": np.log(stats.rank.astype(np.float64)),
        "top1": (stats.rank == 1).astype(np.float64),
        "top10": (stats.rank <= 10).astype(np.float64),
        "unigram": unigram,
        "trigram": trigram,
    } | {
        f"lens{layer}_{name}": values[row].astype(np.float64)
        for row, layer in enumerate(LENS_LAYERS)
        for name, values in (("logprob", stats.lens_logprob), ("entropy", stats.lens_entropy),
                             ("cross_entropy", stats.lens_cross_entropy))
    }


def _window_means(values: np.ndarray, width: int) -> np.ndarray:
    if len(values) <= width:
        return np.array([values.mean()])
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    return (cumulative[width:] - cumulative[:-width]) / width


def feature_vector(stats: TokenStats, ngram: NGramModel, text: str) -> np.ndarray:
    """The FEATURE_NAMES vector of one text (``text`` is the normalised text that was scored)."""
    q = token_quantities(stats, ngram)
    variance = np.maximum(stats.second.astype(np.float64) - q["entropy"] ** 2, 0.0)
    logprob = q["logprob"]
    windows = _window_means(q["discrepancy"], WINDOW)
    values = [
        *(q[name].mean() for name in TOKEN_QUANTITIES),
        logprob.std(), *np.quantile(logprob, [0.1, 0.25, 0.5, 0.75, 0.9]),
        q["entropy"].std(), q["discrepancy"].std(), q["trigram"].std(), (logprob - q["trigram"]).std(),
        (logprob - q["unigram"]).std(),
        q["discrepancy"].sum() / np.sqrt(max(variance.sum(), 1e-9)),
        (-logprob).mean() / max(q["entropy"].mean(), 1e-6),
        *(value for layer in LENS_LAYERS for value in (
            (-logprob).mean() / max(q[f"lens{layer}_cross_entropy"].mean(), 1e-6),
            (logprob - q[f"lens{layer}_logprob"]).std())),
        windows.min(), windows.max(),
        np.log(len(logprob)),
        *style_vector(text, tokenize(text)),
    ]
    return np.asarray(values, dtype=np.float64)


def token_contributions(stats: TokenStats, ngram: NGramModel, weights: np.ndarray, mean: np.ndarray,
                        std: np.ndarray) -> np.ndarray:
    """Each token's share of the linear logit from the ``mean:`` features (positive = towards machine).

    For a feature mean_t(x_t), standardised as (mean - m) / s with weight w,
    token t contributes w * (x_t - m) / (s * n); the shares sum exactly to
    those features' part of the logit.
    """
    q = token_quantities(stats, ngram)
    n = max(stats.tokens, 1)
    total = np.zeros(stats.tokens)
    for k, name in enumerate(TOKEN_QUANTITIES):
        total += weights[k] * (q[name] - mean[k]) / (std[k] * n)
    return total
