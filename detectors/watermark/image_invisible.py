"""Invisible image watermarks: Stable Diffusion's DWT-DCT marks and our tenant mark.

Two detectors, both on top of the ``invisible-watermark`` package (module
``imwatermark``, install ``--no-deps`` with PyWavelets and
``opencv-python-headless<5``); OpenCV and imwatermark are imported lazily so
that importing this module (and registering the detectors) never fails.

**Known public marks** (detector ``image-invisible-watermark``). The reference
scripts of Stable Diffusion embed a fixed payload with imwatermark's
``dwtDct`` method (U channel, scale 36, 4x4 blocks of the Haar LL band):

* ``"StableDiffusionV1"`` (UTF-8 bytes, 136 bits): CompVis/stable-diffusion
  ``scripts/txt2img.py`` and ``img2img.py``, image in BGR order;
* ``"StableDiffusionV1-Inpainting"`` (224 bits): runwayml/stable-diffusion
  inpainting scripts;
* ``"SDV2"`` (32 bits): Stability-AI/stablediffusion (SD 2.x) scripts;
* the 48-bit message ``0xB3EC907BB19E`` (``0b1011...11110``, set as bits):
  Stability-AI/generative-models (SDXL) and diffusers'
  ``StableDiffusionXLWatermarker``, which encodes the RGB array as if it were
  BGR, so both channel orders are tried.

For every candidate payload and channel order the image is decoded at that
payload's length and the decoded bits are compared to the payload: under the
null (no mark) each bit matches with probability 1/2, so the number of matching
bits k of n gives the binomial tail ``p = P(Bin(n, 1/2) >= k)``, which is
Bonferroni-corrected for the number of hypotheses tried. The mark is reported
when the corrected p is at most ``alpha`` (default 1e-6) and the bit accuracy
is at least ``min_bit_accuracy`` (0.75), a guard against images whose decode is
biased (flat images decode to mostly zeros). Known weakness (measured, see
``evaluate.py``): ``dwtDct`` survives lossless saving but not JPEG, so a
re-encoded SD image usually loses its mark; absence proves nothing.

**Tenant mark** (detector ``image-tenant-watermark``). A 64-bit payload is
derived from the tenant key, ``HMAC-SHA256(key, "tenant-image-watermark|v1")``
truncated, and embedded with imwatermark's DWT-DCT-SVD block primitive (the
largest singular value of each 4x4 DCT block of the U channel's Haar LL band
is quantised, step ``strength``), with two keyed changes to the package's
layout: blocks are assigned to payload bits by a keyed permutation (balanced)
and every block's bit is XORed with a keyed chip, so the decoded bits of an
unmarked image are close to fair coin flips whatever the image content (the
package's cyclic layout makes clean images decode to content-dependent, often
biased patterns). Decoding averages the chip-corrected votes of each bit's
blocks (a soft score per bit), and the decision is a binomial test on the
number of matching bits, Bonferroni-corrected over the scales tried. To survive
a downscale (the block grid no longer lines up), the image is also decoded
after bicubic upscaling by each factor in ``rescale_factors`` (default 2.0, the
inverse of a 0.5x resize).

Score semantics (both detectors): ``score = min(1, log10(1/p) / (2
log10(1/alpha)))``, monotone in the evidence, 0.5 exactly at the level alpha
(``threshold = 0.5``), 1 when ``p <= alpha^2``. A found mark is strong
evidence of synthetic origin (label SYNTHETIC); no mark gives AUTHENTIC with a
low score and a reason saying that absence proves nothing. The p-value and bit
accuracy are in ``evidence``.
"""
from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from detectors.base import Detector, Finding, FindingLabel, MediaInput, MediaType
from detectors.registry import register_detector

MIN_SIDE_PIXELS = 256 * 256  # imwatermark refuses smaller images

SDXL_MESSAGE = 0b101100111110110010010000011110111011000110011110


