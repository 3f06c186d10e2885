from __future__ import annotations

import json

import pytest
import torch

from detectors.generators.diffusion import (
    DiffusionConfig,
    NoiseSchedule,
    UNet,
    diffusion_loss,
    make_betas,
    sample_diffusion,
    train_diffusion,
)

TINY = {"image_size": 16, "base_channels": 8, "channel_mults": (1, 2), "attention_resolutions": (8,), "timesteps": 20}


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_schedules_are_valid(schedule):
    betas = make_betas(schedule, 100)
    assert betas.shape == (100,) and (betas > 0).all() and (betas < 1).all()
    ab = NoiseSchedule(schedule, 100).alphas_cumprod
    assert (ab[1:] < ab[:-1]).all() and ab[-1] < 0.05


@pytest.mark.parametrize("size,mults", [(16, (1, 2)), (32, (1, 2, 2)), (64, (1, 2, 2, 2))])
def test_unet_keeps_shape(size, mults):
    cfg = DiffusionConfig(image_size=size, base_channels=8, channel_mults=mults, attention_resolutions=(8,))
    x = torch.randn(2, 3, size, size)
    assert UNet(cfg)(x, torch.tensor([0, 999])).shape == x.shape


def test_a_few_steps_reduce_the_loss():
    torch.manual_seed(0)
    cfg = DiffusionConfig(**TINY)
    model = UNet(cfg)
    sched = NoiseSchedule(cfg.schedule, cfg.timesteps)
    x0 = torch.rand(8, 3, 16, 16) * 2 - 1

    def fixed_loss() -> float:
        with torch.no_grad():
            return diffusion_loss(model, sched, x0, torch.Generator().manual_seed(123)).item()

    before = fixed_loss()
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    for _ in range(30):
        loss = diffusion_loss(model, sched, x0, torch.Generator().manual_seed(123))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert fixed_loss() < 0.8 * before


@pytest.fixture(scope="module")
def tiny_diffusion(tiny_real_dir, tmp_path_factory):
    cfg = DiffusionConfig(**TINY, batch_size=4, steps=3, count=10, log_every=1, warmup_steps=1)
    return train_diffusion(cfg, tiny_real_dir, tmp_path_factory.mktemp("diffusion"))


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_sampling_is_deterministic_by_seed(tiny_diffusion, tmp_path, sampler):
    a = sample_diffusion(tiny_diffusion, 3, 5, tmp_path / "a", sampler=sampler, sample_steps=5)
    b = sample_diffusion(tiny_diffusion, 3, 5, tmp_path / "b", sampler=sampler, sample_steps=5)
    c = sample_diffusion(tiny_diffusion, 3, 6, tmp_path / "c", sampler=sampler, sample_steps=5)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.read_bytes() for p in a] != [p.read_bytes() for p in c]
    m = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert m["family"] == "diffusion" and m["extra"]["sampler"] == sampler and m["count"] == 3
    assert m["config"]["timesteps"] == 20 and m["source_data"]["items"] == 10


def test_ddim_with_eta_is_stochastic_but_seeded(tiny_diffusion, tmp_path):
    a = sample_diffusion(tiny_diffusion, 2, 1, tmp_path / "a", sampler="ddim", sample_steps=4, eta=1.0)
    b = sample_diffusion(tiny_diffusion, 2, 1, tmp_path / "b", sampler="ddim", sample_steps=4, eta=1.0)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_bad_sampler_is_rejected(tiny_diffusion, tmp_path):
    with pytest.raises(ValueError, match="sampler"):
        sample_diffusion(tiny_diffusion, 1, 0, tmp_path, sampler="euler")


def test_dynamic_threshold_is_recorded_and_changes_nothing_in_range(tiny_diffusion, tmp_path):
    a = sample_diffusion(tiny_diffusion, 2, 0, tmp_path / "a", sample_steps=4, dynamic_threshold=None)
    b = sample_diffusion(tiny_diffusion, 2, 0, tmp_path / "b", sample_steps=4, dynamic_threshold=0.995)
    assert len(a) == len(b) == 2
    m = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert m["extra"]["dynamic_threshold"] is None
    from detectors.generators.diffusion import _clip_x0

    x = torch.tensor([[0.5, -0.2, 0.9]])
    assert torch.equal(_clip_x0(x, 0.995), x)  # within [-1, 1]: untouched
    assert _clip_x0(torch.tensor([[4.0, -2.0, 1.0]]), 0.995).abs().max() <= 1.0
