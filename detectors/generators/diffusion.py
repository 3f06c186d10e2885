"""DDPM-class diffusion model for face crops: a small U-Net denoiser with a
sinusoidal time embedding, linear or cosine noise schedule, and DDPM
(ancestral, 1 network call per training timestep) and DDIM (deterministic
for eta=0, few steps) samplers.

Diffusion fakes have different fingerprints from GAN fakes (no transposed-
convolution checkerboards, smoother spectra), which is why detectors need
both in training and in leave-one-generator-out evaluation. Sizes are config
fields, so the defaults that train in minutes on a CPU scale to 64/128 px on
a GPU without code changes.
"""
from __future__ import annotations

import copy
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

FAMILY = "diffusion"
CHECKPOINT_NAME = "diffusion.safetensors"


@dataclass(frozen=True)
class DiffusionConfig:
    """Model, schedule and training settings. Defaults: minutes on 2 CPU cores."""

    image_size: int = 32
    base_channels: int = 16
    channel_mults: tuple[int, ...] = (1, 2, 4)
    num_res_blocks: int = 1
    attention_resolutions: tuple[int, ...] = (8,)
    dropout: float = 0.0
    timesteps: int = 1000
    schedule: str = "cosine"  # "linear" or "cosine"
    batch_size: int = 32
    steps: int = 1800
    lr: float = 8e-4
    warmup_steps: int = 100
    ema_decay: float = 0.995  # short runs need a short EMA horizon
    grad_clip: float = 1.0
    count: int | None = 6000
    crop_fraction: float = 0.8
    seed: int = 0
    log_every: int = 50

    def __post_init__(self) -> None:
        if self.schedule not in ("linear", "cosine"):
            raise ValueError(f"schedule must be 'linear' or 'cosine', got {self.schedule!r}")
        levels = len(self.channel_mults)
        if self.image_size % (2 ** (levels - 1)):
            raise ValueError(f"image_size {self.image_size} not divisible by 2**{levels - 1}")


# ----------------------------------------------------------------------------- schedule


def make_betas(schedule: str, timesteps: int) -> torch.Tensor:
    """Noise schedule beta_t in float64 (precision matters for alpha-bar products)."""
    if schedule == "linear":
        scale = 1000.0 / timesteps  # keeps the DDPM paper's end points for any T
        return torch.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype=torch.float64)
    # cosine schedule (Nichol & Dhariwal 2021): smoother, wastes fewer steps at 32 px
    s = 0.008
    x = torch.linspace(0, timesteps, timesteps + 1, dtype=torch.float64)
    ab = torch.cos(((x / timesteps) + s) / (1 + s) * math.pi / 2) ** 2
    ab = ab / ab[0]
    return (1 - ab[1:] / ab[:-1]).clamp(max=0.999)