def _bytes_bits(data: bytes) -> list[int]:
    return [int(b) for b in np.unpackbits(np.frombuffer(data, dtype=np.uint8))]


@dataclass(frozen=True)
class KnownPayload:
    name: str
    bits: tuple[int, ...]
    text: str | None
    source: str


KNOWN_PAYLOADS: tuple[KnownPayload, ...] = (
    KnownPayload("StableDiffusionV1", tuple(_bytes_bits(b"StableDiffusionV1")), "StableDiffusionV1",
                 "CompVis/stable-diffusion scripts (txt2img, img2img), dwtDct"),
    KnownPayload("StableDiffusionV1-Inpainting", tuple(_bytes_bits(b"StableDiffusionV1-Inpainting")),
                 "StableDiffusionV1-Inpainting", "runwayml/stable-diffusion inpainting scripts, dwtDct"),
    KnownPayload("SDV2", tuple(_bytes_bits(b"SDV2")), "SDV2", "Stability-AI/stablediffusion (SD 2.x) scripts, dwtDct"),
    KnownPayload("SDXL", tuple(int(b) for b in bin(SDXL_MESSAGE)[2:]), None,
                 "Stability-AI/generative-models and diffusers StableDiffusionXLWatermarker (48 bits), dwtDct"),
)


def binomial_sf(k: int, n: int) -> float:
    """P(Bin(n, 1/2) >= k), exact."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return math.fsum(math.comb(n, i) for i in range(k, n + 1)) / 2.0**n


def evidence_score(p_value: float, alpha: float) -> float:
    """Finding score from a p-value: 0.5 at ``p = alpha``, 1 at ``p <= alpha^2``."""
    if p_value <= 0.0:
        return 1.0
    return float(min(1.0, max(0.0, -math.log10(p_value) / (2.0 * -math.log10(alpha)))))


# ---------------------------------------------------------------- image helpers

def to_bgr(image: Image.Image | np.ndarray | str | Path) -> np.ndarray:
    """uint8 BGR array from a PIL image, an RGB uint8 array or a file path."""
    if isinstance(image, (str, Path)):
        with Image.open(image) as im:
            image = im.convert("RGB")
            image.load()
    if isinstance(image, Image.Image):
        rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    else:
        rgb = np.asarray(image)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError("expected an RGB array of shape (H, W, 3)")
        rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def bgr_to_pil(bgr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(np.clip(bgr, 0, 255).astype(np.uint8)[:, :, ::-1]))


def _resize(bgr: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    h, w = bgr.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    interp = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
    return cv2.resize(bgr, size, interpolation=interp)


def _big_enough(bgr: np.ndarray) -> bool:
    return bgr.shape[0] * bgr.shape[1] >= MIN_SIDE_PIXELS


# ---------------------------------------------------------- known public marks

@dataclass
class PayloadMatch:
    name: str
    channel_order: str
    bits: int
    matching_bits: int
    bit_accuracy: float
    p_value: float  # uncorrected binomial tail
    decoded_hex: str
    decoded_text: str | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class KnownMarkResult:
    applicable: bool
    reason: str
    detected: bool = False
    best: PayloadMatch | None = None
    p_value: float | None = None  # Bonferroni-corrected over all hypotheses
    hypotheses: int = 0
    matches: list[PayloadMatch] = field(default_factory=list)

    def to_evidence(self) -> dict[str, Any]:
        return {
            "method": "dwtDct",
            "detected": self.detected,
            "p_value": self.p_value,
            "hypotheses": self.hypotheses,
            "best": self.best.to_dict() if self.best else None,
            "candidates": [m.to_dict() for m in self.matches],
        }


def _decode_bits(bgr: np.ndarray, length: int, method: str) -> np.ndarray:
    from imwatermark import WatermarkDecoder

    decoder = WatermarkDecoder("bits", length)
    return np.asarray(decoder.decode(bgr, method), dtype=np.uint8)


def _decoded_text(bits: np.ndarray) -> tuple[str, str | None]:
    raw = np.packbits(bits[: len(bits) // 8 * 8]).tobytes()
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.hex(), None
    return raw.hex(), decoded if decoded.isprintable() else None


def detect_known_marks(
    image: Image.Image | np.ndarray | str | Path,
    payloads: Sequence[KnownPayload] = KNOWN_PAYLOADS,
    alpha: float = 1e-6,
    min_bit_accuracy: float = 0.75,
) -> KnownMarkResult:
    """Test ``image`` for each known dwtDct payload, in BGR and RGB channel order."""
    bgr = to_bgr(image)
    if not _big_enough(bgr):
        return KnownMarkResult(False, f"image {bgr.shape[1]}x{bgr.shape[0]} is smaller than 256x256 pixels")
    matches: list[PayloadMatch] = []
    for order, arr in (("bgr", bgr), ("rgb", np.ascontiguousarray(bgr[:, :, ::-1]))):
        for payload in payloads:
            target = np.array(payload.bits, dtype=np.uint8)
            bits = _decode_bits(arr, len(target), "dwtDct")
            k = int((bits == target).sum())
            hex_, text = _decoded_text(bits)
            matches.append(PayloadMatch(payload.name, order, len(target), k, k / len(target),
                                        binomial_sf(k, len(target)), hex_, text, payload.source))
    hypotheses = len(matches)
    best = min(matches, key=lambda m: (m.p_value, -m.bit_accuracy))
    p = min(1.0, best.p_value * hypotheses)
    detected = p <= alpha and best.bit_accuracy >= min_bit_accuracy
    return KnownMarkResult(True, "", detected, best, p, hypotheses, matches)


def embed_known_mark(image: Image.Image | np.ndarray, payload: KnownPayload = KNOWN_PAYLOADS[0]) -> Image.Image:
    """Embed a known payload the way SD's reference scripts do (for tests and evaluation)."""
    from imwatermark import WatermarkEncoder

    bgr = to_bgr(image)
    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", list(payload.bits))
    return bgr_to_pil(encoder.encode(bgr, "dwtDct"))


