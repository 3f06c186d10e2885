"""``text-binoculars``: zero-shot machine-text detection from two causal LMs.

Binoculars (Hans et al., "Spotting LLMs With Binoculars", ICML 2024) divides
how surprising a text is to one model by how surprising that model expects
*another* model's next-token choices to be:

    B(s) = log PPL_perf(s) / log X-PPL_obs,perf(s)
    log PPL_perf(s)       = -(1/L) sum_i log q_i[s_i]
    log X-PPL_obs,perf(s) = -(1/L) sum_i sum_v p_i[v] log q_i[v]

with p_i the *observer*'s and q_i the *performer*'s next-token distribution
at position i. This is the reference implementation's assignment
(``ppl = perplexity(encodings, performer_logits)``, ``x_ppl =
entropy(observer_logits, performer_logits)``); the paper's equations write
the same model M1 in the numerator and as the weighting distribution, and
its code is what the published numbers come from. Machine text is
unsurprising *relative to* what an LM expects, so a low B means "machine";
the detector's raw logit is ``-B``, Platt-scaled on held-out data with the
threshold at 1% false positives on human text.

The denominator is what makes the score zero-shot across prompts: a text on
an unusual topic has a high perplexity for both human and machine authors,
and the cross-perplexity normalises that away.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from detectors.base import Detector, Finding, FindingLabel, MediaInput, MediaType
from detectors.calibration import Calibration, fit_platt
from detectors.cards import sha256_file
from detectors.registry import register_detector
from detectors.text.spans import build_spans, token_char_offsets

log = logging.getLogger(__name__)

CALIBRATION_FILE = "binoculars-calibration.json"
# 64 tokens: below it the test AUROC of the shipped pair falls steeply (see the
# card's metrics by length), and the paper's own curves flatten only beyond
# ~256 tokens. A text this short is "inconclusive", not "human".
DEFAULT_MIN_TOKENS = 64
# A token whose surprise differs from its expected surprise by this many nats
# is drawn at full intensity in the UI.
SPAN_SCALE_NATS = 4.0
SPAN_LEGEND = {
    "machine": "the performer found this token less surprising than the observer expected (machine-like)",
    "human": "the performer found this token more surprising than the observer expected (human-like)",
}
_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def text_lm_dir(models_dir: Path | None) -> Path:
    """``models_dir/text-lm`` when a deployer put a pair there, else the one shipped in the package."""
    from detectors.text.lm import PACKAGE_TEXT_LM_DIR

    if models_dir is not None and (Path(models_dir) / "text-lm" / "observer").is_dir():
        return Path(models_dir) / "text-lm"
    return PACKAGE_TEXT_LM_DIR


def weights_sha256(model_dir: Path) -> str:
    """SHA-256 of a HF model's weights: of the file, or of the shard names and hashes for sharded weights."""
    files = sorted(Path(model_dir).glob("*.safetensors")) or sorted(Path(model_dir).glob("*.bin"))
    if not files:
        raise FileNotFoundError(f"{model_dir} has no *.safetensors or *.bin weights")
    hashes = []
    for path in files:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key not in _HASH_CACHE:
            _HASH_CACHE[key] = sha256_file(path)
        hashes.append((path.name, _HASH_CACHE[key]))
    if len(hashes) == 1:
        return hashes[0][1]
    return hashlib.sha256("".join(f"{name}:{h}\n" for name, h in hashes).encode()).hexdigest()


@dataclass(frozen=True)
class TokenScores:
    """The statistic for one text, with per-token terms for the evidence."""

    binoculars: float
    log_ppl: float  # performer's mean surprise, nats/token
    log_xppl: float  # observer-weighted expected surprise of the performer, nats/token
    surprise: np.ndarray  # per scored token
    expected: np.ndarray  # per scored token
    offsets: list[tuple[int, int]] | None  # character span of each scored token
    tokens: int
    tokens_total: int

    @property
    def truncated(self) -> bool:
        return self.tokens < self.tokens_total