class NoiseSchedule:
    """Precomputed schedule terms, kept in float32 on the model's device."""

    def __init__(self, schedule: str, timesteps: int, device: torch.device | str = "cpu") -> None:
        betas = make_betas(schedule, timesteps)
        alphas = 1.0 - betas
        ab = torch.cumprod(alphas, 0)
        ab_prev = torch.cat([torch.ones(1, dtype=torch.float64), ab[:-1]])
        post_var = betas * (1 - ab_prev) / (1 - ab)
        f = lambda t: t.to(device=device, dtype=torch.float32)
        self.timesteps = timesteps
        self.betas = f(betas)
        self.alphas_cumprod = f(ab)
        self.alphas_cumprod_prev = f(ab_prev)
        self.sqrt_ab = f(ab.sqrt())
        self.sqrt_1m_ab = f((1 - ab).sqrt())
        self.post_var = f(post_var)
        self.post_log_var = f(torch.log(post_var.clamp(min=1e-20)))
        self.post_c0 = f(betas * ab_prev.sqrt() / (1 - ab))
        self.post_ct = f((1 - ab_prev) * alphas.sqrt() / (1 - ab))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps."""
        return self.sqrt_ab[t].view(-1, 1, 1, 1) * x0 + self.sqrt_1m_ab[t].view(-1, 1, 1, 1) * noise


# ----------------------------------------------------------------------------- U-Net


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer-style sinusoidal embedding of integer timesteps."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


def _norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, ch), ch)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, tdim: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(tdim, cout)
        self.norm2, self.conv2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.conv2.weight)  # start as identity: stabler early training
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.drop(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.norm = _norm(ch)
        self.qkv = nn.Conv2d(ch, ch * 3, 1)
        self.proj = nn.Conv2d(ch, ch, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, c, h * w).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return x + self.proj(out.transpose(1, 2).reshape(n, c, h, w))


class UNet(nn.Module):
    """Predicts the noise eps in x_t given (x_t, t)."""

    def __init__(self, cfg: DiffusionConfig) -> None:
        super().__init__()
        base = cfg.base_channels
        tdim = base * 4
        self.base = base
        self.time_mlp = nn.Sequential(nn.Linear(base, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
        self.conv_in = nn.Conv2d(3, base, 3, padding=1)
        self.down = nn.ModuleList()
        skips = [base]
        ch, res = base, cfg.image_size
        for level, mult in enumerate(cfg.channel_mults):
            for _ in range(cfg.num_res_blocks):
                block = nn.ModuleList([ResBlock(ch, base * mult, tdim, cfg.dropout)])
                ch = base * mult
                if res in cfg.attention_resolutions:
                    block.append(SelfAttention(ch))
                self.down.append(block)
                skips.append(ch)
            if level != len(cfg.channel_mults) - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(ch, ch, 3, stride=2, padding=1)]))
                skips.append(ch)
                res //= 2
        self.mid1 = ResBlock(ch, ch, tdim, cfg.dropout)
        self.mid_attn = SelfAttention(ch)
        self.mid2 = ResBlock(ch, ch, tdim, cfg.dropout)
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(cfg.channel_mults))):
            for _ in range(cfg.num_res_blocks + 1):
                block = nn.ModuleList([ResBlock(ch + skips.pop(), base * mult, tdim, cfg.dropout)])
                ch = base * mult
                if res in cfg.attention_resolutions:
                    block.append(SelfAttention(ch))
                self.up.append(block)
            if level != 0:
                upsample = [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ch, ch, 3, padding=1)]
                self.up.append(nn.ModuleList(upsample))
                res *= 2
        self.norm_out = _norm(ch)
        self.conv_out = nn.Conv2d(ch, 3, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time_mlp(timestep_embedding(t, self.base))
        h = self.conv_in(x)
        hs = [h]
        for block in self.down:
            if isinstance(block[0], ResBlock):
                h = block[0](h, temb)
                for extra in block[1:]:
                    h = extra(h)
            else:
                h = block[0](h)
            hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, temb)), temb)
        for block in self.up:
            if isinstance(block[0], ResBlock):
                h = block[0](torch.cat([h, hs.pop()], 1), temb)
                for extra in block[1:]:
                    h = extra(h)
            else:
                h = block[1](block[0](h))
        return self.conv_out(F.silu(self.norm_out(h)))


# ----------------------------------------------------------------------------- training


def diffusion_loss(
    model: UNet, sched: NoiseSchedule, x0: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Simple epsilon-prediction MSE at a uniformly drawn timestep (Ho et al. 2020)."""
    n = x0.shape[0]
    t = torch.randint(sched.timesteps, (n,), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    return F.mse_loss(model(sched.q_sample(x0, t, noise), t), noise)


@torch.no_grad()
def _ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm, 1.0 - decay)


