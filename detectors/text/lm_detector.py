"""``text-lm-features``: LLM-text detection from a pretrained LM's token statistics (the default text detector).

One forward pass of the scoring LM (SmolLM2-135M-Instruct, shipped offline)
per text, shared with any other detector that asks for the same text; n-gram
models of human text; a calibrated logistic regression over aggregate
features (detectors/text/lm_features.py). Scope is stated, not guessed:
empty, too short and non-English texts are *not applicable* with the reason.
The evidence spans are the tokens whose probabilities drove the score.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detectors.base import Detector, Finding, FindingLabel, MediaInput, MediaType
from detectors.registry import register_detector
from detectors.text.language import identify
from detectors.text.lm_features import FEATURE_NAMES, feature_vector, token_contributions
from detectors.text.lm_model import WEIGHTS_NAME, LMFeatureModel
from detectors.text.normalize import NormalisedText, normalise
from detectors.text.scoring_lm import ScoringLM, TokenStats, scoring_lm_dir, shared_scoring_lm
from detectors.text.spans import build_spans

DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[1] / "weights"
# A token whose share of the logit reaches this is drawn at full intensity.
SPAN_FULL_WEIGHT = 0.05
SPAN_LEGEND = {
    "machine": "the language models found this token more predictable than human writing usually is (machine-like)",
    "human": "this token was less predictable than machine text usually is (human-like)",
}
# What a reviewer reads for the strongest features (detectors/text/lm_features.py names them).
QUANTITY_LABELS = {
    "logprob": "token log-probability under the pretrained LM",
    "entropy": "the pretrained LM's next-token uncertainty (entropy)",
    "discrepancy": "per-token Fast-DetectGPT discrepancy (token vs the LM's average choice)",
    "log_rank": "log-rank of each token among the LM's choices",
    "top1": "tokens that were the LM's first choice",
    "top10": "tokens among the LM's ten first choices",
    "unigram": "how common each token is in human writing",
    "trigram": "token probability under a trigram model of human writing",
    "lm_minus_trigram": "pretrained LM vs trigram model of human writing",
    "lm_minus_unigram": "pretrained LM vs word frequencies of human writing",
}
# Per lens layer (the layer number is put in): detectors/text/lm_features.py names them lens<L>_<quantity>.
LENS_LABELS = {
    "logprob": "token log-probability at layer {layer} of the pretrained LM (logit lens)",
    "entropy": "layer {layer}'s next-token uncertainty (logit lens)",
    "cross_entropy": "distance between layer {layer}'s guess and the LM's final prediction",
}
LENS_NAME = re.compile(r"(?:lm_minus_)?lens(\d+)_?(\w*)")
WHOLE_TEXT_LABELS = {
    "fast_detectgpt": "Fast-DetectGPT sampling discrepancy of the whole text",
    "surprise_over_entropy": "surprise relative to the LM's expected surprise (Binoculars-like)",
    "log_tokens": "length of the text",
}


def feature_label(name: str) -> str:
    """``std:trigram`` -> "spread of token probability under a trigram model of human writing"."""
    if name in WHOLE_TEXT_LABELS:
        return WHOLE_TEXT_LABELS[name]
    if name.startswith("surprise_over_lens"):
        layer = LENS_NAME.fullmatch(name.removeprefix("surprise_over_").removesuffix("_cross_entropy"))
        return f"surprise relative to layer {layer.group(1) if layer else '?'}'s view of the LM (Binoculars-like)"
    kind, _, quantity = name.partition(":")
    if kind == "style":
        return "style: " + quantity.replace("_", " ")
    what = QUANTITY_LABELS.get(quantity) or _lens_label(quantity)
    if kind == "mean":
        return ("share of " if quantity.startswith("top") else "mean ") + what
    if kind == "std":
        return "spread of " + what
    if kind.startswith("q"):
        return f"{kind[1:]}th percentile of {what}"
    if kind.startswith("window"):
        return ("most" if kind.endswith("max") else "least") + " machine-like 32-token stretch: " + what
    return name


def _lens_label(quantity: str) -> str:
    match = LENS_NAME.fullmatch(quantity)
    if match is None:
        return quantity
    if quantity.startswith("lm_minus_"):
        return f"pretrained LM vs its own layer {match.group(1)}"
    return LENS_LABELS.get(match.group(2), quantity).format(layer=match.group(1))


@register_detector
class LMFeatureTextDetector(Detector):
    """Human vs LLM text from a pretrained LM's token statistics and n-gram models of human text.

    Options (FORENSICS_DETECTOR_OPTIONS or a tenant provider): ``weights``
    (another trained text-lm-features.safetensors with its card),
    ``scoring_lm`` (the converted scoring LM folder, default the one set-up
    made), ``batch_size``.
    """

    name = "text-lm-features"
    version = "1.2"
    media_types = frozenset({MediaType.TEXT})

    def __init__(self, models_dir: Path | None = None, device: str = "cpu", weights: str | Path | None = None,
                 scoring_lm: str | Path | None = None, batch_size: int = 8) -> None:
        super().__init__(models_dir, device)
        self.model = LMFeatureModel.load(Path(weights) if weights else (models_dir or DEFAULT_MODELS_DIR) / WEIGHTS_NAME)
        self.lm: ScoringLM = shared_scoring_lm(Path(scoring_lm) if scoring_lm else scoring_lm_dir(models_dir), device)
        self.lm.batch_size = batch_size
        trained_with = self.model.card.get("scoring_lm", {}).get("source_sha256")
        if trained_with != self.lm.card.get("source_sha256"):
            raise ValueError(f"{WEIGHTS_NAME} was trained with another scoring LM (source SHA-256 {trained_with}) than "
                             f"{self.lm.path} holds ({self.lm.card.get('source_sha256')}); retrain it or use that LM")
        self.min_tokens = int(self.model.card["min_tokens"])
        self.max_tokens = int(self.model.card["max_tokens"])

    def model_info(self) -> dict[str, Any]:
        test = self.model.card.get("metrics_test_split", {}).get("overall", {})
        return {"name": self.name, "version": self.model.card.get("version", self.version),
                "weights_sha256": self.model.card.get("weights_sha256"), **self.lm.info(),
                "threshold": self.model.calibration.threshold, "target_fpr": self.model.calibration.target_fpr,
                "min_tokens": self.min_tokens, "max_tokens": self.max_tokens,
                "test_auc": test.get("auroc"), "test_tpr_at_threshold": test.get("tpr_at_threshold"),
                "test_fpr_at_threshold": test.get("fpr_at_threshold")}

    def score_texts(self, texts: list[str]) -> list[float | None]:
        """Calibrated probability of machine authorship per text; None for a text it does not judge."""
        return [f.score for f in self.predict([MediaInput(MediaType.TEXT, text=t) for t in texts])]

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        texts = [item.read_text() for item in batch]
        out: list[Finding | None] = [None] * len(texts)
        normalised: dict[int, NormalisedText] = {}
        for i, text in enumerate(texts):
            if not text.strip():
                out[i] = self._not_applicable("no text in the input")
                continue
            language = identify(text)
            if not language.supported:
                out[i] = self._not_applicable(
                    f"the text appears to be in another language than English ({language.code}, confidence "
                    f"{language.confidence:.2f}); this detector was trained on English text only",
                    {"language": language.code, "language_confidence": round(language.confidence, 3)})
                continue
            normalised[i] = normalise(text)
        order = list(normalised)
        stats = self.lm.statistics([normalised[i].text for i in order], max_tokens=self.max_tokens)
        for i, result in zip(order, stats):
            out[i] = self._finding(texts[i], normalised[i], result)
        return [f for f in out if f is not None]

    def _not_applicable(self, reason: str, evidence: dict[str, Any] | None = None) -> Finding:
        return Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE, reason=reason, evidence=evidence or {})

    def _finding(self, text: str, norm: NormalisedText, stats: TokenStats | None) -> Finding:
        tokens = stats.tokens_total if stats is not None else 0
        if stats is None or tokens < self.min_tokens:
            return self._not_applicable(f"text too short: {tokens} tokens, at least {self.min_tokens} needed",
                                        {"tokens": tokens, "min_tokens": self.min_tokens})
        features = feature_vector(stats, self.model.ngram, norm.text)
        outlier = self.model.out_of_scope(features)
        if outlier is not None:
            name, z = outlier
            return self._not_applicable(
                f"the text is unlike the texts this detector was trained on ({name} is {z:+.1f} standard deviations "
                "from them: all capitals, lists of numbers or code, for example); its score would be a guess",
                {"tokens": stats.tokens, "out_of_scope_feature": name, "z": round(z, 2)})
        probability = float(self.model.probabilities(features)[0])
        threshold = self.model.calibration.threshold
        flagged = probability >= threshold
        drivers = self._drivers(features)
        evidence: dict[str, Any] = {
            "score": round(probability, 4),
            "tokens": stats.tokens,
            "tokens_total": stats.tokens_total,
            "truncated": stats.truncated,
            "min_tokens": self.min_tokens,
            "mean_logprob": round(float(stats.logprob.mean()), 4),
            "fast_detectgpt": round(float(features[FEATURE_NAMES.index("fast_detectgpt")]), 4),
            "drivers": drivers,
            "weights_sha256": self.model.card.get("weights_sha256"),
        }
        if stats.truncated:
            evidence["truncation_note"] = f"judged on the first {stats.tokens} of {stats.tokens_total} tokens"
        evidence |= self._spans(stats, norm, text)
        top = "; ".join(f"{d['label']} ({'+' if d['push'] > 0 else ''}{d['push']:.2f})" for d in drivers[:2])
        if flagged:
            reason = f"token statistics under the language models look machine-written (p={probability:.3f} ≥ " \
                     f"{threshold:.3f}); strongest signals: {top}"
        else:
            reason = f"below the threshold (p={probability:.3f} < {threshold:.3f}); strongest signals: {top}"
        return Finding(self.name, self.model.card.get("version", self.version),
                       FindingLabel.SYNTHETIC if flagged else FindingLabel.AUTHENTIC,
                       score=probability, threshold=threshold, reason=reason, evidence=evidence)

    def _drivers(self, features: np.ndarray) -> list[dict[str, Any]]:
        """The features that pushed this text's logit most, with their push (positive = towards machine)."""
        push = (features - self.model.mean) / self.model.std * self.model.weight
        order = np.argsort(-np.abs(push))[:5]
        return [{"feature": FEATURE_NAMES[k], "label": feature_label(FEATURE_NAMES[k]),
                 "push": round(float(push[k]), 3)} for k in order]

    def _spans(self, stats: TokenStats, norm: NormalisedText, text: str) -> dict[str, Any]:
        shares = token_contributions(stats, self.model.ngram, self.model.weight, self.model.mean, self.model.std)
        offsets = [norm.original_span(start, end) for start, end in stats.offsets]
        labels = ["machine" if s > 0 else "human" for s in shares]
        weights = [abs(float(s)) / SPAN_FULL_WEIGHT for s in shares]
        return build_spans(offsets, labels, weights, SPAN_LEGEND, text=text)