# ------------------------------------------------------------------ tenant mark

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix64(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64).copy()
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def _key_bytes(key: bytes | str) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not raw:
        raise ValueError("the tenant watermark key must not be empty")
    return raw


@dataclass(frozen=True)
class TenantMark:
    """The keyed payload and layout of one tenant's image watermark."""

    key: bytes | str = field(repr=False)
    num_bits: int = 64
    strength: float = 36.0  # quantisation step of the singular value (imwatermark's default scale)

    def _hmac(self, label: bytes) -> bytes:
        return hmac.new(_key_bytes(self.key), b"tenant-image-watermark|v1|" + label, hashlib.sha256).digest()

    @property
    def payload(self) -> np.ndarray:
        if not 8 <= self.num_bits <= 256:
            raise ValueError("num_bits must be in [8, 256]")
        raw = self._hmac(b"payload") + self._hmac(b"payload2")
        return np.unpackbits(np.frombuffer(raw, dtype=np.uint8))[: self.num_bits]

    @property
    def key_id(self) -> str:
        return self._hmac(b"key-id").hex()[:12]

    def layout(self, num_blocks: int) -> tuple[np.ndarray, np.ndarray]:
        """(bit index, chip) per block, for a grid of ``num_blocks`` blocks."""
        s1 = np.uint64(int.from_bytes(self._hmac(b"perm")[:8], "big"))
        s2 = np.uint64(int.from_bytes(self._hmac(b"chip")[:8], "big"))
        idx = np.arange(num_blocks, dtype=np.uint64)
        order = np.argsort(_mix64(idx ^ s1), kind="stable")
        bit_index = np.empty(num_blocks, dtype=np.int64)
        bit_index[order] = np.arange(num_blocks) % self.num_bits
        chips = (_mix64(idx + s2) >> np.uint64(63)).astype(np.uint8)
        return bit_index, chips


