import torch

from detectors.models.dual_branch import DualBranchClassifier, DualBranchConfig, radial_spectrum


def test_radial_spectrum_sees_periodic_upsampling_traces() -> None:
    """A 2-pixel checkerboard (the trace of a stride-2 transposed convolution) puts energy in the highest band."""
    smooth = torch.zeros(1, 3, 32, 32)
    smooth[..., :16, :] = 0.5
    checker = smooth.clone()
    checker += 0.2 * ((torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2).float()
    s_smooth, s_checker = radial_spectrum(smooth, 16), radial_spectrum(checker, 16)
    assert s_checker[0, -3:].mean() > s_smooth[0, -3:].mean() + 0.01


def test_any_timm_backbone_by_name() -> None:
    for backbone in ("convnext_atto", "resnet10t"):
        model = DualBranchClassifier(DualBranchConfig(backbone=backbone, image_size=32))
        assert model(torch.randn(2, 3, 32, 32)).shape == (2,)
