"""DCGAN-class generator and discriminator for face crops.

The point is not state-of-the-art fakes but a controllable source of GAN
artefacts (transposed-convolution checkerboards, spectral peaks) for training
and stress-testing detectors. Resolution is a config field (any power of two
>= 16), so the same code trains 32x32 on a laptop CPU and 128x128 on a GPU.
"""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from detectors.generators.common import (
    config_from_dict,
    config_to_dict,
    load_checkpoint,
    prefixed,
    resolve_device,
    save_checkpoint,
    save_grid,
    save_pngs,
    seed_everything,
    to_uint8_images,
    unprefixed,
    write_json,
)
from detectors.generators.data import DEFAULT_REAL_DIR, load_faces, random_flip
from detectors.generators.manifest import write_manifest

log = logging.getLogger(__name__)

FAMILY = "gan"
CHECKPOINT_NAME = "gan.safetensors"


@dataclass(frozen=True)
class GANConfig:
    """Everything that defines a GAN run. Defaults train in a few minutes on 2 CPU cores."""

    image_size: int = 32
    latent_dim: int = 100
    g_channels: int = 64  # width of the generator's last hidden layer; doubles per level
    d_channels: int = 64
    batch_size: int = 64
    steps: int = 1200
    lr: float = 2e-4
    beta1: float = 0.5
    real_label: float = 0.9  # one-sided label smoothing: keeps D from winning too early
    count: int | None = 6000  # real images used (deterministic subset by seed)
    crop_fraction: float = 0.8
    seed: int = 0
    log_every: int = 50

    def __post_init__(self) -> None:
        n = int(self.image_size)
        if n < 16 or n & (n - 1):
            raise ValueError(f"image_size must be a power of two >= 16, got {n}")


def _levels(image_size: int) -> int:
    return int(math.log2(image_size)) - 2  # number of x2 stages from 4x4


class Generator(nn.Module):
    """z (N, latent) -> image (N, 3, S, S) in [-1, 1] through transposed convolutions."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        n_up = _levels(cfg.image_size)
        ch = cfg.g_channels * 2 ** (n_up - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(cfg.latent_dim, ch, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
        ]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.latent_dim = cfg.latent_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    """image -> real/fake logit (N,), strided convolutions mirroring the generator."""

    def __init__(self, cfg: GANConfig) -> None:
        super().__init__()
        n_down = _levels(cfg.image_size)
        ch = cfg.d_channels
        layers: list[nn.Module] = [nn.Conv2d(3, ch, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for _ in range(n_down - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        layers += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def _init_weights(module: nn.Module) -> None:
    """DCGAN's N(0, 0.02) init; measurably faster to converge than PyTorch defaults."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build_gan(cfg: GANConfig, seed: int | None = None) -> tuple[Generator, Discriminator]:
    """Fresh, initialised G and D (seeded, so two builds with one seed are identical)."""
    if seed is not None:
        torch.manual_seed(seed)
    g, d = Generator(cfg), Discriminator(cfg)
    g.apply(_init_weights)
    d.apply(_init_weights)
    return g, d


def gan_step(
    g: Generator,
    d: Discriminator,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: torch.Tensor,
    cfg: GANConfig,
    generator: torch.Generator,
) -> tuple[float, float]:
    """One non-saturating GAN update of D then G. Returns (loss_d, loss_g)."""
    device = real.device
    n = real.shape[0]
    z = torch.randn(n, cfg.latent_dim, generator=generator).to(device)
    fake = g(z)
    ones = torch.full((n,), cfg.real_label, device=device)
    zeros = torch.zeros(n, device=device)
    opt_d.zero_grad(set_to_none=True)
    loss_d = F.binary_cross_entropy_with_logits(d(real), ones) + F.binary_cross_entropy_with_logits(
        d(fake.detach()), zeros
    )
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    loss_g = F.binary_cross_entropy_with_logits(d(fake), torch.ones(n, device=device))
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.item()


