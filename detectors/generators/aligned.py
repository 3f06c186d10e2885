"""Aligned fakes: reconstructions of real photos at their native resolution.

A detector trained on "real photo vs. sample from a generator" learns content
(faces vs. whatever, 32 px vs. 500 px, JPEG vs. PNG) as easily as generation
traces. Aligned fakes remove that shortcut: each fake is a real photo passed
through one of our generators, at the photo's own resolution, so real and fake
share content, size and framing and differ only in what the generator leaves
behind (DESIGN.md, "Detection: what the data path must preserve").

Families:

``decoder``
    Four tiny convolutional autoencoders that differ only in their upsampling
    operator (transposed conv, nearest, bilinear, pixel shuffle). Each leaves
    its own high-frequency fingerprint. Trained briefly once and cached as
    safetensors under ``detectors/weights/generators/decoders/<op>.safetensors``.
``denoiser``
    Two tiny full-resolution convolutional denoisers (no resampling anywhere):
    ``residual`` predicts the noise and subtracts it (DnCNN-style), ``direct``
    paints the clean image through a final convolution and tanh, as a
    generator's last layer does. A real photo, optionally with a little extra
    noise, comes out with its camera noise replaced by a network's output:
    the trace every generator leaves whether or not it upsamples, which the
    decoder family alone does not teach (a detector trained on it learns
    upsampling fingerprints and nothing about missing sensor noise).
``diffusion``
    Partial noising of the real image to ``t = strength * T`` followed by
    deterministic DDIM (eta 0) back to 0 with our diffusion U-Net (SDEdit-style).
``faceswap``
    Our face-swap autoencoder renders identity a or b into the face found in
    the real photo; photos without a usable face are skipped and counted.

Images are never resized: each is centre-cropped to a multiple of 8 and, when
a side exceeds ``max_side``, centre-cropped further to at most ``max_side``.
Every PNG's source real is recorded in ``manifest.json`` (``extra.sources``),
so a trainer can keep a fake in the same split as its real.
"""
from __future__ import annotations

import json
import logging
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

log = logging.getLogger(__name__)

FAMILIES = ("decoder", "denoiser", "diffusion", "faceswap")
DECODER_OPS = ("transposed", "nearest", "bilinear", "pixelshuffle")
DENOISER_KINDS = ("residual", "direct")
RECONSTRUCTOR_OPS = DECODER_OPS + DENOISER_KINDS  # what load_or_train_decoder can build; the index seeds it
DENOISER_TRAIN_NOISE = (2.0, 15.0)  # Gaussian noise std range (0-255 scale) the denoisers learn to remove
DENOISER_INPUT_NOISE = (0.0, 4.0, 8.0)  # extra noise added to a real before denoising it, round-robin


@dataclass(frozen=True)
class DenoiserStrength:
    """How hard a denoiser works: the noise it learns to remove and the noise added to a real before it runs.

    ``light`` replaces camera noise and little else. ``heavy`` paints back a
    photo from noise it cannot see through, as a diffusion model's last steps
    do (the denoising view of image generation), with a network that is not
    a diffusion model: no time step, no U-Net, no resampling.
    """

    train_noise: tuple[float, float]
    input_noise: tuple[float, ...]
    weights_dir: Path


_WEIGHTS_ROOT = Path(__file__).resolve().parents[1] / "weights" / "generators"
DENOISER_STRENGTHS = {
    "light": DenoiserStrength(DENOISER_TRAIN_NOISE, DENOISER_INPUT_NOISE, _WEIGHTS_ROOT / "denoisers"),
    "heavy": DenoiserStrength((5.0, 50.0), (12.0, 25.0, 40.0), _WEIGHTS_ROOT / "denoisers-heavy"),
}
DIFFUSION_STRENGTHS = (0.1, 0.2, 0.35)

DEFAULT_DECODER_WEIGHTS_DIR = _WEIGHTS_ROOT / "decoders"
DEFAULT_DENOISER_WEIGHTS_DIR = DENOISER_STRENGTHS["light"].weights_dir
DEFAULT_DIFFUSION_CHECKPOINT = _WEIGHTS_ROOT / "diffusion" / "diffusion.safetensors"
DEFAULT_FACESWAP_CHECKPOINT = _WEIGHTS_ROOT / "faceswap" / "faceswap.safetensors"

DECODER_TRAIN_STEPS = 300
DECODER_BATCH = 16
DECODER_CROP = 64
DECODER_LR = 2e-3
DIFFUSION_DDIM_STEPS = 10
DIFFUSION_DYNAMIC_THRESHOLD = 0.995  # the sampler's default (diffusion.generate_diffusion)


