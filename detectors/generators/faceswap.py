"""Classic autoencoder face swap: one shared encoder, one decoder per identity.

Swapping A's face into B's frame: detect and align B's face (MTCNN, CPU),
encode it with the shared encoder (which captures pose, expression and
lighting), decode with A's decoder (which renders A's appearance), transfer
colour statistics to match the frame, and blend the crop back with a feathered
elliptical mask. The seams, colour mismatch and resolution drop this leaves
are exactly the artefacts face-swap detectors are meant to catch.

CelebA gives at most 8 photos per identity, far too few to train an
autoencoder per person, so training has two stages: the encoder and a generic
decoder learn faces in general from a pooled set, then the A and B decoders
start from the generic one and specialise on their few photos (with
augmentation) while the pooled reconstruction keeps the encoder general.

When MTCNN finds no face (or too small a face) the result is an explicit
``no_face`` / ``face_too_small`` status, never an exception.
"""
from __future__ import annotations

import importlib.util
import logging
import math
import os
import random
import sys
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter
from torch import nn
from torch.nn import functional as F

from detectors.generators.common import (
    config_from_dict,
    config_to_dict,
    load_checkpoint,
    resolve_device,
    save_checkpoint,
    save_grid,
    save_pngs,
    seed_everything,
    write_json,
)
from detectors.generators.data import DEFAULT_REAL_DIR, list_images, read_identities, select_subset
from detectors.generators.manifest import write_manifest

log = logging.getLogger(__name__)

FAMILY = "faceswap"
CHECKPOINT_NAME = "faceswap.safetensors"

# Where the five MTCNN landmarks (eyes, nose tip, mouth corners) land in the
# aligned crop, as fractions of the crop side. Close to the ArcFace template,
# raised a little so the crop holds forehead to chin.
LANDMARK_TEMPLATE = np.array(
    [[0.35, 0.40], [0.65, 0.40], [0.50, 0.56], [0.38, 0.71], [0.62, 0.71]], dtype=np.float64
)
TEMPLATE_CENTER = np.array([0.5, 0.55])


@dataclass(frozen=True)
class FaceSwapConfig:
    """Model, alignment, training and blending settings (defaults: minutes on 2 CPU cores)."""

    crop_size: int = 64
    face_zoom: float = 0.85  # <1 shrinks the face inside the crop (more context)
    enc_channels: tuple[int, ...] = (32, 64, 128, 256)
    latent_dim: int = 128
    dec_channels: tuple[int, ...] = (128, 64, 32, 16)  # encoder output, then each decoder stage
    batch_size: int = 16  # per identity (and pooled) batch when fine-tuning; pretraining uses 2x
    pretrain_steps: int = 600
    finetune_steps: int = 600
    lr: float = 5e-4
    pool_count: int | None = 1500  # pooled faces for the shared encoder
    pool_weight: float = 0.5  # pooled reconstruction loss weight during fine-tuning
    identity_a: str | None = None  # CelebA identity labels; None: picked by seed
    identity_b: str | None = None
    min_images_per_identity: int = 8
    min_face_prob: float = 0.90
    min_face_size: int = 24  # pixels (MTCNN box side); smaller faces are reported, not swapped
    augment_rotate_deg: float = 8.0
    augment_scale: float = 0.06
    augment_shift: float = 0.05
    color_transfer: str = "lab"  # "lab", "rgb" or "none"
    mask_feather: float = 0.06  # Gaussian blur radius as a fraction of the crop side
    storage_dtype: str = "float16"  # weights on disk (fp16 keeps the checkpoint < 5 MB)
    seed: int = 0
    log_every: int = 50

    def __post_init__(self) -> None:
        stride = 2 ** len(self.enc_channels)
        if self.crop_size % stride:
            raise ValueError(f"crop_size must be divisible by {stride}")
        if len(self.dec_channels) != len(self.enc_channels):
            raise ValueError("dec_channels needs as many entries as enc_channels")
        if self.color_transfer not in ("lab", "rgb", "none"):
            raise ValueError("color_transfer must be 'lab', 'rgb' or 'none'")
        if self.storage_dtype not in ("float16", "float32"):
            raise ValueError("storage_dtype must be 'float16' or 'float32'")