def train_gan(
    config: GANConfig | None = None,
    real_dir: str | os.PathLike[str] = DEFAULT_REAL_DIR,
    out_dir: str | os.PathLike[str] = "var/generators/gan",
    device: str = "cpu",
) -> Path:
    """Train a DCGAN on real faces from ``real_dir``; return the generator checkpoint path.

    Writes into ``out_dir``: ``gan.safetensors`` (generator only, what sampling
    needs, small enough to ship), ``gan_discriminator.safetensors`` (to inspect or
    resume), ``train_log.json`` (losses, timings, the exact training files count)
    and ``train_grid.png`` (64 samples from fixed noise, for a human look).
    Same seed + same device type -> same weights.
    """
    cfg = config or GANConfig()
    dev = resolve_device(device)
    gen = seed_everything(cfg.seed)
    faces = load_faces(real_dir, cfg.image_size, cfg.count, cfg.seed, cfg.crop_fraction)
    g, d = build_gan(cfg, seed=cfg.seed)
    g.to(dev).train()
    d.to(dev).train()
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    history: list[dict[str, float]] = []
    start = time.time()
    run_d = run_g = 0.0
    for step in range(1, cfg.steps + 1):
        idx = torch.randint(len(faces), (cfg.batch_size,), generator=gen)
        real = random_flip(faces.batch(idx, dev), gen)
        ld, lg = gan_step(g, d, opt_g, opt_d, real, cfg, gen)
        run_d += ld
        run_g += lg
        if step % cfg.log_every == 0 or step == cfg.steps:
            k = cfg.log_every if step % cfg.log_every == 0 else step % cfg.log_every
            history.append({"step": step, "loss_d": run_d / k, "loss_g": run_g / k, "elapsed_s": time.time() - start})
            log.info("step %d/%d loss_d %.4f loss_g %.4f", step, cfg.steps, run_d / k, run_g / k)
            run_d = run_g = 0.0
    out = Path(out_dir)
    extra = {"real_dir": str(real_dir), "real_items": len(faces), "steps_done": cfg.steps, "device": str(dev)}
    ckpt = out / CHECKPOINT_NAME
    save_checkpoint(ckpt, prefixed(g.state_dict(), "generator"), FAMILY, cfg, extra)
    d_state = prefixed(d.state_dict(), "discriminator")
    save_checkpoint(out / "gan_discriminator.safetensors", d_state, FAMILY + "-d", cfg, extra)
    g.eval()
    with torch.no_grad():
        z = torch.randn(64, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed)).to(dev)
        save_grid(to_uint8_images(g(z)), out / "train_grid.png")
    write_json(out / "train_log.json", {"family": FAMILY, "config": config_to_dict(cfg), "history": history,
                                        "seconds": time.time() - start, **extra})
    return ckpt


def load_gan(checkpoint: str | os.PathLike[str], device: str = "cpu") -> tuple[Generator, GANConfig, dict[str, Any]]:
    """Generator in eval mode, its config, and the checkpoint info (sha256, extra)."""
    tensors, info = load_checkpoint(checkpoint, expected_family=FAMILY)
    cfg = config_from_dict(GANConfig, info["config"])
    g = Generator(cfg)
    g.load_state_dict(unprefixed(tensors, "generator"))
    return g.to(resolve_device(device)).eval(), cfg, info


@torch.no_grad()
def generate_gan(g: Generator, n: int, seed: int, batch_size: int = 64) -> torch.Tensor:
    """``n`` images in [-1, 1] on CPU. Noise is drawn on the CPU from ``seed`` so the
    same seed gives the same latents on any device."""
    device = next(g.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, g.latent_dim, generator=gen)
    chunks = [g(z[i : i + batch_size].to(device)).cpu() for i in range(0, n, batch_size)]
    return torch.cat(chunks) if chunks else torch.empty(0, 3, 1, 1)


def sample_gan(
    checkpoint: str | os.PathLike[str],
    n: int,
    seed: int,
    out_dir: str | os.PathLike[str],
    device: str = "cpu",
    grid: bool = True,
) -> list[Path]:
    """Write ``n`` fakes as PNG plus ``manifest.json`` into ``out_dir``; return the PNG paths.

    PNG is lossless; detector training must give reals and fakes the same
    formats and compression (FIELD_NOTES), so re-encode both sides alike.
    """
    seed_everything(seed)
    g, cfg, info = load_gan(checkpoint, device)
    images = to_uint8_images(generate_gan(g, n, seed))
    paths = save_pngs(images, out_dir, prefix=f"gan_s{seed}")
    if grid and len(images):
        save_grid(images[:64], Path(out_dir) / "grid.png")
    write_manifest(
        out_dir,
        family=FAMILY,
        config=info["config"],
        seed=seed,
        checkpoint=checkpoint,
        checkpoint_sha256=info["sha256"],
        outputs=paths,
        source_dir=info["extra"].get("real_dir"),
        source_items=info["extra"].get("real_items"),
        extra={"image_size": cfg.image_size, "device": str(device)},
    )
    return paths