# ----------------------------------------------------------------------------- image helpers


def load_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """HxWx3 uint8 RGB array of an image file."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def crop_native(image: np.ndarray, max_side: int | None = 256, multiple: int = 8) -> np.ndarray:
    """Centre crop (never a resize) to sides that are multiples of ``multiple`` and at most ``max_side``.

    Raises ValueError when the image is smaller than ``multiple`` on a side.
    """
    h, w = image.shape[:2]
    nh, nw = h - h % multiple, w - w % multiple
    if max_side:
        cap = max_side - max_side % multiple
        nh, nw = min(nh, cap), min(nw, cap)
    if nh < multiple or nw < multiple:
        raise ValueError(f"image {w}x{h} is too small to crop to a multiple of {multiple}")
    top, left = (h - nh) // 2, (w - nw) // 2
    return np.ascontiguousarray(image[top : top + nh, left : left + nw])


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> (1,3,H,W) float in [-1, 1]."""
    return torch.from_numpy(image).permute(2, 0, 1).float().div(127.5).sub(1.0).unsqueeze(0)


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    """(1,3,H,W) float in [-1, 1] -> HxWx3 uint8."""
    x = x.detach().to("cpu", torch.float32).clamp(-1, 1)[0]
    return ((x.permute(1, 2, 0).numpy() + 1.0) * 127.5 + 0.5).astype(np.uint8)


def _save_png(image: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, format="PNG")
    return path


# ----------------------------------------------------------------------------- decoder family


