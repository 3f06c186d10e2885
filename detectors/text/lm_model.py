"""The trained part of ``text-lm-features``: n-gram models, a logistic regression and its calibration.

Stored as one safetensors file (float32 and int64 tensors; n-gram counts
would not survive fp16) beside a JSON model card that names the features,
the scoring LM it was trained with, the calibration and the metrics.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import load_file

from detectors.calibration import Calibration
from detectors.cards import card_path, save_safetensors, sha256_file
from detectors.text.lm_features import FEATURE_NAMES
from detectors.text.ngram import NGramModel

WEIGHTS_NAME = "text-lm-features.safetensors"
# A text with any feature this many standard deviations from the training texts is outside the detector's
# scope (an all-capitals text, a table of numbers, code): a linear model's score there is an extrapolation.
OUT_OF_SCOPE_Z = 8.0


def fit_logistic(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None,
                 l2: float = 1e-2) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression on standardised features, by L-BFGS (float64)."""
    xt = torch.tensor(x, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    wt = torch.tensor(sample_weight if sample_weight is not None else np.ones(len(y)), dtype=torch.float64)
    wt = wt / wt.sum()
    params = torch.zeros(x.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([params], lr=1.0, max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        logits = xt @ params[:-1] + params[-1]
        loss = (wt * torch.nn.functional.binary_cross_entropy_with_logits(logits, yt, reduction="none")).sum()
        loss = loss + l2 * params[:-1].square().sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    fitted = params.detach().numpy()
    return fitted[:-1].copy(), float(fitted[-1])


@dataclass
class LMFeatureModel:
    ngram: NGramModel
    weight: np.ndarray
    bias: float
    mean: np.ndarray
    std: np.ndarray
    calibration: Calibration = field(default_factory=Calibration)
    card: dict[str, Any] = field(default_factory=dict)

    def logits(self, features: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(features) - self.mean) / self.std) @ self.weight + self.bias

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return self.calibration.probability(self.logits(features))

    def out_of_scope(self, features: np.ndarray) -> tuple[str, float] | None:
        """The feature farthest from the training texts and its z-score, when beyond OUT_OF_SCOPE_Z; else None."""
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.std
        k = int(np.argmax(np.abs(z)))
        return (FEATURE_NAMES[k], float(z[k])) if abs(z[k]) > OUT_OF_SCOPE_Z else None

    def save(self, path: Path, card: dict[str, Any]) -> dict[str, Any]:
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {"classifier.weight": self.weight.astype(np.float32), "classifier.bias": np.array([self.bias], np.float32),
                   "features.mean": self.mean.astype(np.float32), "features.std": self.std.astype(np.float32),
                   **self.ngram.to_tensors()}
        save_safetensors({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items()}, path,
                         metadata={"format": "np", "name": "text-lm-features"})
        path.chmod(0o644)
        card = {**card, "feature_names": list(FEATURE_NAMES), "calibration": self.calibration.to_dict(),
                "weights_file": path.name, "weights_sha256": sha256_file(path)}
        card_path(path).write_text(json.dumps(card, indent=2) + "\n")
        self.card = card
        return card

    @classmethod
    def load(cls, path: Path) -> LMFeatureModel:
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run `python -m detectors.text train-lm-features` or point "
                                    "FORENSICS_MODELS_DIR at a folder that has text-lm-features.safetensors and its card")
        card_file = card_path(path)
        if not card_file.is_file():
            raise FileNotFoundError(f"model card {card_file} is missing; every weights file needs one")
        card = json.loads(card_file.read_text())
        if card.get("weights_sha256") != sha256_file(path):
            raise ValueError(f"{path} does not match the SHA-256 in its model card")
        if tuple(card.get("feature_names", ())) != FEATURE_NAMES:
            raise ValueError(f"{path} was trained on other features than this code computes; retrain it")
        t = load_file(str(path))
        cal = card["calibration"]
        return cls(NGramModel.from_tensors(t, int(card["scoring_lm_vocab"])), t["classifier.weight"].astype(np.float64),
                   float(t["classifier.bias"][0]), t["features.mean"].astype(np.float64),
                   t["features.std"].astype(np.float64),
                   Calibration.from_dict(cal), card)
