"""A two-branch synthetic-image classifier: a timm backbone on pixels, and a
small MLP on the image's radially averaged log power spectrum.

The spectral branch is there because upsampling layers in GANs and diffusion
decoders leave periodic traces that show up as peaks and a raised tail in the
spectrum, even when the pixels look clean; it also keeps the detector useful
when no face is present.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import timm
import torch
from torch import nn


@dataclass(frozen=True)
class DualBranchConfig:
    backbone: str = "convnext_atto"
    image_size: int = 64
    spectral_bins: int = 32
    hidden: int = 64

    def to_dict(self) -> dict:
        return asdict(self)


def radial_spectrum(images: torch.Tensor, bins: int) -> torch.Tensor:
    """Radially averaged log power spectrum of the grey image, ``bins`` values per image.

    ``images``: (N, 3, H, W), normalised. Differentiable, so Grad-CAM and
    training see through it.
    """
    grey = images.mean(dim=1)
    grey = grey - grey.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fftshift(torch.fft.fft2(grey, norm="ortho"), dim=(-2, -1)).abs().pow(2)
    log_power = torch.log1p(power)
    h, w = grey.shape[-2:]
    yy, xx = torch.meshgrid(
        torch.arange(h, device=images.device) - h // 2, torch.arange(w, device=images.device) - w // 2, indexing="ij"
    )
    radius = torch.sqrt(yy.float() ** 2 + xx.float() ** 2)
    index = torch.clamp((radius / radius.max() * (bins - 1)).round().long(), 0, bins - 1).flatten()
    flat = log_power.flatten(1)
    sums = torch.zeros(flat.shape[0], bins, device=images.device).index_add_(1, index, flat)
    counts = torch.bincount(index, minlength=bins).clamp(min=1).to(flat.dtype)
    return sums / counts


class DualBranchClassifier(nn.Module):
    """Outputs one logit per image (positive = synthetic)."""

    def __init__(self, config: DualBranchConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = timm.create_model(config.backbone, pretrained=False, num_classes=0)
        self.spectral = nn.Sequential(
            nn.LayerNorm(config.spectral_bins),
            nn.Linear(config.spectral_bins, config.hidden),
            nn.GELU(),
            nn.Linear(config.hidden, config.hidden),
            nn.GELU(),
        )
        self.backbone.eval()
        with torch.no_grad():  # feature width differs by architecture; measure it
            width = self.backbone(torch.zeros(1, 3, config.image_size, config.image_size)).shape[1]
        self.backbone.train()
        self.head = nn.Linear(width + config.hidden, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = self.backbone(images)
        spectrum = self.spectral(radial_spectrum(images, self.config.spectral_bins))
        return self.head(torch.cat([pixels, spectrum], dim=1)).squeeze(1)
