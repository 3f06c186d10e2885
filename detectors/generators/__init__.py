"""The adversary lab: generators that make the fakes detectors are trained and tested on.

Three families, pure PyTorch (no Django):

- :mod:`detectors.generators.gan` — DCGAN-class face generator.
- :mod:`detectors.generators.diffusion` — DDPM-class denoiser with DDPM and DDIM samplers.
- :mod:`detectors.generators.faceswap` — shared-encoder / two-decoder face swap with
  MTCNN alignment, colour correction and feathered blending.

Every entry point is seeded, checkpoints are safetensors with their config in
the metadata, and every batch of fakes gets a ``manifest.json`` (see
:mod:`detectors.generators.manifest`). Fakes are PNG; detector training must
give reals and fakes the same formats (FIELD_NOTES). CLI: ``python -m
detectors.generators --help``. Submodules are imported lazily so that
importing this package stays cheap.
"""
from __future__ import annotations

__all__ = ["common", "data", "diffusion", "faceswap", "gan", "manifest"]
