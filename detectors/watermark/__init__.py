"""Watermark embedding and detection: text green lists and invisible image marks.

The submodules register their detectors on import:

- ``detectors.watermark.text_greenlist``: the green-list LLM watermark of
  Kirchenbauer et al. 2023 (embedding as a ``transformers.LogitsProcessor``,
  detection by a one-proportion z-test), detector ``text-greenlist-watermark``.
- ``detectors.watermark.image_invisible``: the DWT-DCT marks of the
  ``invisible-watermark`` package that Stable Diffusion's reference scripts
  embed (detector ``image-invisible-watermark``) and a per-tenant DWT-DCT-SVD
  mark that survives JPEG 75 and a 0.5x resize (detector
  ``image-tenant-watermark``).

This package is kept light: nothing here imports OpenCV or transformers at
package import time.
"""
