import pytest
import torch
import torch.nn.functional as F

from detectors.models.artifact_net import ArtifactNet, ArtifactNetConfig, npr_residual, residuals


@pytest.mark.parametrize("height, width", [(32, 32), (64, 64), (48, 80), (64, 33), (8, 8)])
@pytest.mark.parametrize("scales", [(2,), (2, 4)])
def test_one_logit_per_tile_for_any_tile_size(height: int, width: int, scales: tuple[int, ...]) -> None:
    model = ArtifactNet(ArtifactNetConfig(width=8, residual_scales=scales)).eval()
    with torch.no_grad():
        assert model(torch.randn(3, 3, height, width)).shape == (3,)


def test_group_norm_only_so_tiles_do_not_depend_on_their_batch() -> None:
    model = ArtifactNet(ArtifactNetConfig(width=8)).eval()
    kinds = {type(m) for m in model.modules()}
    assert torch.nn.GroupNorm in kinds
    assert not any(issubclass(k, torch.nn.modules.batchnorm._BatchNorm) for k in kinds)
    tiles = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(tiles)[:1], model(tiles[:1]), atol=1e-5)


def test_npr_residual_of_a_nearest_upsampled_image_is_exactly_zero() -> None:
    coarse = torch.rand(2, 3, 16, 24)
    upsampled = F.interpolate(coarse, scale_factor=2, mode="nearest")
    assert torch.equal(npr_residual(upsampled), torch.zeros_like(upsampled))
    camera_like = torch.rand(2, 3, 32, 48)
    assert npr_residual(camera_like).abs().mean() > 0.1


def test_npr_residual_drops_an_odd_trailing_row_and_column() -> None:
    assert npr_residual(torch.rand(1, 3, 33, 17)).shape == (1, 3, 32, 16)


def test_the_4x_residual_sees_structure_inside_4x4_blocks_that_the_2x_residual_cannot() -> None:
    """2x2 detail on a 4x-upsampled image: constant within every 2x2 block, so the published NPR sees nothing."""
    base = F.interpolate(torch.rand(1, 3, 8, 8), scale_factor=4, mode="nearest")
    detail = F.interpolate(torch.rand(1, 3, 16, 16), scale_factor=2, mode="nearest") * 0.1
    stacked = residuals(base + detail, (2, 4))
    assert stacked.shape == (1, 6, 32, 32)
    assert torch.equal(stacked[:, :3], npr_residual(base + detail))
    assert stacked[:, :3].abs().max() < 1e-6 < stacked[:, 3:].abs().mean()
    assert residuals(base, (2, 4)).abs().max() < 1e-6


def test_config_round_trips_through_a_card() -> None:
    cfg = ArtifactNetConfig(width=8, blocks=(1, 3), residual="none")
    assert ArtifactNetConfig.from_dict({"family": "artifact_net", **cfg.to_dict()}) == cfg
    multi = ArtifactNetConfig(width=8, residual_scales=(2, 4))
    assert ArtifactNetConfig.from_dict(multi.to_dict()) == multi
    assert ArtifactNetConfig.from_dict({"width": 8}).residual_scales == (2,)  # cards from before the option