def _keyed_codec(mark: TenantMark, bits: Sequence[int] | None) -> Any:
    """An imwatermark DWT-DCT-SVD embedder with the keyed block layout."""
    from imwatermark.dwtDctSvd import EmbedDwtDctSvd

    class KeyedDwtDctSvd(EmbedDwtDctSvd):
        def __init__(self) -> None:
            super().__init__(watermarks=list(bits or []), wmLen=mark.num_bits, scales=[0, mark.strength, 0], block=4)
            self.soft: np.ndarray | None = None

        def _grid(self, frame: np.ndarray) -> tuple[int, int, np.ndarray, np.ndarray]:
            rows, cols = frame.shape[0] // self._block, frame.shape[1] // self._block
            bit_index, chips = mark.layout(rows * cols)
            return rows, cols, bit_index, chips

        def encode_frame(self, frame: np.ndarray, scale: float) -> None:
            rows, cols, bit_index, chips = self._grid(frame)
            b = self._block
            for num in range(rows * cols):
                i, j = divmod(num, cols)
                block = frame[i * b : i * b + b, j * b : j * b + b]
                bit = int(self._watermarks[bit_index[num]]) ^ int(chips[num])
                frame[i * b : i * b + b, j * b : j * b + b] = self.diffuse_dct_svd(block, bit, scale)

        def decode_frame(self, frame: np.ndarray, scale: float, scores: list) -> list:
            rows, cols, bit_index, chips = self._grid(frame)
            b = self._block
            sums = np.zeros(self._wmLen)
            counts = np.zeros(self._wmLen)
            for num in range(rows * cols):
                i, j = divmod(num, cols)
                vote = self.infer_dct_svd(frame[i * b : i * b + b, j * b : j * b + b], scale) ^ int(chips[num])
                sums[bit_index[num]] += vote
                counts[bit_index[num]] += 1
            self.soft = sums / np.maximum(counts, 1)
            for n in range(self._wmLen):
                scores[n].append(float(self.soft[n]))
            return scores

    return KeyedDwtDctSvd()


def embed_tenant_watermark(image: Image.Image | np.ndarray | str | Path, mark: TenantMark) -> Image.Image:
    """Return ``image`` with the tenant's mark (RGB PIL image; PSNR about 41 dB)."""
    bgr = to_bgr(image)
    if not _big_enough(bgr):
        raise ValueError(f"image {bgr.shape[1]}x{bgr.shape[0]} is too small to watermark (needs 256x256 pixels)")
    codec = _keyed_codec(mark, [int(b) for b in mark.payload])
    return bgr_to_pil(codec.encode(bgr))


def decode_tenant_soft(bgr: np.ndarray, mark: TenantMark) -> np.ndarray:
    """Per-bit soft scores in [0, 1] (fraction of the bit's blocks voting 1)."""
    codec = _keyed_codec(mark, None)
    codec.decode(bgr)
    assert codec.soft is not None
    return codec.soft


@dataclass
class TenantMarkResult:
    applicable: bool
    reason: str
    detected: bool = False
    p_value: float | None = None  # Bonferroni-corrected over the scales tried
    bit_accuracy: float | None = None
    matching_bits: int | None = None
    num_bits: int = 0
    best_scale: float | None = None
    per_scale: list[dict[str, Any]] = field(default_factory=list)
    key_id: str = ""

    def to_evidence(self) -> dict[str, Any]:
        return {
            "method": "keyed dwtDctSvd (imwatermark primitive)",
            "key_id": self.key_id,
            "detected": self.detected,
            "p_value": self.p_value,
            "bit_accuracy": self.bit_accuracy,
            "matching_bits": self.matching_bits,
            "num_bits": self.num_bits,
            "best_scale": self.best_scale,
            "per_scale": self.per_scale,
        }