def binoculars_terms(observer_logits: torch.Tensor, performer_logits: torch.Tensor,
                     targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-position surprise ``-log q[target]`` and cross-entropy ``-sum p log q`` (logits: [T, V], targets: [T])."""
    vocab = min(observer_logits.shape[-1], performer_logits.shape[-1])  # padded embedding rows are not tokens
    log_q = torch.log_softmax(performer_logits[..., :vocab].float(), dim=-1)
    p = torch.softmax(observer_logits[..., :vocab].float(), dim=-1)
    surprise = -log_q.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    expected = -(p * log_q).sum(-1)
    return surprise, expected


def binoculars_score(surprise: torch.Tensor | np.ndarray, expected: torch.Tensor | np.ndarray) -> float:
    """B = mean surprise / mean expected surprise (low = machine-like)."""
    return float(np.mean(np.asarray(surprise)) / max(float(np.mean(np.asarray(expected))), 1e-9))


def _load_lm(path: Path, device: str) -> torch.nn.Module:
    from transformers import AutoModelForCausalLM

    if not Path(path).is_dir():
        raise FileNotFoundError(f"{path} is not a directory: give a local Hugging Face model directory "
                                "(FORENSICS_TEXT_OBSERVER / FORENSICS_TEXT_PERFORMER)")
    dtype = torch.float32 if str(device).startswith("cpu") else "auto"
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=dtype)
    return model.to(device).eval()


def _load_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, local_files_only=True)


def same_tokenizer(a: Any, b: Any) -> bool:
    return a.get_vocab() == b.get_vocab() and a.bos_token_id == b.bos_token_id and a.eos_token_id == b.eos_token_id


class BinocularsPair:
    """An observer/performer pair sharing one tokenizer; computes the raw statistic for texts."""

    def __init__(self, observer: Path, performer: Path, device: str = "cpu", max_tokens: int | None = None,
                 batch_size: int = 16) -> None:
        self.observer_path, self.performer_path = Path(observer), Path(performer)
        self.device = device
        self.tokenizer = _load_tokenizer(self.observer_path)
        try:
            performer_tokenizer = _load_tokenizer(self.performer_path)
        except (OSError, ValueError):
            performer_tokenizer = None  # a model dir without tokenizer files: its config must still agree
        if performer_tokenizer is not None and not same_tokenizer(self.tokenizer, performer_tokenizer):
            raise ValueError(
                f"observer {self.observer_path} and performer {self.performer_path} have different tokenizers; "
                "Binoculars compares the two models token by token, so pick two models of one family "
                "that share a tokenizer (e.g. a base model and its instruction-tuned version)")
        self.observer = _load_lm(self.observer_path, device)
        self.performer = _load_lm(self.performer_path, device)
        limits = [getattr(m.config, "n_positions", None) or getattr(m.config, "max_position_embeddings", None)
                  for m in (self.observer, self.performer)]
        context = min([x for x in limits if x] or [2048])
        self.max_tokens = min(max_tokens or context, context)
        self.batch_size = batch_size
        self.start_id = self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None \
            else self.tokenizer.eos_token_id

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]] | None]:
        """Token ids of ``text`` (no special tokens) and each token's character span."""
        if getattr(self.tokenizer, "is_fast", False):
            enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return ids, token_char_offsets(self.tokenizer, ids, text)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    @torch.no_grad()
    def score(self, texts: Sequence[str]) -> list[TokenScores | None]:
        """The statistic per text (None for a text with fewer than 2 scorable tokens), in order."""
        encoded = [self.encode(t) for t in texts]
        out: list[TokenScores | None] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i][0]))
        for first in range(0, len(order), self.batch_size):
            chunk = order[first : first + self.batch_size]
            rows = []
            for i in chunk:
                ids, _ = encoded[i]
                prefix = [self.start_id] if self.start_id is not None else []
                rows.append((prefix + ids)[: self.max_tokens])
            width = max(len(r) for r in rows)
            if width < 2:
                continue
            batch = torch.full((len(rows), width), self.tokenizer.pad_token_id or 0, dtype=torch.long)
            mask = torch.zeros_like(batch)
            for r, row in enumerate(rows):
                batch[r, : len(row)] = torch.tensor(row)
                mask[r, : len(row)] = 1
            batch, mask = batch.to(self.device), mask.to(self.device)
            obs_logits = self.observer(batch, attention_mask=mask).logits
            perf_logits = self.performer(batch, attention_mask=mask).logits
            surprise, expected = binoculars_terms(obs_logits[:, :-1], perf_logits[:, :-1], batch[:, 1:])
            for r, i in enumerate(chunk):
                n = len(rows[r]) - 1  # scored positions
                if n < 1:
                    continue
                s, e = surprise[r, :n].cpu().numpy(), expected[r, :n].cpu().numpy()
                ids, offsets = encoded[i]
                skipped = 0 if self.start_id is not None else 1  # without a start token the first token is context
                kept = offsets[skipped : skipped + n] if offsets is not None else None
                log_ppl, log_xppl = float(s.mean()), float(e.mean())
                out[i] = TokenScores(binoculars=binoculars_score(s, e), log_ppl=log_ppl, log_xppl=log_xppl,
                                     surprise=s, expected=e, offsets=kept, tokens=n, tokens_total=len(ids) - skipped)
        return out

    def info(self) -> dict[str, Any]:
        return {"observer": str(self.observer_path), "performer": str(self.performer_path),
                "observer_sha256": weights_sha256(self.observer_path),
                "performer_sha256": weights_sha256(self.performer_path)}