class TinyAutoencoder(nn.Module):
    """conv3x3 s1 -> conv s2 -> conv s2 (/4), then two upsampling stages with operator ``op``."""

    def __init__(self, op: str, channels: tuple[int, int, int] = (32, 48, 64)) -> None:
        super().__init__()
        if op not in DECODER_OPS:
            raise ValueError(f"op must be one of {DECODER_OPS}, got {op!r}")
        c1, c2, c3 = channels
        self.op = op
        act = lambda: nn.LeakyReLU(0.2)
        self.encoder = nn.Sequential(
            nn.Conv2d(3, c1, 3, 1, 1), act(),
            nn.Conv2d(c1, c2, 4, 2, 1), act(),
            nn.Conv2d(c2, c3, 4, 2, 1), act(),
        )
        self.decoder = nn.Sequential(self._up(c3, c2), act(), self._up(c2, c1), act(),
                                     nn.Conv2d(c1, 3, 3, 1, 1), nn.Tanh())

    def _up(self, cin: int, cout: int) -> nn.Module:
        if self.op == "transposed":
            return nn.ConvTranspose2d(cin, cout, 4, 2, 1)
        if self.op == "nearest":
            return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1))
        if self.op == "bilinear":
            return nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                 nn.Conv2d(cin, cout, 3, 1, 1))
        return nn.Sequential(nn.Conv2d(cin, cout * 4, 3, 1, 1), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class TinyDenoiser(nn.Module):
    """Five 3x3 convolutions at full resolution; ``kind`` residual (x minus predicted noise) or direct (tanh)."""

    def __init__(self, kind: str, channels: int = 32) -> None:
        super().__init__()
        if kind not in DENOISER_KINDS:
            raise ValueError(f"kind must be one of {DENOISER_KINDS}, got {kind!r}")
        self.op = kind
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, 1, 1), nn.ReLU()]
        for _ in range(3):
            layers += [nn.Conv2d(channels, channels, 3, 1, 1), nn.ReLU()]
        layers.append(nn.Conv2d(channels, 3, 3, 1, 1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.op == "residual":
            return x - self.body(x)
        return torch.tanh(self.body(x))


def build_reconstructor(op: str) -> nn.Module:
    """The untrained network for ``op``: an upsampling autoencoder (DECODER_OPS) or a denoiser (DENOISER_KINDS)."""
    if op in DENOISER_KINDS:
        return TinyDenoiser(op)
    return TinyAutoencoder(op)


def _random_crops(images: Sequence[np.ndarray], n: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    out = []
    for _ in range(n):
        im = images[int(rng.integers(len(images)))]
        h, w = im.shape[:2]
        top = int(rng.integers(h - size + 1))
        left = int(rng.integers(w - size + 1))
        out.append(im[top : top + size, left : left + size])
    x = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def train_decoder(
    op: str,
    real_files: Sequence[Path],
    steps: int = DECODER_TRAIN_STEPS,
    seed: int = 0,
    batch_size: int = DECODER_BATCH,
    crop: int = DECODER_CROP,
    lr: float = DECODER_LR,
    device: str = "cpu",
    train_noise: tuple[float, float] = DENOISER_TRAIN_NOISE,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train one reconstructor on random ``crop`` x ``crop`` crops (L1, Adam); return it and its log.

    A denoiser sees its crop with Gaussian noise (std drawn from
    ``train_noise``) and learns to give back the crop.
    """
    started = time.time()
    images = []
    for p in real_files:
        try:
            im = load_rgb(p)
        except OSError:
            continue
        if min(im.shape[:2]) >= crop:
            images.append(im)
    if not images:
        raise ValueError(f"no readable real image of at least {crop}x{crop} to train the {op} network on")
    if op not in RECONSTRUCTOR_OPS:
        raise ValueError(f"op must be one of {RECONSTRUCTOR_OPS}, got {op!r}")
    torch.manual_seed(seed + RECONSTRUCTOR_OPS.index(op))
    rng = np.random.default_rng(seed + 1000 * (1 + RECONSTRUCTOR_OPS.index(op)))
    model = build_reconstructor(op).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    recent: list[float] = []
    for step in range(steps):
        x = _random_crops(images, batch_size, crop, rng).to(device)
        x_in = x
        if op in DENOISER_KINDS:
            std = torch.from_numpy(rng.uniform(*train_noise, size=(len(x), 1, 1, 1))).float() / 127.5
            x_in = x + std.to(device) * torch.randn_like(x)
        loss = F.l1_loss(model(x_in), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        recent = (recent + [loss.item()])[-20:]
    info = {
        "op": op,
        "steps": steps,
        "batch_size": batch_size,
        "crop": crop,
        "lr": lr,
        "seed": seed,
        **({"train_noise": list(train_noise)} if op in DENOISER_KINDS else {}),
        "final_loss": float(np.mean(recent)) if recent else None,
        "seconds": round(time.time() - started, 2),
        "real_files": len(images),
        "real_dir": str(Path(real_files[0]).parent) if real_files else None,
        "command": " ".join(shlex.quote(a) for a in sys.argv),
        "torch_threads": torch.get_num_threads(),
    }
    return model.eval(), info


def load_or_train_decoder(
    op: str,
    real_files: Sequence[Path],
    weights_dir: str | os.PathLike[str] = DEFAULT_DECODER_WEIGHTS_DIR,
    steps: int = DECODER_TRAIN_STEPS,
    seed: int = 0,
    device: str = "cpu",
    batch_size: int = DECODER_BATCH,
    crop: int = DECODER_CROP,
    train_noise: tuple[float, float] = DENOISER_TRAIN_NOISE,
) -> tuple[nn.Module, dict[str, Any], Path]:
    """Cached decoder or denoiser ``weights_dir/<op>.safetensors`` (+ ``<op>.json``), trained first if absent."""
    from safetensors.torch import load_file, save_file

    wdir = Path(weights_dir)
    path = wdir / f"{op}.safetensors"
    sidecar = path.with_suffix(".json")
    if path.is_file():
        model = build_reconstructor(op)
        model.load_state_dict(load_file(str(path)))
        info = json.loads(sidecar.read_text()) if sidecar.is_file() else {"op": op}
        return model.to(device).eval(), info, path
    model, info = train_decoder(op, real_files, steps=steps, seed=seed, batch_size=batch_size, crop=crop,
                                device=device, train_noise=train_noise)
    wdir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    family = "aligned-denoiser" if op in DENOISER_KINDS else "aligned-decoder"
    save_file(state, str(path), metadata={"family": family, "op": op})
    sidecar.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    log.info("trained %s network in %.1fs (loss %.4f) -> %s", op, info["seconds"], info["final_loss"], path)
    return model, info, path


# ----------------------------------------------------------------------------- diffusion family


@torch.no_grad()
def diffusion_partial(
    model: nn.Module,
    cfg: Any,
    x0: torch.Tensor,
    strength: float,
    generator: torch.Generator,
    steps: int = DIFFUSION_DDIM_STEPS,
    dynamic_threshold: float | None = DIFFUSION_DYNAMIC_THRESHOLD,
) -> torch.Tensor:
    """Noise ``x0`` (N,3,H,W in [-1,1], H and W multiples of 4) to ``t = strength*T`` and
    DDIM-denoise (eta 0) back to 0 in ``steps`` strided steps. Returns the result in [-1,1]."""
    from detectors.generators.diffusion import NoiseSchedule, _clip_x0

    device = next(model.parameters()).device
    sched = NoiseSchedule(cfg.schedule, cfg.timesteps, device)
    t_start = round(strength * cfg.timesteps) - 1
    t_start = max(0, min(cfg.timesteps - 1, t_start))
    noise = torch.randn(x0.shape, generator=generator).to(device)
    x0 = x0.to(device)
    x = sched.sqrt_ab[t_start] * x0 + sched.sqrt_1m_ab[t_start] * noise
    n_steps = max(1, min(steps, t_start + 1))
    seq = torch.linspace(t_start, 0, n_steps).round().long().tolist()
    seq = list(dict.fromkeys(seq))  # strictly decreasing, no repeats
    m = x.shape[0]
    for j, i in enumerate(seq):
        t = torch.full((m,), i, device=device, dtype=torch.long)
        ab = sched.alphas_cumprod[i]
        ab_prev = sched.alphas_cumprod[seq[j + 1]] if j + 1 < len(seq) else torch.tensor(1.0, device=device)
        eps = model(x, t)
        pred = _clip_x0((x - (1 - ab).sqrt() * eps) / ab.sqrt(), dynamic_threshold)
        eps = (x - ab.sqrt() * pred) / (1 - ab).sqrt()
        x = ab_prev.sqrt() * pred + (1 - ab_prev).clamp(min=0).sqrt() * eps
    return x.clamp(-1, 1)


# ----------------------------------------------------------------------------- entry point


def make_aligned(
    family: str,
    real_files: Sequence[Path],
    out_dir: Path,
    seed: int = 0,
    device: str = "cpu",
    max_side: int = 256,
    *,
    weights_dir: str | os.PathLike[str] | None = None,
    train_steps: int = DECODER_TRAIN_STEPS,
    checkpoint: str | os.PathLike[str] | None = None,
    ddim_steps: int = DIFFUSION_DDIM_STEPS,
    max_outputs: int | None = None,
    real_dir: str | os.PathLike[str] | None = None,
    denoiser_strength: str = "light",
) -> list[Path]:
    """Write one lossless PNG per usable real file into ``out_dir`` plus ``manifest.json``.

    ``weights_dir`` (decoder: where the cached autoencoders live, default
    ``detectors/weights/generators/decoders``), ``train_steps`` (decoder: steps
    when a decoder has to be trained), ``checkpoint`` (diffusion/faceswap:
    model file, default the shipped one), ``ddim_steps`` (diffusion) and
    ``max_outputs`` (stop after that many PNGs; faceswap skips faceless files so
    callers may pass spare candidates) and ``denoiser_strength`` (a key of
    DENOISER_STRENGTHS) are optional. Returns the PNG paths.
    """
    from detectors.generators.manifest import write_manifest

    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = [Path(p) for p in real_files]
    started = time.time()
    paths: list[Path] = []
    sources: dict[str, str] = {}
    settings: dict[str, dict[str, Any]] = {}
    skipped: list[dict[str, str]] = []
    config: dict[str, Any] = {"max_side": max_side, "crop_multiple": 8, "resize": "never (centre crops only)"}
    extra: dict[str, Any] = {}
    ckpt_path: Path | None = None
    ckpt_sha: str | None = None
    limit = max_outputs if max_outputs is not None else len(files)

    def emit(src: Path, image: np.ndarray, tag: str, setting: dict[str, Any]) -> None:
        name = f"{family}_{tag}_s{seed}_{len(paths):05d}.png"
        paths.append(_save_png(image, out / name))
        sources[name] = str(src)
        settings[name] = {**setting, "height": int(image.shape[0]), "width": int(image.shape[1])}

    if family in ("decoder", "denoiser"):
        ops = DECODER_OPS if family == "decoder" else DENOISER_KINDS
        strength = DENOISER_STRENGTHS[denoiser_strength]
        default_dir = DEFAULT_DECODER_WEIGHTS_DIR if family == "decoder" else strength.weights_dir
        wdir = Path(weights_dir) if weights_dir is not None else default_dir
        models: dict[str, nn.Module] = {}
        networks: dict[str, Any] = {}
        from detectors.generators.common import sha256_file

        for op in ops:
            model, info, wpath = load_or_train_decoder(op, files, wdir, steps=train_steps, seed=seed, device=device,
                                                       train_noise=strength.train_noise)
            models[op] = model
            networks[op] = {"weights": str(wpath), "sha256": sha256_file(wpath), "train": info}
        config.update({"ops": list(ops), "assignment": "round-robin by index over usable files"})
        if family == "denoiser":
            config.update({"strength": denoiser_strength, "input_noise": list(strength.input_noise),
                           "train_noise": list(strength.train_noise),
                           "noise": "per file: std round-robin over input_noise; torch.Generator seeded with "
                                    "seed*1000003 + index"})
        extra["decoders" if family == "decoder" else "denoisers"] = networks
        k = 0
        for src in files:
            if len(paths) >= limit:
                break
            try:
                im = crop_native(load_rgb(src), max_side)
            except (OSError, ValueError) as exc:
                skipped.append({"file": str(src), "reason": str(exc)})
                continue
            op = ops[k % len(ops)]
            x = _to_tensor(im)
            setting: dict[str, Any] = {"op": op}
            if family == "denoiser":
                std = strength.input_noise[(k // len(ops)) % len(strength.input_noise)]
                gen = torch.Generator().manual_seed(seed * 1000003 + k)
                x = x + torch.randn(x.shape, generator=gen) * (std / 127.5)
                setting["input_noise"] = std
            k += 1
            with torch.no_grad():
                y = models[op](x.to(device))
            emit(src, _to_uint8(y), op, setting)

    elif family == "diffusion":
        from detectors.generators.diffusion import load_diffusion

        ckpt_path = Path(checkpoint) if checkpoint is not None else DEFAULT_DIFFUSION_CHECKPOINT
        model, cfg, info = load_diffusion(ckpt_path, device)
        ckpt_sha = info["sha256"]
        mult = 2 ** (len(cfg.channel_mults) - 1)
        config.update({"strengths": list(DIFFUSION_STRENGTHS), "ddim_steps": ddim_steps, "eta": 0.0,
                       "dynamic_threshold": DIFFUSION_DYNAMIC_THRESHOLD, "timesteps": cfg.timesteps,
                       "schedule": cfg.schedule, "model_image_size": cfg.image_size,
                       "assignment": "strength round-robin by index over usable files",
                       "noise": "per file: torch.Generator seeded with seed*1000003 + index"})
        k = 0
        for src in files:
            if len(paths) >= limit:
                break
            try:
                im = crop_native(load_rgb(src), max_side, multiple=max(8, mult))
            except (OSError, ValueError) as exc:
                skipped.append({"file": str(src), "reason": str(exc)})
                continue
            strength = DIFFUSION_STRENGTHS[k % len(DIFFUSION_STRENGTHS)]
            gen = torch.Generator().manual_seed(seed * 1000003 + k)
            k += 1
            y = diffusion_partial(model, cfg, _to_tensor(im), strength, gen, steps=ddim_steps)
            emit(src, _to_uint8(y), f"t{round(strength * 100):02d}", {"strength": strength})

    else:  # faceswap
        from detectors.generators.faceswap import FaceSwapper, load_faceswap

        ckpt_path = Path(checkpoint) if checkpoint is not None else DEFAULT_FACESWAP_CHECKPOINT
        fs_model = load_faceswap(ckpt_path, device)
        ckpt_sha = fs_model.meta["sha256"]
        swapper = FaceSwapper(fs_model)
        fs_extra = fs_model.meta["extra"]
        train_files = set(fs_extra.get("a_files", [])) | set(fs_extra.get("b_files", []))
        config.update({"assignment": "target identity alternates a/b over swapped files",
                       "min_face_prob": fs_model.cfg.min_face_prob, "min_face_size": fs_model.cfg.min_face_size,
                       "color_transfer": fs_model.cfg.color_transfer})
        extra["identities"] = {"a": fs_extra.get("identity_a"), "b": fs_extra.get("identity_b")}
        for src in files:
            if len(paths) >= limit:
                break
            try:
                im = crop_native(load_rgb(src), max_side)
            except (OSError, ValueError) as exc:
                skipped.append({"file": str(src), "status": "unreadable", "reason": str(exc)})
                continue
            ident = "ab"[len(paths) % 2]
            res = swapper.swap([im], ident)[0]
            if not res.ok:
                skipped.append({"file": str(src), "status": res.status, "reason": res.reason})
                continue
            emit(src, res.image, ident, {"target_identity": ident, "face_prob": res.face_prob,
                                         "source_in_faceswap_training": src.name in train_files})
        extra["faceless_skipped"] = sum(1 for s in skipped if s.get("status") in ("no_face", "face_too_small"))

    extra.update({
        "sources": sources,
        "settings": settings,
        "skipped": skipped,
        "skipped_count": len(skipped),
        "candidates": len(files),
        "examined": len(paths) + len(skipped),
        "seconds": round(time.time() - started, 1),
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "aligned": True,
    })
    src_dir = real_dir if real_dir is not None else (str(files[0].parent) if files else None)
    write_manifest(out, family=f"aligned-{family}", config=config, seed=seed, checkpoint=ckpt_path,
                   checkpoint_sha256=ckpt_sha, outputs=paths, source_dir=src_dir, source_items=len(files),
                   extra=extra)
    return paths
