from __future__ import annotations

import json

import pytest
import torch

from detectors.generators.common import load_checkpoint
from detectors.generators.gan import GANConfig, build_gan, load_gan, sample_gan, train_gan


@pytest.mark.parametrize("size", [16, 32, 64])
def test_shapes_scale_with_resolution(size):
    cfg = GANConfig(image_size=size, g_channels=8, d_channels=8, latent_dim=16)
    g, d = build_gan(cfg, seed=0)
    x = g(torch.randn(3, 16))
    assert x.shape == (3, 3, size, size) and x.abs().max() <= 1
    assert d(x).shape == (3,)


def test_resolution_must_be_power_of_two():
    with pytest.raises(ValueError):
        GANConfig(image_size=48)


def test_discriminator_and_generator_steps_reduce_their_losses():
    torch.manual_seed(0)
    cfg = GANConfig(image_size=16, g_channels=8, d_channels=8, latent_dim=16)
    g, d = build_gan(cfg, seed=0)
    real = torch.rand(16, 3, 16, 16) * 2 - 1
    z = torch.randn(16, 16)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    with torch.no_grad():
        fake = g(z)

    def loss_d() -> torch.Tensor:
        return bce(d(real), torch.ones(16)) + bce(d(fake), torch.zeros(16))

    before = loss_d().item()
    for _ in range(15):
        opt_d.zero_grad()
        loss_d().backward()
        opt_d.step()
    assert loss_d().item() < before
    d.eval()
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    before_g = bce(d(g(z)), torch.ones(16)).item()
    for _ in range(15):
        opt_g.zero_grad()
        bce(d(g(z)), torch.ones(16)).backward()
        opt_g.step()
    assert bce(d(g(z)), torch.ones(16)).item() < before_g


@pytest.fixture(scope="module")
def tiny_gan(tiny_real_dir, tmp_path_factory):
    cfg = GANConfig(image_size=16, g_channels=8, d_channels=8, latent_dim=16, batch_size=8, steps=4, count=12,
                    log_every=2)
    return train_gan(cfg, tiny_real_dir, tmp_path_factory.mktemp("gan"))


def test_train_writes_safetensors_with_config(tiny_gan):
    tensors, info = load_checkpoint(tiny_gan, expected_family="gan")
    assert info["config"]["image_size"] == 16 and info["extra"]["real_items"] == 12
    assert all(k.startswith("generator.") for k in tensors)
    log = json.loads((tiny_gan.parent / "train_log.json").read_text())
    assert [h["step"] for h in log["history"]] == [2, 4]
    assert (tiny_gan.parent / "train_grid.png").is_file()


def test_training_is_reproducible(tiny_real_dir, tmp_path, tiny_gan):
    cfg = GANConfig(image_size=16, g_channels=8, d_channels=8, latent_dim=16, batch_size=8, steps=4, count=12,
                    log_every=2)
    again = train_gan(cfg, tiny_real_dir, tmp_path)
    a, _ = load_checkpoint(tiny_gan)
    b, _ = load_checkpoint(again)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_sampling_is_deterministic_by_seed(tiny_gan, tmp_path):
    p1 = sample_gan(tiny_gan, 5, seed=7, out_dir=tmp_path / "a")
    p2 = sample_gan(tiny_gan, 5, seed=7, out_dir=tmp_path / "b")
    p3 = sample_gan(tiny_gan, 5, seed=8, out_dir=tmp_path / "c")
    assert len(p1) == 5 and all(p.suffix == ".png" for p in p1)
    assert [p.read_bytes() for p in p1] == [p.read_bytes() for p in p2]
    assert [p.read_bytes() for p in p1] != [p.read_bytes() for p in p3]
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["family"] == "gan" and manifest["count"] == 5 and manifest["seed"] == 7
    assert manifest["source_data"]["items"] == 12
    _, _cfg, info = load_gan(tiny_gan)
    assert manifest["checkpoint"]["sha256"] == info["sha256"]
