"""Green-list watermark for LLM text (Kirchenbauer et al., ICML 2023).

"A Watermark for Large Language Models" (arXiv:2301.10226): at every
generation step the vocabulary is split pseudo-randomly, seeded by the
preceding context and a secret key, into a *green* fraction ``gamma`` and a red
rest; ``delta`` is added to the green logits before sampling. A detector that
knows the key recomputes the split for every token and counts green tokens:
without the watermark each token is green with probability ``gamma``, so the
one-proportion z statistic

    z = (|s|_G - gamma * T) / sqrt(T * gamma * (1 - gamma))

is approximately standard normal, and a large z (the paper uses z > 4) is
strong evidence that the text came from the watermarked generator.

The pseudo-random function (stable, versioned by ``SCHEME_VERSION``; never
depends on torch's or numpy's RNG so it can be verified years later):

* The secret key (``bytes`` or ``str``, UTF-8) is hashed with SHA-256 and used
  as the key of BLAKE2b.
* A *context seed* (64 bits) is computed from the ``context_width`` = h token
  ids before the position:

  - ``seeding="hash"`` (default; h=1 is the paper's "previous token" scheme,
    h>1 its "LeftHash over h tokens"): ``BLAKE2b-64(key, "ctx|" + h + ids as
    4-byte big-endian)`` of all h preceding ids, in order. Most
    sensitive: any edit inside the h-token window changes the list.
  - ``seeding="min"`` (the "MinHash" scheme of Kirchenbauer et al. 2023b, "On
    the Reliability of Watermarks for LLMs"): the minimum over the h preceding
    ids of ``BLAKE2b-64(key, "tok|" + id)``. Only one of the h tokens decides
    the seed, so it is more robust to edits for h>1.

* A token ``t`` is green for seed ``s`` iff ``mix64(s XOR mix64(t + C)) <
  floor(gamma * 2**64)``, with ``mix64`` the SplitMix64 finaliser. The green
  list is therefore a fixed-threshold keyed hash: its size is Binomial(V,
  gamma) rather than exactly ``gamma * V``, but membership of one token can be
  checked without knowing the vocabulary size, which keeps detection
  tokenizer-agnostic, and under the null (text independent of the key) every
  scored token is green with probability gamma.

Detection scores each token after the first h (which have no full context),
ignores every repeated (context, token) n-gram after its first occurrence, as
the paper recommends (repetitions are not independent draws), and reports
per-token flags for highlighting. Besides the global z it computes a windowed
score (the maximum z over half-overlapping windows of ``window`` scored tokens)
for watermarked text that was pasted into human text; its p-value is
Bonferroni-corrected for the number of windows, and the overall p-value is
``min(1, 2 * min(p_global, p_window))`` (Bonferroni over the two tests), so the
false-positive rate at level alpha stays at most alpha.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from detectors.base import Detector, Finding, FindingLabel, MediaInput, MediaType
from detectors.registry import register_detector
from detectors.text.spans import build_spans, token_char_offsets

if TYPE_CHECKING:
    import torch  # imported at run time only where a logits processor runs

SCHEME_VERSION = "kgw-v1"
SEEDING_SCHEMES = ("hash", "min")

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)

# Token flags reported per position (for UI highlighting).
FLAG_GREEN = "green"
FLAG_RED = "red"
FLAG_REPEAT = "repeat"  # repeated (context, token) n-gram: not scored
FLAG_CONTEXT = "context"  # one of the first h tokens: no full context, not scored
SPAN_LEGEND = {"green": "token on this key's green list", "red": "token on the red list"}


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x.copy()
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


def normal_sf(z: float) -> float:
    """P(Z >= z) for a standard normal, accurate far into the tail."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _key_bytes(key: bytes | str) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not raw:
        raise ValueError("the watermark key must not be empty")
    return hashlib.sha256(b"forensics-greenlist-key|" + raw).digest()