# ----------------------------------------------------------------------------- models


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.1, True))


class Encoder(nn.Module):
    """Crop in [0,1] -> feature map at 1/(2**(L-1)) resolution, through a dense bottleneck.

    The narrow dense layer is what forces identity-independent features (pose,
    expression, lighting) that either decoder can render.
    """

    def __init__(self, cfg: FaceSwapConfig) -> None:
        super().__init__()
        chans = (3,) + tuple(cfg.enc_channels)
        self.convs = nn.Sequential(*[_conv(chans[i], chans[i + 1], 2) for i in range(len(chans) - 1)])
        self.side = cfg.crop_size // 2 ** len(cfg.enc_channels)
        self.top = cfg.enc_channels[-1]
        flat = self.top * self.side * self.side
        self.to_latent = nn.Linear(flat, cfg.latent_dim)
        self.from_latent = nn.Linear(cfg.latent_dim, flat)
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), _conv(self.top, cfg.dec_channels[0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.convs(x * 2 - 1).flatten(1)
        h = self.from_latent(self.to_latent(h)).view(-1, self.top, self.side, self.side)
        return self.up(h)


class Decoder(nn.Module):
    """Shared features -> one identity's face crop in [0, 1].

    Each stage doubles the resolution; the last (full-resolution) stage has a
    single narrow convolution because it dominates the compute on a CPU.
    """

    def __init__(self, cfg: FaceSwapConfig) -> None:
        super().__init__()
        chans = tuple(cfg.dec_channels)
        layers: list[nn.Module] = []
        for i in range(len(chans) - 1):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), _conv(chans[i], chans[i + 1])]
            if i < len(chans) - 2:
                layers.append(_conv(chans[i + 1], chans[i + 1]))
        layers += [nn.Conv2d(chans[-1], 3, 3, 1, 1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class FaceSwapModel(nn.Module):
    """Shared encoder, decoders for identities A and B, and the generic pooled decoder."""

    def __init__(self, cfg: FaceSwapConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder_pool = Decoder(cfg)
        self.decoder_a = Decoder(cfg)
        self.decoder_b = Decoder(cfg)
        self.meta: dict[str, Any] = {}

    def decoder(self, identity: str) -> Decoder:
        return {"a": self.decoder_a, "b": self.decoder_b, "pool": self.decoder_pool}[identity]

    def forward(self, x: torch.Tensor, identity: str = "a") -> torch.Tensor:
        return self.decoder(identity)(self.encoder(x))


# ----------------------------------------------------------------------------- detection and alignment


def _import_mtcnn() -> type:
    """facenet_pytorch.MTCNN, even when ``requests`` is missing.

    facenet-pytorch is installed --no-deps; its package ``__init__`` imports
    InceptionResnetV1, which needs ``requests`` only to download weights. MTCNN
    itself needs nothing from the network (its weights ship in the wheel), so if
    that import fails we load the MTCNN submodule without running ``__init__``.
    """
    try:
        from facenet_pytorch import MTCNN

        return MTCNN
    except ModuleNotFoundError as exc:
        if exc.name != "requests":
            raise
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("facenet_pytorch is not installed")
    stub = types.ModuleType("facenet_pytorch")
    stub.__path__ = list(spec.submodule_search_locations)
    stub.__spec__ = spec
    sys.modules["facenet_pytorch"] = stub
    try:
        from facenet_pytorch.models.mtcnn import MTCNN
    finally:
        if sys.modules.get("facenet_pytorch") is stub:
            del sys.modules["facenet_pytorch"]
    return MTCNN


@dataclass(frozen=True)
class FaceDetection:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels
    prob: float
    landmarks: np.ndarray  # (5, 2) frame pixels: eyes, nose, mouth corners

    @property
    def size(self) -> float:
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation+scale+translation mapping ``src`` points onto ``dst``
    (Umeyama 1991, no reflection). Returns a 2x3 matrix."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s_c, d_c = src - mu_s, dst - mu_d
    cov = d_c.T @ s_c / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    var_s = (s_c**2).sum() / len(src)
    scale = (sig * d).sum() / var_s
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def _invert_affine(m: np.ndarray) -> np.ndarray:
    full = np.vstack([m, [0, 0, 1]])
    return np.linalg.inv(full)[:2]


def _warp(image: Image.Image, matrix_out_to_in: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """PIL affine warp; ``matrix_out_to_in`` maps output pixel coords to input coords."""
    data = tuple(float(v) for v in matrix_out_to_in.reshape(-1))
    return image.transform(size, Image.Transform.AFFINE, data=data, resample=Image.Resampling.BILINEAR)


def to_rgb_array(image: str | os.PathLike[str] | Image.Image | np.ndarray) -> np.ndarray:
    """Any of path / PIL image / HxW(x3|4) array -> HxWx3 uint8 RGB array."""
    if isinstance(image, (str, os.PathLike)):
        with Image.open(image) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, -1)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an HxWx3 image, got shape {arr.shape}")
    return np.ascontiguousarray(arr[..., :3])


class FaceAligner:
    """MTCNN detection (on CPU by default) + 5-point similarity alignment to a fixed crop."""

    def __init__(self, crop_size: int = 64, face_zoom: float = 0.85, min_prob: float = 0.9,
                 device: str = "cpu") -> None:
        mtcnn_cls = _import_mtcnn()
        self.mtcnn = mtcnn_cls(keep_all=True, device=device, post_process=False)
        self.crop_size = crop_size
        self.min_prob = min_prob
        template = (LANDMARK_TEMPLATE - TEMPLATE_CENTER) * face_zoom + TEMPLATE_CENTER
        self.template = template * crop_size

    def detect(self, images: Sequence[np.ndarray]) -> list[FaceDetection | None]:
        """Largest confident face per image, or None. Same-size images are batched."""
        results: list[FaceDetection | None] = [None] * len(images)
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, im in enumerate(images):
            groups.setdefault(tuple(im.shape), []).append(i)
        for shape, idxs in groups.items():
            if min(shape[0], shape[1]) < 12:
                continue  # MTCNN's smallest window; nothing to find
            for start in range(0, len(idxs), 64):
                chunk = idxs[start : start + 64]
                with torch.no_grad():
                    boxes, probs, lms = self.mtcnn.detect([Image.fromarray(images[i]) for i in chunk], landmarks=True)
                for j, i in enumerate(chunk):
                    if boxes[j] is None:
                        continue
                    best = None
                    for b, p, lm in zip(boxes[j], probs[j], lms[j]):
                        if p is None or p < self.min_prob:
                            continue
                        area = (b[2] - b[0]) * (b[3] - b[1])
                        if best is None or area > best[0]:
                            best = (area, b, p, lm)
                    if best is not None:
                        _, b, p, lm = best
                        results[i] = FaceDetection(tuple(float(v) for v in b), float(p), np.asarray(lm, np.float64))
        return results

    def align(self, image: np.ndarray, det: FaceDetection) -> tuple[np.ndarray, np.ndarray]:
        """Aligned crop (S,S,3 uint8) and the 2x3 matrix mapping frame -> crop pixels."""
        m = similarity_transform(det.landmarks, self.template)
        crop = _warp(Image.fromarray(image), _invert_affine(m), (self.crop_size, self.crop_size))
        return np.asarray(crop, dtype=np.uint8), m

    def aligned_crops(self, images: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
        """Crops of the images that have a face, and their indices."""
        crops, kept = [], []
        for i, det in enumerate(self.detect(images)):
            if det is not None:
                crops.append(self.align(images[i], det)[0])
                kept.append(i)
        return crops, kept


# ----------------------------------------------------------------------------- colour and blending


_RGB2XYZ = np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
_WHITE = np.array([0.950456, 1.0, 1.088754])


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in [0,1] (...,3) -> CIE L*a*b* (D65)."""
    lin = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = lin @ _RGB2XYZ.T / _WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) -> sRGB in [0,1], clipped."""
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], -1)
    xyz = np.where(f > 0.206893, f**3, (f - 16 / 116) / 7.787) * _WHITE
    lin = xyz @ np.linalg.inv(_RGB2XYZ).T
    lin = np.clip(lin, 0, None)
    rgb = np.where(lin > 0.0031308, 1.055 * lin ** (1 / 2.4) - 0.055, 12.92 * lin)
    return np.clip(rgb, 0, 1)


def color_transfer(source: np.ndarray, target: np.ndarray, mask: np.ndarray, space: str = "lab") -> np.ndarray:
    """Match the per-channel mean/std of ``source`` to ``target`` inside ``mask``
    (Reinhard et al. 2001). Arrays are HxWx3 uint8; mask HxW in [0,1]."""
    if space == "none":
        return source
    src = source.astype(np.float64) / 255.0
    tgt = target.astype(np.float64) / 255.0
    if space == "lab":
        src, tgt = rgb_to_lab(src), rgb_to_lab(tgt)
    w = mask[..., None].astype(np.float64)
    total = w.sum()
    if total < 1.0:
        return source
    mu_s = (src * w).sum((0, 1)) / total
    mu_t = (tgt * w).sum((0, 1)) / total
    sd_s = np.sqrt(((src - mu_s) ** 2 * w).sum((0, 1)) / total) + 1e-6
    sd_t = np.sqrt(((tgt - mu_t) ** 2 * w).sum((0, 1)) / total) + 1e-6
    out = (src - mu_s) * (sd_t / sd_s) + mu_t
    out = lab_to_rgb(out) if space == "lab" else np.clip(out, 0, 1)
    return (out * 255.0 + 0.5).astype(np.uint8)


def face_mask(crop_size: int, feather: float = 0.08, face_zoom: float = 0.85) -> np.ndarray:
    """Soft elliptical mask over the aligned face (crop coords, values in [0,1]).

    Feathering hides the seam; the ellipse is shrunk by the blur radius so the
    soft edge stays inside the crop and never shows the crop's square border.
    """
    s = crop_size
    blur = max(0.5, feather * s)
    cx, cy = 0.5 * s, (TEMPLATE_CENTER[1] + 0.02) * s
    rx = 0.30 * s * face_zoom / 0.85
    ry = 0.40 * s * face_zoom / 0.85
    # keep the blur's tail (about 3 sigma) inside the crop on every side
    rx = min(rx, 0.5 * s - 3 * blur)
    ry = min(ry, cy - 3 * blur, s - cy - 3 * blur)
    im = Image.new("L", (s, s), 0)
    ImageDraw.Draw(im).ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
    im = im.filter(ImageFilter.GaussianBlur(blur))
    mask = np.asarray(im, dtype=np.float64) / 255.0
    mask[[0, -1], :] = 0.0
    mask[:, [0, -1]] = 0.0
    return mask


# ----------------------------------------------------------------------------- swapping


@dataclass
class SwapResult:
    """Outcome for one image/frame. ``status``: ok, no_face or face_too_small.

    ``image`` is the full frame with the swapped face (uint8 HxWx3), None when
    not ok; callers of :func:`swap_frames` keep the original frame then.
    """

    status: str
    reason: str = ""
    image: np.ndarray | None = None
    face_crop: np.ndarray | None = None  # swapped, colour-corrected crop
    box: tuple[float, float, float, float] | None = None
    landmarks: np.ndarray | None = None
    face_prob: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class FaceSwapper:
    """A loaded model plus its aligner; reuse one for many frames (MTCNN setup is not free)."""

    def __init__(self, model: FaceSwapModel, device: str = "cpu", aligner: FaceAligner | None = None) -> None:
        cfg = model.cfg
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.aligner = aligner or FaceAligner(cfg.crop_size, cfg.face_zoom, cfg.min_face_prob, device="cpu")
        self.mask = face_mask(cfg.crop_size, cfg.mask_feather, cfg.face_zoom)

    @torch.no_grad()
    def render(self, crops: np.ndarray, identity: str) -> np.ndarray:
        """(N,S,S,3) uint8 aligned crops -> the same faces rendered as ``identity``."""
        x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float().div(255).to(self.device)
        y = self.model(x, identity).clamp(0, 1)
        return (y.permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)

    def swap(self, frames: Sequence[np.ndarray], target_identity: str = "a") -> list[SwapResult]:
        cfg = self.model.cfg
        dets = self.aligner.detect(frames)
        results: list[SwapResult | None] = [None] * len(frames)
        todo: list[tuple[int, np.ndarray, np.ndarray]] = []
        for i, (frame, det) in enumerate(zip(frames, dets)):
            if det is None:
                results[i] = SwapResult("no_face", "MTCNN found no face with probability >= "
                                        f"{cfg.min_face_prob}")
            elif det.size < cfg.min_face_size:
                results[i] = SwapResult("face_too_small", f"face is {det.size:.0f}px, below {cfg.min_face_size}px",
                                        box=det.box, landmarks=det.landmarks, face_prob=det.prob)
            else:
                crop, m = self.aligner.align(frame, det)
                todo.append((i, crop, m))
        if todo:
            rendered = self.render(np.stack([c for _, c, _ in todo]), target_identity)
            for (i, crop, m), fake in zip(todo, rendered):
                det = dets[i]
                assert det is not None
                fake = color_transfer(fake, crop, self.mask, cfg.color_transfer)
                frame = frames[i]
                h, w = frame.shape[:2]
                back = np.asarray(_warp(Image.fromarray(fake), m, (w, h)), dtype=np.float64)
                mask_img = Image.fromarray((self.mask * 255 + 0.5).astype(np.uint8))
                alpha = np.asarray(_warp(mask_img, m, (w, h)), dtype=np.float64)[..., None] / 255.0
                out = (alpha * back + (1 - alpha) * frame.astype(np.float64) + 0.5).astype(np.uint8)
                results[i] = SwapResult(
                    "ok", image=out, face_crop=fake, box=det.box, landmarks=det.landmarks, face_prob=det.prob,
                    evidence={"target_identity": target_identity, "mask_area_px": float(alpha.sum())},
                )
        return [r for r in results if r is not None]


def swap_image(
    model: FaceSwapModel | FaceSwapper | str | os.PathLike[str],
    image: str | os.PathLike[str] | Image.Image | np.ndarray,
    target_identity: str = "a",
    device: str = "cpu",
) -> SwapResult:
    """Render ``target_identity``'s face into the face found in ``image``.

    ``model`` is a checkpoint path, a loaded model or a reusable swapper. An
    image without a detectable face gives ``SwapResult(status="no_face")``.
    """
    swapper = _swapper(model, device)
    try:
        frame = to_rgb_array(image)
    except (OSError, ValueError) as exc:
        return SwapResult("no_face", f"unreadable image: {exc}")
    return swapper.swap([frame], target_identity)[0]


def swap_frames(
    model: FaceSwapModel | FaceSwapper | str | os.PathLike[str],
    frames: Sequence[np.ndarray],
    target_identity: str = "a",
    device: str = "cpu",
) -> list[SwapResult]:
    """Swap every frame of a video (list of HxWx3 uint8 arrays) independently.

    One result per frame, in order; frames without a face come back with
    ``status="no_face"`` so the caller keeps the original frame there. No
    temporal smoothing of landmarks is done, so a swap can jitter between
    frames (itself a cue some detectors use).
    """
    swapper = _swapper(model, device)
    arrays = [to_rgb_array(f) for f in frames]
    out: list[SwapResult] = []
    for start in range(0, len(arrays), 32):
        out.extend(swapper.swap(arrays[start : start + 32], target_identity))
    return out


def _swapper(model: FaceSwapModel | FaceSwapper | str | os.PathLike[str], device: str) -> FaceSwapper:
    if isinstance(model, FaceSwapper):
        return model
    if isinstance(model, FaceSwapModel):
        return FaceSwapper(model)
    return FaceSwapper(load_faceswap(model, device))


# ----------------------------------------------------------------------------- training


def _augment(x: torch.Tensor, cfg: FaceSwapConfig, gen: torch.Generator) -> torch.Tensor:
    """Random small rotation/scale/shift and horizontal flip; the few photos per
    identity would be memorised pixel for pixel without it."""
    n = x.shape[0]
    ang = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(cfg.augment_rotate_deg)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * cfg.augment_scale
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * cfg.augment_shift * 2
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = torch.cos(ang) / scale * flip
    theta[:, 0, 1] = -torch.sin(ang) / scale
    theta[:, 1, 0] = torch.sin(ang) / scale * flip
    theta[:, 1, 1] = torch.cos(ang) / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _to_tensor(crops: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()  # uint8


def _pick_identities(real_dir: Path, cfg: FaceSwapConfig) -> tuple[str, list[Path], str, list[Path]]:
    groups = read_identities(real_dir)
    if not groups:
        raise ValueError(f"no identity.txt beside {real_dir}; pass a_dir and b_dir instead")
    eligible = sorted(
        (k for k, v in groups.items() if len(v) >= cfg.min_images_per_identity), key=lambda s: (len(s), s)
    )
    if cfg.identity_a and cfg.identity_b:
        a, b = cfg.identity_a, cfg.identity_b
    else:
        if len(eligible) < 2:
            raise ValueError(f"fewer than two identities with >= {cfg.min_images_per_identity} images in {real_dir}")
        a, b = random.Random(cfg.seed).sample(eligible, 2)
    for ident in (a, b):
        if ident not in groups:
            raise ValueError(f"identity {ident!r} has no images in {real_dir}")
    return a, [real_dir / n for n in groups[a]], b, [real_dir / n for n in groups[b]]


def train_faceswap(
    config: FaceSwapConfig | None = None,
    real_dir: str | os.PathLike[str] = DEFAULT_REAL_DIR,
    out_dir: str | os.PathLike[str] = "var/generators/faceswap",
    device: str = "cpu",
    a_dir: str | os.PathLike[str] | None = None,
    b_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Train the shared encoder and the A/B decoders; return the checkpoint path.

    Identities come from ``a_dir``/``b_dir`` (any folders of one person's
    photos) or, by default, two CelebA identities from ``identity.txt`` picked
    by seed. ``real_dir`` also supplies the pooled faces for the shared encoder.
    Faces are MTCNN-aligned exactly as at swap time. Writes ``train_log.json``
    and ``train_grid.png`` (rows: A, A->B, B, B->A on aligned crops).
    """
    cfg = config or FaceSwapConfig()
    dev = resolve_device(device)
    gen = seed_everything(cfg.seed)
    real_dir = Path(real_dir)
    started = time.time()
    if a_dir is not None and b_dir is not None:
        ident_a, ident_b = Path(a_dir).name, Path(b_dir).name
        a_files, b_files = list_images(a_dir), list_images(b_dir)
    else:
        ident_a, a_files, ident_b, b_files = _pick_identities(real_dir, cfg)
    excluded = {p.resolve() for p in a_files + b_files}
    pool_all = select_subset(list_images(real_dir), cfg.pool_count, cfg.seed)
    pool_files = [p for p in pool_all if p.resolve() not in excluded]

    aligner = FaceAligner(cfg.crop_size, cfg.face_zoom, cfg.min_face_prob, device="cpu")

    def crops_of(files: Sequence[Path]) -> tuple[torch.Tensor, list[Path]]:
        crops, kept = aligner.aligned_crops([to_rgb_array(p) for p in files])
        if not crops:
            raise ValueError(f"MTCNN found no faces in {len(files)} images")
        return _to_tensor(crops), [files[i] for i in kept]

    xa, a_kept = crops_of(a_files)
    xb, b_kept = crops_of(b_files)
    xp, _pool_kept = crops_of(pool_files)
    align_s = time.time() - started
    log.info("aligned %d pool, %d A (%s), %d B (%s) faces in %.1fs",
             len(xp), len(xa), ident_a, len(xb), ident_b, align_s)

    torch.manual_seed(cfg.seed)
    model = FaceSwapModel(cfg).to(dev).train()

    def batch(src: torch.Tensor, size: int = cfg.batch_size) -> torch.Tensor:
        idx = torch.randint(len(src), (size,), generator=gen)
        return _augment(src[idx].float().div(255).to(dev), cfg, gen)

    history: list[dict[str, Any]] = []
    # stage 1: encoder + generic decoder on pooled faces
    stage1 = list(model.encoder.parameters()) + list(model.decoder_pool.parameters())
    opt = torch.optim.Adam(stage1, lr=cfg.lr, betas=(0.5, 0.999))
    running = 0.0
    for step in range(1, cfg.pretrain_steps + 1):
        x = batch(xp, 2 * cfg.batch_size)
        loss = F.l1_loss(model(x, "pool"), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running += loss.item()
        if step % cfg.log_every == 0:
            history.append({"stage": "pretrain", "step": step, "loss_pool": running / cfg.log_every,
                            "elapsed_s": time.time() - started})
            log.info("pretrain %d/%d l1 %.4f", step, cfg.pretrain_steps, running / cfg.log_every)
            running = 0.0
    # stage 2: A/B decoders start from the generic one and specialise
    model.decoder_a.load_state_dict(model.decoder_pool.state_dict())
    model.decoder_b.load_state_dict(model.decoder_pool.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    ra = rb = rp = 0.0
    for step in range(1, cfg.finetune_steps + 1):
        a, b = batch(xa), batch(xb)
        la = F.l1_loss(model(a, "a"), a)
        lb = F.l1_loss(model(b, "b"), b)
        loss = la + lb
        if cfg.pool_weight > 0:
            p = batch(xp)
            lp = F.l1_loss(model(p, "pool"), p)
            loss = loss + cfg.pool_weight * lp
            rp += lp.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ra += la.item()
        rb += lb.item()
        if step % cfg.log_every == 0:
            k = cfg.log_every
            history.append({"stage": "finetune", "step": step, "loss_a": ra / k, "loss_b": rb / k,
                            "loss_pool": rp / k, "elapsed_s": time.time() - started})
            log.info("finetune %d/%d l1 a %.4f b %.4f pool %.4f", step, cfg.finetune_steps, ra / k, rb / k, rp / k)
            ra = rb = rp = 0.0

    out = Path(out_dir)
    extra = {
        "real_dir": str(real_dir),
        "real_items": len(xp) + len(xa) + len(xb),
        "identity_a": ident_a,
        "identity_b": ident_b,
        "a_files": [p.name for p in a_kept],
        "b_files": [p.name for p in b_kept],
        "a_dir": str(a_dir) if a_dir else str(real_dir),
        "b_dir": str(b_dir) if b_dir else str(real_dir),
        "pool_items": len(xp),
        "pool_requested": len(pool_files),
        "device": str(dev),
    }
    dtype = torch.float16 if cfg.storage_dtype == "float16" else torch.float32
    tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    ckpt = out / CHECKPOINT_NAME
    save_checkpoint(ckpt, tensors, FAMILY, cfg, extra)

    model.eval()
    with torch.no_grad():
        ca = xa[:8].float().div(255).to(dev)
        cb = xb[:8].float().div(255).to(dev)
        rows = [ca, model(ca, "b"), cb, model(cb, "a")]
    tiles = [(r.clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8) for r in rows]
    n = min(len(t) for t in tiles)
    save_grid([im for t in tiles for im in t[:n]], out / "train_grid.png", nrow=n)
    write_json(out / "train_log.json", {"family": FAMILY, "config": config_to_dict(cfg), "history": history,
                                        "align_seconds": align_s, "seconds": time.time() - started, **extra})
    return ckpt


def load_faceswap(checkpoint: str | os.PathLike[str], device: str = "cpu") -> FaceSwapModel:
    """The model in eval mode (float32); ``model.meta`` holds the checkpoint info."""
    tensors, info = load_checkpoint(checkpoint, expected_family=FAMILY)
    cfg = config_from_dict(FaceSwapConfig, info["config"])
    model = FaceSwapModel(cfg)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    model.meta = info
    return model.to(resolve_device(device)).eval()


def sample_faceswap(
    checkpoint: str | os.PathLike[str],
    n: int,
    seed: int,
    out_dir: str | os.PathLike[str],
    device: str = "cpu",
    targets_dir: str | os.PathLike[str] | None = None,
    target_identity: str = "a",
) -> list[Path]:
    """Swap ``target_identity``'s face into ``n`` frames from ``targets_dir``; PNG + manifest.

    Targets default to the training real folder, minus the photos of the
    identity being rendered; they are visited in a seeded order and frames
    without a usable face are skipped (listed in the manifest), so fewer than
    ``n`` files come back only when the folder runs out. Outputs keep the
    target frame's size, which keeps them comparable with the reals; still
    re-encode reals and fakes alike before detector training (FIELD_NOTES).
    """
    if target_identity not in ("a", "b"):
        raise ValueError("target_identity must be 'a' or 'b'")
    seed_everything(seed)
    model = load_faceswap(checkpoint, device)
    info = model.meta
    extra = info["extra"]
    tdir = Path(targets_dir) if targets_dir is not None else Path(extra["real_dir"])
    own = set(extra.get(f"{target_identity}_files", [])) if targets_dir is None else set()
    candidates = [p for p in list_images(tdir) if p.name not in own]
    random.Random(seed).shuffle(candidates)
    swapper = FaceSwapper(model)
    paths: list[Path] = []
    sources: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    images: list[np.ndarray] = []
    pos = 0
    while len(paths) < n and pos < len(candidates):
        chunk = candidates[pos : pos + max(8, min(64, 2 * (n - len(paths))))]
        pos += len(chunk)
        frames = [to_rgb_array(p) for p in chunk]
        for path, res in zip(chunk, swapper.swap(frames, target_identity)):
            if not res.ok:
                skipped.append({"file": path.name, "status": res.status, "reason": res.reason})
                continue
            if len(paths) >= n:
                break
            saved = save_pngs([res.image], out_dir, prefix=f"faceswap_{target_identity}_s{seed}", start=len(paths))[0]
            paths.append(saved)
            images.append(res.face_crop)
            sources.append({"file": saved.name, "target_frame": path.name, "face_prob": res.face_prob})
    if images:
        save_grid(images[:64], Path(out_dir) / "grid.png")
    ident = extra.get(f"identity_{target_identity}")
    write_manifest(
        out_dir,
        family=FAMILY,
        config=info["config"],
        seed=seed,
        checkpoint=checkpoint,
        checkpoint_sha256=info["sha256"],
        outputs=paths,
        source_dir=extra.get("real_dir"),
        source_items=extra.get("real_items"),
        extra={"target_identity": target_identity, "rendered_identity_label": ident,
               "targets_dir": str(tdir), "sources": sources, "skipped": skipped, "device": str(device)},
    )
    return paths