def load_calibration(pair: BinocularsPair) -> tuple[Calibration, dict[str, Any]]:
    """The pair's calibration file, checked against the weights it was fitted for."""
    path = pair.performer_path / CALIBRATION_FILE
    command = (f"python -m detectors.text calibrate-binoculars --observer {pair.observer_path} "
               f"--performer {pair.performer_path} [--human HUMAN.jsonl --machine MACHINE.jsonl]")
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: this observer/performer pair has no calibration. Run `{command}` "
                                "to score held-out human and machine texts and write it")
    data = json.loads(path.read_text())
    info = pair.info()
    for role in ("observer", "performer"):
        if data.get(f"{role}_sha256") != info[f"{role}_sha256"]:
            raise ValueError(f"{path} was fitted for a different {role} (weights SHA-256 differs); "
                             f"run `{command}` again")
    cal = data["calibration"]
    return Calibration.from_dict(cal), data


def raw_logits(scores: Sequence[TokenScores | None]) -> np.ndarray:
    """The quantity that is Platt-scaled: ``-B`` (higher = more machine-like)."""
    return np.array([-s.binoculars if s is not None else np.nan for s in scores], dtype=np.float64)


def _truncate_tokens(pair: BinocularsPair, text: str, n: int) -> str:
    ids, offsets = pair.encode(text)
    if offsets is None or len(ids) <= n:
        return text
    return text[: offsets[n - 1][1]]


def _metrics(pair: BinocularsPair, calibration: Calibration, human: list[str], machine: list[str],
             min_tokens: int) -> dict[str, Any]:
    """AUROC, TPR at the calibrated threshold, and both by length (texts cut to the first N tokens)."""
    from detectors.evaluation.metrics import auc_score

    out: dict[str, Any] = {}
    for name, limit in (("full", None), ("first_32_tokens", 32), ("first_64_tokens", 64), ("first_128_tokens", 128)):
        texts = human + machine
        if limit is not None:
            texts = [_truncate_tokens(pair, t, limit) for t in texts]
        scores = pair.score(texts)
        labels = np.array([0] * len(human) + [1] * len(machine))
        long_enough = np.array([s is not None and s.tokens >= min(limit or min_tokens, min_tokens) for s in scores])
        x = raw_logits(scores)
        keep = long_enough & np.isfinite(x)
        if keep.sum() < 10 or len(set(labels[keep])) < 2:
            continue
        probability = calibration.probability(x[keep])
        y = labels[keep]
        log_ppl = np.array([s.log_ppl if s is not None else np.nan for s in scores])[keep]
        out[name] = {"n_human": int((y == 0).sum()), "n_machine": int((y == 1).sum()),
                     "auroc": round(auc_score(y, x[keep]), 4),
                     # Ablation: the numerator alone (plain perplexity under the performer, low = machine).
                     "auroc_performer_perplexity_only": round(auc_score(y, -log_ppl), 4),
                     "tpr_at_threshold": round(float((probability[y == 1] >= calibration.threshold).mean()), 4),
                     "fpr_at_threshold": round(float((probability[y == 0] >= calibration.threshold).mean()), 4)}
    return out