def detect_tenant_watermark(
    image: Image.Image | np.ndarray | str | Path,
    mark: TenantMark,
    rescale_factors: Sequence[float] = (2.0,),
    alpha: float = 1e-6,
) -> TenantMarkResult:
    """Binomial test of the tenant payload at the native size and each rescale factor."""
    bgr = to_bgr(image)
    payload = mark.payload
    n = len(payload)
    per_scale: list[dict[str, Any]] = []
    for factor in (1.0, *rescale_factors):
        arr = bgr if factor == 1.0 else _resize(bgr, factor)
        if not _big_enough(arr):
            continue
        soft = decode_tenant_soft(arr, mark)
        bits = (soft > 0.5).astype(np.uint8)
        k = int((bits == payload).sum())
        per_scale.append({"scale": factor, "matching_bits": k, "bit_accuracy": k / n, "p_value": binomial_sf(k, n)})
    if not per_scale:
        reason = f"image {bgr.shape[1]}x{bgr.shape[0]} is too small"
        return TenantMarkResult(False, reason, key_id=mark.key_id, num_bits=n)
    best = min(per_scale, key=lambda r: r["p_value"])
    p = min(1.0, best["p_value"] * len(per_scale))
    return TenantMarkResult(True, "", p <= alpha, p, best["bit_accuracy"], best["matching_bits"], n,
                            best["scale"], per_scale, mark.key_id)


# ------------------------------------------------------------------- detectors

def _load_image(item: MediaInput) -> Image.Image:
    """The item's image as RGB (arrays handed to the detect functions are RGB, never BGR)."""
    if item.path is None:
        raise ValueError("no image path in the input")
    with Image.open(item.path) as im:
        return im.convert("RGB")


def _imwatermark_missing() -> str | None:
    try:
        import cv2  # noqa: F401
        import imwatermark  # noqa: F401
        import pywt  # noqa: F401
    except Exception as exc:  # noqa: BLE001  # pragma: no cover - depends on the install
        return f"invisible-watermark is not installed ({exc})"
    return None


@register_detector
class InvisibleWatermarkDetector(Detector):
    """Detector ``image-invisible-watermark``: Stable Diffusion's public dwtDct marks.

    No key needed. Score: ``evidence_score(p, alpha)`` (0.5 at the level alpha,
    see the module docstring); SYNTHETIC with the decoded payload when found,
    AUTHENTIC with a low score otherwise (absence proves nothing: the mark is
    lost to JPEG and many front-ends never add it).
    """

    name = "image-invisible-watermark"
    version = "1.0.0"
    media_types = frozenset({MediaType.IMAGE})

    def __init__(self, models_dir: Path | None = None, device: str = "cpu", alpha: float = 1e-6,
                 min_bit_accuracy: float = 0.75) -> None:
        super().__init__(models_dir=models_dir, device=device)
        self.alpha = alpha
        self.min_bit_accuracy = min_bit_accuracy

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        missing = _imwatermark_missing()
        out: list[Finding] = []
        for item in batch:
            if missing:
                out.append(Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE, reason=missing))
                continue
            try:
                result = detect_known_marks(_load_image(item), alpha=self.alpha, min_bit_accuracy=self.min_bit_accuracy)
            except (OSError, ValueError) as exc:
                out.append(Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE,
                                   reason=f"unreadable image: {exc}"))
                continue
            if not result.applicable:
                out.append(Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE, reason=result.reason))
                continue
            assert result.p_value is not None and result.best is not None
            score = evidence_score(result.p_value, self.alpha)
            best = result.best
            if result.detected:
                label = FindingLabel.SYNTHETIC
                reason = (f"invisible watermark {best.name!r} found ({best.matching_bits}/{best.bits} bits, "
                          f"p={result.p_value:.1e}): {best.source}")
            else:
                label = FindingLabel.AUTHENTIC
                score = min(score, 0.49)
                reason = "no known invisible watermark (absence proves nothing: JPEG removes dwtDct marks)"
            out.append(Finding(self.name, self.version, label, score=score, threshold=0.5, positive_only=True, reason=reason,
                               evidence=result.to_evidence()))
        return out

    def provenance_summary(self, finding: Finding) -> dict[str, Any] | None:
        best = finding.evidence.get("best") or {}
        if finding.label is FindingLabel.NOT_APPLICABLE or not best:
            return None
        detected = finding.label is FindingLabel.SYNTHETIC
        return {"kind": "image", "method": "dwtDct", "detected": detected, "p_value": finding.evidence.get("p_value"),
                "mark": best.get("name") if detected else None, "source": best.get("source") if detected else None,
                "payload_hex": best.get("decoded_hex") if detected else None,
                "payload_text": best.get("decoded_text") if detected else None,
                "bit_accuracy": best.get("bit_accuracy") if detected else None}


