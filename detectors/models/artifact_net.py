"""A small from-scratch CNN that looks at generation traces, not at content.

Its input is the NPR residual (Tan et al., CVPR 2024, "Rethinking the
up-sampling operations in CNN-based generative network for generalizable
deepfake detection"): the image minus a nearest-neighbour down-up copy of
itself. Every upsampling layer of a generator (transposed convolution,
nearest or bilinear resize, pixel shuffle) ties neighbouring pixels together
in a way a camera does not, and that tie survives in this residual while the
scene's content mostly cancels out. The residual is computed inside the
network, so training, evaluation and serving cannot compute it differently.

Shape choices, each for generalisation or for the service:
- no strided stem and no pooling before the first stage: the traces live in
  single-pixel relationships, which a stride-4 stem would throw away;
- only two residual stages (like NPR's ResNet cut after its second stage):
  deeper features start to describe content again;
- GroupNorm, never BatchNorm: Opacus (per-example gradients for DP-SGD
  fine-tuning) cannot use BatchNorm, and a tile's statistics should not
  depend on the other tiles in its batch;
- global average pooling: any tile size works, so a small image is scored
  as it is rather than upscaled.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ArtifactNetConfig:
    width: int = 32
    blocks: tuple[int, int] = (2, 2)
    residual: str = "npr"  # "npr" or "none" (raw pixels, for ablations)
    residual_gain: float = 4.0  # NPR residuals are small; scale them into a range GroupNorm's first conv likes
    # down-up factors, one 3-channel residual each: (2,) is NPR as published; (2, 4) adds the trace of a 4x
    # upsampling path (a generator's decoder upsamples 2x several times), stacked as channels
    residual_scales: tuple[int, ...] = (2,)
    dropout: float = 0.2

    def to_dict(self) -> dict:
        data = asdict(self)
        data["blocks"] = list(self.blocks)
        data["residual_scales"] = list(self.residual_scales)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ArtifactNetConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for key in ("blocks", "residual_scales"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)


def npr_residual(images: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """The image minus its nearest-neighbour down-up copy by ``factor`` (trailing rows/columns that do not fill
    a whole block dropped)."""
    h, w = images.shape[-2] // factor * factor, images.shape[-1] // factor * factor
    images = images[..., :h, :w]
    coarse = images[..., ::factor, ::factor]
    return images - coarse.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)


def residuals(images: torch.Tensor, scales: tuple[int, ...]) -> torch.Tensor:
    """The NPR residual at each scale, cropped to a common size and stacked as channels."""
    size = max(scales)
    h, w = images.shape[-2] // size * size, images.shape[-1] // size * size
    return torch.cat([npr_residual(images[..., :h, :w], factor) for factor in scales], dim=1)


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.norm1 = _norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.norm2 = _norm(cout)
        self.shortcut = (
            nn.Identity() if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), _norm(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ArtifactNet(nn.Module):
    """One logit per tile (positive = synthetic). Input: normalised RGB tiles (N, 3, H, W), H, W >= 8."""

    def __init__(self, config: ArtifactNetConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        channels = 3 * len(config.residual_scales) if config.residual == "npr" else 3
        self.stem = nn.Sequential(nn.Conv2d(channels, w, 3, 1, 1, bias=False), _norm(w), nn.ReLU())
        layers: list[nn.Module] = []
        cin = w
        for stage, count in enumerate(config.blocks):
            cout = w * (2 ** stage)
            for index in range(count):
                layers.append(BasicBlock(cin, cout, 2 if stage > 0 and index == 0 else 1))
                cin = cout
        self.stages = nn.Sequential(*layers)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(cin, 1)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        if self.config.residual == "npr":
            images = residuals(images, self.config.residual_scales) * self.config.residual_gain
        return self.stages(self.stem(images)).mean(dim=(-2, -1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(images))).squeeze(1)