def calibrate_pair(observer: Path, performer: Path, human: Path | None = None, machine: Path | None = None,
                   corpus: Path | None = None, device: str = "cpu", max_tokens: int | None = None,
                   min_tokens: int = DEFAULT_MIN_TOKENS, target_fpr: float = 0.01) -> dict[str, Any]:
    """Fit Platt scaling + the 1%-FPR threshold for a pair and write ``binoculars-calibration.json``.

    With jsonl files, all their texts calibrate; with the shared corpus, its
    calib split calibrates and its test split is reported.
    """
    from detectors.evaluation.metrics import auc_score
    from detectors.text.data import HUMAN, MACHINE, SHARED_TEXT_DIR, load_shared_corpus, read_jsonl_texts, split_corpus

    pair = BinocularsPair(observer, performer, device=device, max_tokens=max_tokens)
    test: tuple[list[str], list[str]] | None = None
    if human is not None or machine is not None:
        if human is None or machine is None:
            raise ValueError("give both --human and --machine jsonl files (or neither, to use the shared corpus)")
        calib_h = [t.text for t in read_jsonl_texts(Path(human), HUMAN)]
        calib_m = [t.text for t in read_jsonl_texts(Path(machine), MACHINE)]
        source = {"human": str(human), "machine": str(machine)}
    else:
        everything = load_shared_corpus(Path(corpus or SHARED_TEXT_DIR))
        calib, held = split_corpus(everything, "calib"), split_corpus(everything, "test")
        calib_h = [t.text for t in calib if t.label == HUMAN]
        calib_m = [t.text for t in calib if t.label == MACHINE]
        test = ([t.text for t in held if t.label == HUMAN], [t.text for t in held if t.label == MACHINE])
        source = {"corpus": "human-vs-llm-text", "split": "calib (detectors.text.data.split_of)"}
    scores = pair.score(calib_h + calib_m)
    labels = np.array([0] * len(calib_h) + [1] * len(calib_m))
    usable = np.array([s is not None and s.tokens >= min_tokens for s in scores])
    x = raw_logits(scores)
    if usable[labels == 0].sum() < 20 or usable[labels == 1].sum() < 20:
        raise ValueError(f"need at least 20 human and 20 machine texts of >= {min_tokens} tokens to calibrate; "
                         f"got {int(usable[labels == 0].sum())} and {int(usable[labels == 1].sum())}")
    calibration = fit_platt(x[usable], labels[usable], target_fpr=target_fpr)
    result: dict[str, Any] = {
        "statistic": "binoculars (Hans et al. 2024): performer log-perplexity / observer-performer cross-perplexity",
        "raw_logit": "-binoculars",
        "calibration": calibration.to_dict(),
        **pair.info(),
        "min_tokens": min_tokens,
        "max_tokens": pair.max_tokens,
        "calibrated_on": {**source, "n_human": int(usable[labels == 0].sum()),
                          "n_machine": int(usable[labels == 1].sum())},
        "calib_auroc": round(auc_score(labels[usable], x[usable]), 4),
    }
    if test is not None:
        result["test_metrics"] = _metrics(pair, calibration, test[0], test[1], min_tokens)
    path = pair.performer_path / CALIBRATION_FILE
    path.write_text(json.dumps(result, indent=2) + "\n")
    log.info("binoculars calibrated", extra={"path": str(path), "calib_auroc": result["calib_auroc"]})
    return result