def train_diffusion(
    config: DiffusionConfig | None = None,
    real_dir: str | os.PathLike[str] = DEFAULT_REAL_DIR,
    out_dir: str | os.PathLike[str] = "var/generators/diffusion",
    device: str = "cpu",
) -> Path:
    """Train the denoiser on real faces; return the checkpoint path.

    The checkpoint holds the EMA weights (what sampling uses; EMA matters a lot
    for sample quality after short runs). Also writes ``train_log.json`` and
    ``train_grid.png`` (DDIM-50 samples from a fixed seed).
    """
    cfg = config or DiffusionConfig()
    dev = resolve_device(device)
    gen = seed_everything(cfg.seed)
    faces = load_faces(real_dir, cfg.image_size, cfg.count, cfg.seed, cfg.crop_fraction)
    torch.manual_seed(cfg.seed)
    model = UNet(cfg).to(dev).train()
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    sched = NoiseSchedule(cfg.schedule, cfg.timesteps, dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    lr_at = lambda s: cfg.lr * min(1.0, s / max(1, cfg.warmup_steps))
    history: list[dict[str, float]] = []
    start = time.time()
    running = 0.0
    for step in range(1, cfg.steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        idx = torch.randint(len(faces), (cfg.batch_size,), generator=gen)
        x0 = random_flip(faces.batch(idx, dev), gen)
        loss = diffusion_loss(model, sched, x0, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        # warm the EMA up: early on, average over the steps seen so far
        _ema_update(ema, model, min(cfg.ema_decay, (1 + step) / (10 + step)))
        running += loss.item()
        if step % cfg.log_every == 0 or step == cfg.steps:
            k = cfg.log_every if step % cfg.log_every == 0 else step % cfg.log_every
            history.append({"step": step, "loss": running / k, "elapsed_s": time.time() - start})
            log.info("step %d/%d loss %.4f", step, cfg.steps, history[-1]["loss"])
            running = 0.0
    out = Path(out_dir)
    extra = {"real_dir": str(real_dir), "real_items": len(faces), "steps_done": cfg.steps, "device": str(dev),
             "weights": "ema"}
    ckpt = out / CHECKPOINT_NAME
    save_checkpoint(ckpt, prefixed(ema.state_dict(), "unet"), FAMILY, cfg, extra)
    grid = generate_diffusion(ema, cfg, 64, seed=cfg.seed, sampler="ddim", sample_steps=50)
    save_grid(to_uint8_images(grid), out / "train_grid.png")
    write_json(out / "train_log.json", {"family": FAMILY, "config": config_to_dict(cfg), "history": history,
                                        "seconds": time.time() - start, **extra})
    return ckpt


# ----------------------------------------------------------------------------- sampling


def load_diffusion(
    checkpoint: str | os.PathLike[str], device: str = "cpu"
) -> tuple[UNet, DiffusionConfig, dict[str, Any]]:
    """U-Net (EMA weights) in eval mode, its config and the checkpoint info."""
    tensors, info = load_checkpoint(checkpoint, expected_family=FAMILY)
    cfg = config_from_dict(DiffusionConfig, info["config"])
    model = UNet(cfg)
    model.load_state_dict(unprefixed(tensors, "unet"))
    return model.to(resolve_device(device)).eval(), cfg, info


def _clip_x0(x0: torch.Tensor, dynamic_threshold: float | None) -> torch.Tensor:
    """Keep the predicted clean image in range.

    Static clipping to [-1, 1] saturates colours when the model is
    undertrained (x0 = (x - sqrt(1-ab) eps) / sqrt(ab) blows up at high t).
    Dynamic thresholding (Saharia et al. 2022) rescales each sample by its
    ``dynamic_threshold`` quantile of |x0| instead, which looks far more natural
    for the short CPU-trained defaults.
    """
    if not dynamic_threshold:
        return x0.clamp(-1, 1)
    q = torch.quantile(x0.abs().flatten(1).float(), dynamic_threshold, dim=1).clamp(min=1.0)
    q = q.view(-1, *([1] * (x0.dim() - 1)))
    return x0.clamp(-q, q) / q


@torch.no_grad()
def generate_diffusion(
    model: UNet,
    cfg: DiffusionConfig,
    n: int,
    seed: int,
    sampler: str = "ddim",
    sample_steps: int = 50,
    eta: float = 0.0,
    batch_size: int = 64,
    dynamic_threshold: float | None = 0.995,
) -> torch.Tensor:
    """``n`` images in [-1, 1] on CPU.

    ``ddpm``: ancestral sampling over all ``cfg.timesteps`` steps (slow, the
    reference). ``ddim``: ``sample_steps`` strided steps; ``eta=0`` makes it a
    deterministic map from the initial noise. ``dynamic_threshold`` None gives
    classic static clipping of x0 (see :func:`_clip_x0`). All noise comes from a CPU
    generator seeded with ``seed``, so outputs do not depend on the device's RNG.
    """
    if sampler not in ("ddpm", "ddim"):
        raise ValueError(f"sampler must be 'ddpm' or 'ddim', got {sampler!r}")
    device = next(model.parameters()).device
    sched = NoiseSchedule(cfg.schedule, cfg.timesteps, device)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        shape = (m, 3, cfg.image_size, cfg.image_size)
        x = torch.randn(shape, generator=gen).to(device)
        if sampler == "ddpm":
            for i in reversed(range(cfg.timesteps)):
                t = torch.full((m,), i, device=device, dtype=torch.long)
                eps = model(x, t)
                x0 = _clip_x0((x - sched.sqrt_1m_ab[i] * eps) / sched.sqrt_ab[i], dynamic_threshold)
                mean = sched.post_c0[i] * x0 + sched.post_ct[i] * x
                if i > 0:
                    x = mean + torch.exp(0.5 * sched.post_log_var[i]) * torch.randn(shape, generator=gen).to(device)
                else:
                    x = mean
        else:
            steps = max(1, min(sample_steps, cfg.timesteps))
            seq = torch.linspace(cfg.timesteps - 1, 0, steps).round().long().tolist()
            for j, i in enumerate(seq):
                t = torch.full((m,), i, device=device, dtype=torch.long)
                ab = sched.alphas_cumprod[i]
                ab_prev = sched.alphas_cumprod[seq[j + 1]] if j + 1 < len(seq) else torch.tensor(1.0, device=device)
                eps = model(x, t)
                x0 = _clip_x0((x - (1 - ab).sqrt() * eps) / ab.sqrt(), dynamic_threshold)
                eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()  # consistent with the clipped x0
                sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).clamp(min=0).sqrt()
                x = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma**2).clamp(min=0).sqrt() * eps
                if eta > 0 and j + 1 < len(seq):
                    x = x + sigma * torch.randn(shape, generator=gen).to(device)
        out.append(x.clamp(-1, 1).cpu())
    return torch.cat(out) if out else torch.empty(0, 3, cfg.image_size, cfg.image_size)


def sample_diffusion(
    checkpoint: str | os.PathLike[str],
    n: int,
    seed: int,
    out_dir: str | os.PathLike[str],
    device: str = "cpu",
    sampler: str = "ddim",
    sample_steps: int = 50,
    eta: float = 0.0,
    grid: bool = True,
    dynamic_threshold: float | None = 0.995,
) -> list[Path]:
    """Write ``n`` fakes as PNG plus ``manifest.json`` into ``out_dir``; return the PNG paths.

    The sampler and its settings go into the manifest, because DDPM and DDIM
    outputs of one model differ enough to matter for attribution. PNG is
    lossless; re-encode reals and fakes alike before detector training.
    """
    seed_everything(seed)
    model, cfg, info = load_diffusion(checkpoint, device)
    images = to_uint8_images(generate_diffusion(model, cfg, n, seed, sampler, sample_steps, eta,
                                                  dynamic_threshold=dynamic_threshold))
    paths = save_pngs(images, out_dir, prefix=f"diffusion_{sampler}_s{seed}")
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
        extra={"sampler": sampler, "sample_steps": sample_steps if sampler == "ddim" else cfg.timesteps,
               "eta": eta, "dynamic_threshold": dynamic_threshold, "image_size": cfg.image_size, "device": str(device)},
    )
    return paths