@dataclass(frozen=True)
class GreenlistParams:
    """Everything that defines one green-list watermark (the key stays secret)."""

    key: bytes | str = field(repr=False)
    gamma: float = 0.25
    delta: float = 2.0
    context_width: int = 1
    seeding: str = "hash"

    def __post_init__(self) -> None:
        if not 0.0 < self.gamma < 1.0:
            raise ValueError(f"gamma must be in (0, 1), got {self.gamma}")
        if self.context_width < 1:
            raise ValueError("context_width must be >= 1")
        if self.seeding not in SEEDING_SCHEMES:
            raise ValueError(f"seeding must be one of {SEEDING_SCHEMES}, got {self.seeding!r}")
        _key_bytes(self.key)  # validates non-empty

    def public_dict(self) -> dict[str, Any]:
        """The parameters without the key (safe for evidence and audit)."""
        return {
            "scheme": SCHEME_VERSION,
            "gamma": self.gamma,
            "delta": self.delta,
            "context_width": self.context_width,
            "seeding": self.seeding,
            "key_id": hashlib.sha256(b"key-id|" + _key_bytes(self.key)).hexdigest()[:12],
        }


class GreenlistPRF:
    """The keyed split of the vocabulary into green and red, per context."""

    def __init__(self, params: GreenlistParams) -> None:
        self.params = params
        self._key = _key_bytes(params.key)
        # floor(gamma * 2^64), exact integer arithmetic.
        self._threshold = np.uint64(min(int(params.gamma * (1 << 64)), (1 << 64) - 1))
        self._token_hash_cache: dict[int, int] = {}

    def _blake64(self, data: bytes) -> int:
        return int.from_bytes(hashlib.blake2b(data, key=self._key, digest_size=8).digest(), "big")

    def _token_hash(self, token: int) -> int:
        cached = self._token_hash_cache.get(token)
        if cached is None:
            cached = self._blake64(b"tok|" + int(token).to_bytes(4, "big"))
            self._token_hash_cache[token] = cached
        return cached

    def context_seed(self, context: Sequence[int]) -> int:
        """64-bit seed from the h ids before a position (h = ``context_width``)."""
        h = self.params.context_width
        ctx = [int(t) for t in context[-h:]]
        if len(ctx) < h:
            raise ValueError(f"need {h} context tokens, got {len(ctx)}")
        if self.params.seeding == "min":
            return min(self._token_hash(t) for t in ctx)
        payload = b"ctx|" + h.to_bytes(2, "big") + b"".join(t.to_bytes(4, "big") for t in ctx)
        return self._blake64(payload)

    def green_mask_for_seed(self, seed: int, vocab_size: int) -> np.ndarray:
        """Boolean mask of length ``vocab_size``: True where the id is green."""
        ids = np.arange(vocab_size, dtype=np.uint64)
        return self._is_green(np.full(vocab_size, seed, dtype=np.uint64), ids)

    def _is_green(self, seeds: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        tok = _mix64(tokens.astype(np.uint64) + _GOLDEN)
        return _mix64(seeds.astype(np.uint64) ^ tok) < self._threshold

    def is_green(self, context: Sequence[int], token: int) -> bool:
        seed = self.context_seed(context)
        return bool(self._is_green(np.array([seed], dtype=np.uint64), np.array([token], dtype=np.uint64))[0])

    def green_flags(self, token_ids: Sequence[int]) -> np.ndarray:
        """Green (True) / red (False) for positions h..T-1 of ``token_ids``."""
        h = self.params.context_width
        ids = [int(t) for t in token_ids]
        if len(ids) <= h:
            return np.zeros(0, dtype=bool)
        seeds = np.array([self.context_seed(ids[i - h : i]) for i in range(h, len(ids))], dtype=np.uint64)
        return self._is_green(seeds, np.array(ids[h:], dtype=np.uint64))


def green_list(prefix: Sequence[int], vocab_size: int, params: GreenlistParams) -> np.ndarray:
    """The sorted green token ids for the next token after ``prefix`` (model-agnostic)."""
    prf = GreenlistPRF(params)
    return np.flatnonzero(prf.green_mask_for_seed(prf.context_seed(prefix), vocab_size))


def _logits_processor_base() -> type:
    try:
        from transformers import LogitsProcessor

        return LogitsProcessor
    except Exception:  # noqa: BLE001  # pragma: no cover - transformers is a dependency of the project
        return object


class GreenlistLogitsProcessor(_logits_processor_base()):  # type: ignore[misc]  # base is transformers' or object
    """Adds ``delta`` to the green logits; pass it to any HF ``generate()``.

    ``model.generate(ids, logits_processor=LogitsProcessorList([proc]), do_sample=True)``.
    Rows whose prefix is shorter than the context width are left unchanged
    (those first tokens are also not scored by the detector). Works with any
    vocabulary: the mask is computed for ``scores.shape[-1]`` ids.
    """

    def __init__(self, params: GreenlistParams, cache_size: int = 4096) -> None:
        self.params = params
        self.prf = GreenlistPRF(params)
        self._masks: dict[tuple[int, int], Any] = {}
        self._cache_size = cache_size

    def green_mask(self, prefix: Sequence[int], vocab_size: int) -> np.ndarray:
        seed = self.prf.context_seed(prefix)
        key = (seed, vocab_size)
        mask = self._masks.get(key)
        if mask is None:
            if len(self._masks) >= self._cache_size:
                self._masks.clear()
            mask = self.prf.green_mask_for_seed(seed, vocab_size)
            self._masks[key] = mask
        return mask

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        h = self.params.context_width
        if input_ids.shape[-1] < h:
            return scores
        vocab = scores.shape[-1]
        rows = [self.green_mask(row[-h:].tolist(), vocab) for row in input_ids]
        mask = torch.from_numpy(np.stack(rows)).to(scores.device)
        return scores + mask.to(scores.dtype) * self.params.delta


@dataclass
class GreenlistScore:
    """The result of scoring one token sequence against one key."""

    applicable: bool
    reason: str
    num_tokens: int
    num_scored: int
    num_green: int
    green_fraction: float | None
    z: float | None
    p_value_global: float | None
    window: int
    num_windows: int
    window_max_z: float | None
    window_span: tuple[int, int] | None  # token positions [start, end) of the best window
    p_value_window: float | None  # Bonferroni-corrected over the windows
    p_value: float | None  # overall: min(1, 2 * min(global, window)) when windows exist
    detected: bool
    flags: list[str]
    params: dict[str, Any]

    def to_evidence(self, max_flags: int = 4096) -> dict[str, Any]:
        return {
            "num_tokens": self.num_tokens,
            "num_scored": self.num_scored,
            "num_green": self.num_green,
            "green_fraction": self.green_fraction,
            "z": self.z,
            "p_value_global": self.p_value_global,
            "window": self.window,
            "num_windows": self.num_windows,
            "window_max_z": self.window_max_z,
            "window_span": list(self.window_span) if self.window_span else None,
            "p_value_window": self.p_value_window,
            "p_value": self.p_value,
            "detected": self.detected,
            "token_flags": self.flags[:max_flags],
            "token_flags_truncated": len(self.flags) > max_flags,
            "watermark": self.params,
        }


def z_score(num_green: int, num_scored: int, gamma: float) -> float:
    return (num_green - gamma * num_scored) / math.sqrt(num_scored * gamma * (1.0 - gamma))


class GreenlistDetector:
    """Scores token-id sequences for one green-list key (no Django, no model).

    ``z_threshold`` sets the level: ``alpha = P(Z >= z_threshold)`` (4.0 gives
    alpha = 3.2e-5, the paper's operating point). Sequences with fewer than
    ``min_tokens`` scored tokens are not applicable.
    """

    def __init__(
        self,
        params: GreenlistParams,
        z_threshold: float = 4.0,
        min_tokens: int = 25,
        window: int = 50,
        ignore_repeated_ngrams: bool = True,
    ) -> None:
        self.params = params
        self.prf = GreenlistPRF(params)
        self.z_threshold = z_threshold
        self.alpha = normal_sf(z_threshold)
        self.min_tokens = min_tokens
        self.window = window
        self.ignore_repeated_ngrams = ignore_repeated_ngrams

    def score(self, token_ids: Sequence[int]) -> GreenlistScore:
        ids = [int(t) for t in token_ids]
        h = self.params.context_width
        gamma = self.params.gamma
        flags = [FLAG_CONTEXT] * min(h, len(ids))
        scored_green: list[bool] = []
        scored_pos: list[int] = []
        if len(ids) > h:
            green = self.prf.green_flags(ids)
            seen: set[tuple[int, ...]] = set()
            for i in range(h, len(ids)):
                ngram = tuple(ids[i - h : i + 1])
                if self.ignore_repeated_ngrams and ngram in seen:
                    flags.append(FLAG_REPEAT)
                    continue
                seen.add(ngram)
                g = bool(green[i - h])
                flags.append(FLAG_GREEN if g else FLAG_RED)
                scored_green.append(g)
                scored_pos.append(i)
        n = len(scored_green)
        n_green = int(sum(scored_green))
        base: dict[str, Any] = {
            "num_tokens": len(ids), "num_scored": n, "num_green": n_green, "window": self.window,
            "flags": flags, "params": self.params.public_dict(),
        }
        if n < self.min_tokens:
            return GreenlistScore(
                applicable=False,
                reason=f"only {n} scorable tokens (after the first {h} and repeated n-grams); need {self.min_tokens}",
                green_fraction=n_green / n if n else None, z=None, p_value_global=None, num_windows=0,
                window_max_z=None, window_span=None, p_value_window=None, p_value=None, detected=False, **base,
            )
        z = z_score(n_green, n, gamma)
        p_global = normal_sf(z)
        num_windows, best_z, span, p_window = 0, None, None, None
        if self.window and n > self.window:
            w = self.window
            stride = max(1, w // 2)
            csum = np.concatenate([[0], np.cumsum(np.array(scored_green, dtype=np.int64))])
            starts = list(range(0, n - w + 1, stride))
            if starts[-1] != n - w:
                starts.append(n - w)
            zs = [z_score(int(csum[s + w] - csum[s]), w, gamma) for s in starts]
            k = int(np.argmax(zs))
            num_windows, best_z = len(starts), float(zs[k])
            span = (scored_pos[starts[k]], scored_pos[starts[k] + w - 1] + 1)
            p_window = min(1.0, num_windows * normal_sf(best_z))
        p = p_global if p_window is None else min(1.0, 2.0 * min(p_global, p_window))
        return GreenlistScore(
            applicable=True, reason="", green_fraction=n_green / n, z=float(z), p_value_global=p_global,
            num_windows=num_windows, window_max_z=best_z, window_span=span, p_value_window=p_window,
            p_value=p, detected=p <= self.alpha, **base,
        )


class Tokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...


class ByteTokenizer:
    """Fallback tokenizer: UTF-8 bytes as ids 0..255 (always available)."""

    vocab_size = 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: Iterable[int]) -> str:
        return bytes(int(i) for i in ids).decode("utf-8", errors="replace")


def default_tokenizer() -> Tokenizer:
    """cl100k_base from ``bpe-openai`` (ships offline) or, without it, bytes."""
    try:
        import bpe_openai

        return bpe_openai.get_encoding("cl100k_base")
    except Exception:  # noqa: BLE001 - any failure to load the encoding falls back to bytes, as documented
        return ByteTokenizer()


def encode_text(tokenizer: Any, text: str) -> list[int]:
    """Token ids from any tokenizer object with ``encode()`` (HF tokenizers: no special tokens)."""
    try:
        ids = tokenizer.encode(text, add_special_tokens=False)
    except TypeError:
        ids = tokenizer.encode(text)
    if hasattr(ids, "ids"):  # tokenizers.Encoding
        ids = ids.ids
    return [int(i) for i in ids]


def score_text(text: str, tokenizer: Any, params: GreenlistParams, **detector_kwargs: Any) -> GreenlistScore:
    """Tokenize ``text`` with ``tokenizer`` (anything with ``encode()``) and score it."""
    return GreenlistDetector(params, **detector_kwargs).score(encode_text(tokenizer, text))


def evidence_score(p_value: float, alpha: float) -> float:
    """Map a p-value to the finding score in [0, 1]; 0.5 exactly at ``p = alpha``.

    ``score = min(1, log10(1/p) / (2 * log10(1/alpha)))``: monotone in the
    evidence, 0 for p = 1, 0.5 at the detection threshold and 1 for p <= alpha^2.
    """
    if p_value <= 0.0:
        return 1.0
    return float(min(1.0, max(0.0, -math.log10(p_value) / (2.0 * -math.log10(alpha)))))


@register_detector
class TextGreenlistWatermarkDetector(Detector):
    """Detector ``text-greenlist-watermark``: is this text from our watermarked LLM?

    Score semantics: the score is *not* a probability of machine authorship in
    general; it is a monotone transform of the watermark test's p-value,
    ``score = min(1, log10(1/p) / (2 log10(1/alpha)))`` (see
    :func:`evidence_score`), so ``threshold = 0.5`` is exactly the test level
    alpha (the false-positive rate on any text not produced with this key, by
    construction of the z-test) and the score saturates at 1 when ``p <=
    alpha^2``. A detected watermark is strong evidence of synthetic origin
    (label SYNTHETIC). No watermark gives label AUTHENTIC with a low score and
    a reason saying that absence proves nothing about other generators; fusion
    should use ``evidence['p_value']`` and should not read a low score as proof
    of human authorship. Without a key, or with too few scorable tokens, the
    finding is NOT_APPLICABLE with a reason.

    Input: ``MediaInput.text`` (or a text file at ``path``), tokenized with the
    tokenizer given to the constructor (default cl100k_base via bpe-openai, or
    bytes), or ready ids in ``metadata['token_ids']`` (any tokenizer).
    """

    name = "text-greenlist-watermark"
    version = "1.0.0"
    media_types = frozenset({MediaType.TEXT})

    def __init__(
        self,
        models_dir: Path | None = None,
        device: str = "cpu",
        key: bytes | str | None = None,
        gamma: float = 0.25,
        delta: float = 2.0,
        context_width: int = 1,
        seeding: str = "hash",
        tokenizer: Any = None,
        z_threshold: float = 4.0,
        min_tokens: int = 25,
        window: int = 50,
    ) -> None:
        super().__init__(models_dir=models_dir, device=device)
        self.params = (
            GreenlistParams(key=key, gamma=gamma, delta=delta, context_width=context_width, seeding=seeding)
            if key
            else None
        )
        self.detector = (
            GreenlistDetector(self.params, z_threshold=z_threshold, min_tokens=min_tokens, window=window)
            if self.params
            else None
        )
        self.alpha = normal_sf(z_threshold)
        self._tokenizer = tokenizer

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = default_tokenizer()
        return self._tokenizer

    def model_info(self) -> dict[str, Any]:
        info = super().model_info()
        if self.params:
            info["watermark"] = self.params.public_dict()
        return info

    def _not_applicable(self, reason: str, evidence: dict[str, Any] | None = None) -> Finding:
        return Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE, reason=reason, evidence=evidence or {})

    def _text(self, item: MediaInput) -> str | None:
        if item.text is None and item.path is not None:
            return Path(item.path).read_text(encoding="utf-8", errors="replace")
        return item.text

    def _ids(self, item: MediaInput, text: str | None) -> list[int] | None:
        if "token_ids" in item.metadata:
            return [int(i) for i in item.metadata["token_ids"]]
        return None if text is None else encode_text(self.tokenizer, text)

    def _spans(self, ids: list[int], text: str | None, flags: list[str]) -> dict[str, Any]:
        """Green and red tokens as text spans, so a reviewer sees where the mark is."""
        offsets = token_char_offsets(self.tokenizer, ids, text) if text is not None else None
        if offsets is None:
            return {}
        labels = [{FLAG_GREEN: "green", FLAG_RED: "red"}.get(flag) for flag in flags]
        return build_spans(offsets, labels, [1.0] * len(offsets), SPAN_LEGEND, text=text)

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        out: list[Finding] = []
        for item in batch:
            if self.detector is None:
                out.append(self._not_applicable("no text watermark key configured for this tenant"))
                continue
            text = self._text(item)
            ids = self._ids(item, text)
            if ids is None:
                out.append(self._not_applicable("no text in the input"))
                continue
            result = self.detector.score(ids)
            evidence = result.to_evidence() | self._spans(ids, text, result.flags)
            if not result.applicable:
                out.append(self._not_applicable(f"text too short for watermark detection: {result.reason}", evidence))
                continue
            assert result.p_value is not None
            score = evidence_score(result.p_value, self.alpha)
            if result.detected:
                label = FindingLabel.SYNTHETIC
                reason = (
                    f"green-list watermark found: z={result.z:.1f}, p={result.p_value:.2e}, "
                    f"green fraction {result.green_fraction:.2f} vs {self.detector.params.gamma:.2f} expected"
                )
            else:
                label = FindingLabel.AUTHENTIC
                reason = (
                    f"no watermark for this key (z={result.z:.1f}, p={result.p_value:.2g}); "
                    "absence does not prove human authorship"
                )
            out.append(
                Finding(self.name, self.version, label, score=score, threshold=0.5, positive_only=True, reason=reason, evidence=evidence)
            )
        return out

    def provenance_summary(self, finding: Finding) -> dict[str, Any] | None:
        if finding.label is FindingLabel.NOT_APPLICABLE:
            return None
        evidence = finding.evidence
        return {"kind": "text", "method": "green-list (Kirchenbauer et al. 2023)",
                "detected": finding.label is FindingLabel.SYNTHETIC, "p_value": evidence.get("p_value"),
                "z": evidence.get("z"), "key_id": (evidence.get("watermark") or {}).get("key_id"),
                "green_fraction": evidence.get("green_fraction")}
