"""``text-supervised``: a linear model over hashed word/character n-grams, trained here on human vs LLM text.

Why linear: it is fast on a CPU (no language model to run), small enough to
commit, and its logit splits exactly into per-word contributions, which is
the evidence a reviewer sees. It only knows the generators it was trained on;
its card reports leave-one-generator-out numbers for unseen ones.

Scores are Platt-calibrated probabilities with the threshold at 1% FPR on the
calibration split (detectors/calibration.py). Texts shorter than the card's
``min_words`` get NOT_APPLICABLE (fusion: inconclusive), never a low score.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from detectors.base import Detector, Finding, FindingLabel, MediaInput, MediaType
from detectors.calibration import Calibration
from detectors.cards import load_card, load_weights
from detectors.registry import register_detector
from detectors.text.features import NUM_BUCKETS, STYLE_NAMES, TextFeatures, extract
from detectors.text.spans import build_spans

DEFAULT_MODELS_DIR = Path(__file__).resolve().parents[1] / "weights"
WEIGHTS_NAME = "text-supervised.safetensors"
SPAN_LEGEND = {
    "machine": "these words pushed the score towards machine-written",
    "human": "these words pushed the score towards human-written",
}


class HashedLinearModel(nn.Module):
    """logit = sum of hashed n-gram weights * feature values + a linear term on standardised stylometry."""

    def __init__(self, num_buckets: int = NUM_BUCKETS, num_style: int = len(STYLE_NAMES)) -> None:
        super().__init__()
        self.ngram = nn.EmbeddingBag(num_buckets, 1, mode="sum")
        nn.init.zeros_(self.ngram.weight)
        self.style = nn.Linear(num_style, 1)
        nn.init.zeros_(self.style.weight)
        nn.init.zeros_(self.style.bias)
        self.register_buffer("style_mean", torch.zeros(num_style))
        self.register_buffer("style_std", torch.ones(num_style))

    def forward(self, index: torch.Tensor, offsets: torch.Tensor, value: torch.Tensor,
                style: torch.Tensor) -> torch.Tensor:
        ngram = self.ngram(index, offsets, per_sample_weights=value).squeeze(1)
        return ngram + self.style((style - self.style_mean) / self.style_std).squeeze(1)


def collate(features: Sequence[TextFeatures]) -> tuple[torch.Tensor, ...]:
    """EmbeddingBag inputs (flat indices, bag offsets, per-occurrence values) and the style matrix."""
    lengths = [len(f.index) for f in features]
    offsets = torch.tensor(np.r_[0, np.cumsum(lengths)[:-1]] if lengths else [], dtype=torch.long)
    index = torch.from_numpy(np.concatenate([f.index for f in features]) if features else np.zeros(0, np.int64))
    value = torch.from_numpy(np.concatenate([f.value for f in features]) if features else np.zeros(0, np.float32))
    style = torch.from_numpy(np.stack([f.style for f in features])) if features else torch.zeros(0, len(STYLE_NAMES))
    return index, offsets, value, style


@torch.no_grad()
def logits_of(model: HashedLinearModel, features: Sequence[TextFeatures], batch_size: int = 256) -> np.ndarray:
    model.eval()
    out = [model(*collate(features[i:i + batch_size])).numpy() for i in range(0, len(features), batch_size)]
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)


@torch.no_grad()
def word_contributions(model: HashedLinearModel, features: TextFeatures) -> np.ndarray:
    """Each word's share of the n-gram logit: an n-gram's weight*value split evenly over its words."""
    weights = model.ngram.weight[:, 0].numpy().astype(np.float64)
    per_occurrence = weights[features.index] * features.value / features.n_words
    contributions = np.zeros(len(features.words))
    for offset in range(int(features.n_words.max(initial=0))):
        covers = features.n_words > offset
        np.add.at(contributions, features.first_word[covers] + offset, per_occurrence[covers])
    return contributions


class SupervisedTextModel:
    """The trained weights, their card and calibration: scores and explains texts."""

    def __init__(self, weights: Path) -> None:
        if not weights.exists():
            raise FileNotFoundError(
                f"{weights} is missing: run `python -m detectors.text train-supervised --out {weights.parent}` "
                "or point FORENSICS_MODELS_DIR at a folder that has text-supervised.safetensors and its card"
            )
        card = load_card(weights)
        self.model = HashedLinearModel(**card["architecture"])
        self.card = load_weights(self.model, weights)
        self.model.float().eval()
        cal = card["calibration"]
        self.calibration = Calibration.from_dict(cal)
        self.min_words = int(card["min_words"])

    def probabilities(self, features: Sequence[TextFeatures]) -> np.ndarray:
        return self.calibration.probability(logits_of(self.model, features))

    def score_texts(self, texts: Sequence[str]) -> list[float | None]:
        features = [extract(t) for t in texts]
        judged = [i for i, f in enumerate(features) if f.word_count >= self.min_words]
        out: list[float | None] = [None] * len(texts)
        for i, p in zip(judged, self.probabilities([features[i] for i in judged])):
            out[i] = float(p)
        return out

    def spans(self, features: TextFeatures) -> dict[str, Any]:
        contributions = word_contributions(self.model, features)
        scale = float(np.abs(contributions).max(initial=0.0)) or 1.0
        labels = [None if c == 0 else ("machine" if c > 0 else "human") for c in contributions]
        offsets = [(w.start, w.end) for w in features.words]
        return build_spans(offsets, labels, list(np.abs(contributions) / scale), SPAN_LEGEND)

    def info(self, name: str) -> dict[str, Any]:
        test = self.card.get("metrics_test_split", {}).get("overall", {})
        return {"name": name, "version": self.card.get("version", ""),
                "weights_sha256": self.card.get("weights_sha256"),
                "threshold": self.calibration.threshold, "target_fpr": self.calibration.target_fpr,
                "min_words": self.min_words, "test_auc": test.get("auc"),
                "test_tpr_at_threshold": test.get("tpr_at_threshold")}


@register_detector
class SupervisedTextDetector(Detector):
    """Human vs LLM text from hashed n-grams; per-word evidence spans; too-short texts are not judged.

    Options (FORENSICS_DETECTOR_OPTIONS or a tenant provider): ``weights`` =
    path of another safetensors file with its card, e.g. a tenant's own model.
    """

    name = "text-supervised"
    version = "1.0"
    media_types = frozenset({MediaType.TEXT})

    def __init__(self, models_dir: Path | None = None, device: str = "cpu", weights: str | Path | None = None) -> None:
        super().__init__(models_dir, device)  # CPU only: an EmbeddingBag of one column gains nothing on a GPU
        path = Path(weights) if weights else (models_dir or DEFAULT_MODELS_DIR) / WEIGHTS_NAME
        self.model = SupervisedTextModel(path)

    def score_texts(self, texts: list[str]) -> list[float | None]:
        """Calibrated probability of machine authorship per text; None when the text is too short to judge."""
        return self.model.score_texts(texts)

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        texts = [item.read_text() for item in batch]
        features = [extract(t) for t in texts]
        judged = [i for i, f in enumerate(features) if f.word_count >= self.model.min_words]
        probabilities = dict(zip(judged, self.model.probabilities([features[i] for i in judged])))
        threshold = self.model.calibration.threshold
        version = self.model.card.get("version", self.version)
        out = []
        for i, f in enumerate(features):
            if i not in probabilities:
                reason = f"text too short: {f.word_count} words, at least {self.model.min_words} needed"
                out.append(Finding(self.name, version, FindingLabel.NOT_APPLICABLE, reason=reason,
                                   evidence={"words": f.word_count, "min_words": self.model.min_words}))
                continue
            score = float(probabilities[i])
            machine = score >= threshold
            reason = (f"word and character patterns typical of the LLMs it was trained on (p={score:.3f}, "
                      f"threshold {threshold:.3f}); unseen generators are detected less reliably")
            out.append(Finding(
                self.name, version, FindingLabel.SYNTHETIC if machine else FindingLabel.AUTHENTIC,
                score=score, threshold=threshold,
                reason=reason if machine else f"below the threshold (p={score:.3f} < {threshold:.3f})",
                evidence={"words": f.word_count, "weights_sha256": self.model.card["weights_sha256"]}
                | self.model.spans(f),
            ))
        return out

    def model_info(self) -> dict[str, Any]:
        return self.model.info(self.name)