@register_detector
class TenantImageWatermarkDetector(Detector):
    """Detector ``image-tenant-watermark``: our own per-tenant mark (keyed dwtDctSvd).

    Constructed with the tenant key (``key=``); without one the finding is
    NOT_APPLICABLE. Score: ``evidence_score(p, alpha)`` (0.5 at the level alpha);
    SYNTHETIC when the tenant's payload is found, AUTHENTIC otherwise.
    """

    name = "image-tenant-watermark"
    version = "1.0.0"
    media_types = frozenset({MediaType.IMAGE})

    def __init__(self, models_dir: Path | None = None, device: str = "cpu", key: bytes | str | None = None,
                 num_bits: int = 64, strength: float = 36.0, rescale_factors: Sequence[float] = (2.0,),
                 alpha: float = 1e-6) -> None:
        super().__init__(models_dir=models_dir, device=device)
        self.mark = TenantMark(key=key, num_bits=num_bits, strength=strength) if key else None
        self.rescale_factors = tuple(rescale_factors)
        self.alpha = alpha

    def model_info(self) -> dict[str, Any]:
        info = super().model_info()
        if self.mark:
            info.update(key_id=self.mark.key_id, num_bits=self.mark.num_bits, strength=self.mark.strength)
        return info

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        missing = _imwatermark_missing()
        out: list[Finding] = []
        for item in batch:
            if self.mark is None:
                out.append(Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE,
                                   reason="no image watermark key configured for this tenant"))
                continue
            if missing:
                out.append(Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE, reason=missing))
                continue
            try:
                result = detect_tenant_watermark(_load_image(item), self.mark, self.rescale_factors, self.alpha)
            except (OSError, ValueError) as exc:
                out.append(Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE,
                                   reason=f"unreadable image: {exc}"))
                continue
            if not result.applicable:
                out.append(Finding(self.name, self.version, FindingLabel.NOT_APPLICABLE, reason=result.reason,
                                   evidence=result.to_evidence()))
                continue
            assert result.p_value is not None
            score = evidence_score(result.p_value, self.alpha)
            if result.detected:
                label = FindingLabel.SYNTHETIC
                reason = (f"tenant watermark found: {result.matching_bits}/{result.num_bits} bits "
                          f"(p={result.p_value:.1e}, scale {result.best_scale})")
            else:
                label = FindingLabel.AUTHENTIC
                score = min(score, 0.49)
                reason = f"no watermark for this tenant key (bit accuracy {result.bit_accuracy:.2f}, chance is 0.5)"
            out.append(Finding(self.name, self.version, label, score=score, threshold=0.5, positive_only=True, reason=reason,
                               evidence=result.to_evidence()))
        return out

    def provenance_summary(self, finding: Finding) -> dict[str, Any] | None:
        if finding.label is FindingLabel.NOT_APPLICABLE:
            return None
        return {"kind": "image", "method": "tenant keyed dwtDctSvd", "detected": finding.label is FindingLabel.SYNTHETIC,
                "p_value": finding.evidence.get("p_value"), "key_id": finding.evidence.get("key_id"),
                "bit_accuracy": finding.evidence.get("bit_accuracy")}