@register_detector
class BinocularsDetector(Detector):
    """Zero-shot LLM-text detector (Binoculars) on a local observer/performer pair.

    Options (FORENSICS_DETECTOR_OPTIONS["text-binoculars"], or the
    FORENSICS_TEXT_OBSERVER / FORENSICS_TEXT_PERFORMER settings): ``observer``
    and ``performer`` (HF model directories sharing a tokenizer; default the
    shipped small pair), ``min_tokens`` (shorter texts are not applicable),
    ``max_tokens`` (longer texts are scored on their first ``max_tokens``
    tokens, and the evidence says so).
    """

    name = "text-binoculars"
    version = "1.0"
    media_types = frozenset({MediaType.TEXT})

    def __init__(self, models_dir: Path | None = None, device: str = "cpu", observer: str | Path | None = None,
                 performer: str | Path | None = None, min_tokens: int = DEFAULT_MIN_TOKENS,
                 max_tokens: int | None = None, batch_size: int = 16) -> None:
        super().__init__(models_dir, device)
        base = text_lm_dir(models_dir)
        self.pair = BinocularsPair(Path(observer or base / "observer"), Path(performer or base / "performer"),
                                   device=device, max_tokens=max_tokens, batch_size=batch_size)
        self.calibration, self.calibration_data = load_calibration(self.pair)
        self.min_tokens = int(min_tokens)

    def model_info(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, **self.pair.info(),
                "threshold": self.calibration.threshold, "target_fpr": self.calibration.target_fpr,
                "min_tokens": self.min_tokens, "max_tokens": self.pair.max_tokens}

    def score_texts(self, texts: list[str]) -> list[float | None]:
        """Calibrated probabilities of machine authorship; None for a text shorter than ``min_tokens``."""
        return [None if s is None or s.tokens_total < self.min_tokens
                else float(self.calibration.probability(-s.binoculars)) for s in self.pair.score(texts)]

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        texts = [item.read_text() for item in batch]
        present = [i for i, t in enumerate(texts) if t]
        scored = dict(zip(present, self.pair.score([texts[i] for i in present])))
        return [self._finding(texts[i], scored.get(i)) for i in range(len(batch))]

    def _finding(self, text: str | None, result: TokenScores | None) -> Finding:
        if not text:
            return Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE, reason="no text in the input")
        tokens = result.tokens_total if result is not None else self.pair.count_tokens(text)
        if result is None or tokens < self.min_tokens:
            return Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE,
                           reason=f"text too short: {tokens} tokens, at least {self.min_tokens} needed",
                           evidence={"tokens": tokens, "min_tokens": self.min_tokens})
        probability = float(self.calibration.probability(-result.binoculars))
        flagged = probability >= self.calibration.threshold
        evidence: dict[str, Any] = {
            "score": round(probability, 4),
            "binoculars": round(result.binoculars, 4),
            "log_perplexity_performer": round(result.log_ppl, 4),
            "log_cross_perplexity": round(result.log_xppl, 4),
            "tokens": result.tokens,
            "tokens_total": result.tokens_total,
            "truncated": result.truncated,
            "min_tokens": self.min_tokens,
            **self.pair.info(),
        }
        if result.truncated:
            evidence["truncation_note"] = f"scored the first {result.tokens} of {result.tokens_total} tokens"
        evidence |= self._spans(result, text)
        reason = (f"Binoculars {result.binoculars:.3f} over {result.tokens} tokens: "
                  f"{'lower' if flagged else 'not lower'} than human text usually scores with this model pair")
        return Finding(self.name, self.version, FindingLabel.SYNTHETIC if flagged else FindingLabel.AUTHENTIC,
                       score=probability, threshold=self.calibration.threshold, reason=reason, evidence=evidence)

    def _spans(self, result: TokenScores, text: str) -> dict[str, Any]:
        """Which tokens pulled the score towards machine (surprise below expectation) or human."""
        if result.offsets is None:
            return {}
        diff = result.surprise - result.expected
        labels = ["machine" if d < 0 else "human" for d in diff]
        weights = [min(1.0, abs(float(d)) / SPAN_SCALE_NATS) for d in diff]
        return build_spans(result.offsets, labels, weights, SPAN_LEGEND, text=text)
