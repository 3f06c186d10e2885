"""Aligned fakes (detectors.generators.aligned) and self-blended images (detectors.training.sbi).

Fast: synthetic images in tmp_path, decoders trained for a handful of steps
into tmp_path, one CPU thread.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from detectors.generators import aligned
from detectors.training.sbi import self_blend, self_blend_with_mask

CELEBA_DIR = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "celeba-10k" / "images"


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _textured(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([
        128 + 60 * np.sin(xx / (5 + seed % 3)) * np.cos(yy / 7),
        128 + 50 * np.cos((xx + yy) / 9),
        100 + 0.5 * xx + 0.3 * yy,
    ], -1)
    base += rng.normal(0, 8, size=base.shape)
    return np.clip(base, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def real_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("reals")
    sizes = [(109, 89), (100, 130), (72, 72), (96, 128)]
    paths = []
    for i, (h, w) in enumerate(sizes):
        p = root / f"real_{i}.jpg"
        Image.fromarray(_textured(h, w, i)).save(p, quality=95)
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def decoder_weights(real_files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four autoencoders trained for 2 steps of 4 32px crops (enough to check plumbing, in about a second)."""
    torch.set_num_threads(1)
    wdir = tmp_path_factory.mktemp("weights")
    for op in aligned.DECODER_OPS:
        aligned.load_or_train_decoder(op, real_files, wdir, steps=2, batch_size=4, crop=32)
    return wdir


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def test_crop_native_never_resizes() -> None:
    im = np.arange(109 * 89 * 3, dtype=np.uint32).reshape(109, 89, 3).astype(np.uint8)
    out = aligned.crop_native(im, max_side=256)
    assert out.shape == (104, 88, 3)
    assert np.array_equal(out, im[2:106, 0:88])  # a centre crop, pixel for pixel
    big = np.zeros((321, 481, 3), np.uint8)
    assert aligned.crop_native(big, max_side=256).shape == (256, 256, 3)


def test_decoder_round_trip_keeps_size(real_files: list[Path], decoder_weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "fakes"
    wdir = decoder_weights
    paths = aligned.make_aligned("decoder", real_files, out, seed=0, weights_dir=wdir, train_steps=2)
    assert len(paths) == len(real_files)
    for op in aligned.DECODER_OPS:
        assert (wdir / f"{op}.safetensors").is_file()
        side = json.loads((wdir / f"{op}.json").read_text())
        assert side["op"] == op and side["steps"] == 2 and "final_loss" in side and "command" in side
    man = _manifest(out)
    ops = [man["extra"]["settings"][p.name]["op"] for p in paths]
    assert ops == list(aligned.DECODER_OPS)  # round-robin by index
    for p in paths:
        src = Path(man["extra"]["sources"][p.name])
        real = aligned.crop_native(aligned.load_rgb(src), 256)
        fake = np.asarray(Image.open(p).convert("RGB"))
        assert fake.shape == real.shape
        diff = np.abs(fake.astype(np.int16) - real.astype(np.int16))
        assert diff.mean() > 0.5  # a reconstruction, not a copy
        assert diff.mean() < 100  # still the same picture (loosely: 2 training steps)
    # cached weights are reused, not retrained: outputs are identical
    again = aligned.make_aligned("decoder", real_files, tmp_path / "again", seed=0, weights_dir=wdir, train_steps=2)
    for a, b in zip(paths, again):
        assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


def test_manifest_lists_every_png_with_source(real_files: list[Path], decoder_weights: Path, tmp_path: Path) -> None:
    out = tmp_path / "fakes"
    paths = aligned.make_aligned("decoder", real_files, out, weights_dir=decoder_weights, train_steps=2)
    man = _manifest(out)
    listed = {f["file"] for f in man["files"]}
    assert listed == {p.name for p in paths}
    assert set(man["extra"]["sources"]) == listed
    assert set(man["extra"]["sources"].values()) == {str(p) for p in real_files}
    assert all(f.get("sha256") for f in man["files"])
    assert man["family"] == "aligned-decoder"


def test_denoiser_family_strips_added_noise_without_resampling(real_files: list[Path], tmp_path: Path) -> None:
    """Denoisers are full-resolution nets: a noisy crop comes back closer to the clean one, at the same size."""
    wdir = tmp_path / "denoisers"
    for kind in aligned.DENOISER_KINDS:
        model, info, _ = aligned.load_or_train_decoder(kind, real_files, wdir, steps=60, batch_size=8, crop=32)
        assert isinstance(model, aligned.TinyDenoiser) and info["op"] == kind
        assert not any(isinstance(m, (torch.nn.Upsample, torch.nn.ConvTranspose2d, torch.nn.PixelShuffle))
                       for m in model.modules())
        clean = aligned._to_tensor(aligned.crop_native(aligned.load_rgb(real_files[0]), 256))
        noisy = clean + torch.randn(clean.shape, generator=torch.Generator().manual_seed(1)) * (12 / 127.5)
        with torch.no_grad():
            out = model(noisy)
        assert out.shape == clean.shape
        assert (out - clean).abs().mean() < (noisy - clean).abs().mean()
    out_dir = tmp_path / "fakes"
    paths = aligned.make_aligned("denoiser", real_files, out_dir, weights_dir=wdir)
    man = _manifest(out_dir)
    assert man["family"] == "aligned-denoiser" and len(paths) == len(real_files)
    settings = [man["extra"]["settings"][p.name] for p in paths]
    assert [s["op"] for s in settings] == [aligned.DENOISER_KINDS[k % 2] for k in range(len(paths))]
    assert [s["input_noise"] for s in settings] == [aligned.DENOISER_INPUT_NOISE[(k // 2) % 3]
                                                     for k in range(len(paths))]
    for p in paths:
        real = aligned.crop_native(aligned.load_rgb(man["extra"]["sources"][p.name]), 256)
        assert np.asarray(Image.open(p)).shape == real.shape


def test_heavy_denoisers_learn_their_own_noise_range_and_add_it_before_denoising(
        real_files: list[Path], tmp_path: Path) -> None:
    """The heavy strength is its own pair of networks (trained on strong noise) and its own input noise."""
    heavy = aligned.DENOISER_STRENGTHS["heavy"]
    assert heavy.weights_dir != aligned.DENOISER_STRENGTHS["light"].weights_dir
    assert min(heavy.input_noise) > max(aligned.DENOISER_INPUT_NOISE)
    out_dir = tmp_path / "fakes"
    paths = aligned.make_aligned("denoiser", real_files, out_dir, weights_dir=tmp_path / "heavy", train_steps=2,
                                 denoiser_strength="heavy")
    man = _manifest(out_dir)
    config = man["config"]
    assert config["strength"] == "heavy" and config["train_noise"] == list(heavy.train_noise)
    assert all(net["train"]["train_noise"] == list(heavy.train_noise) for net in man["extra"]["denoisers"].values())
    settings = [man["extra"]["settings"][p.name]["input_noise"] for p in paths]
    assert settings == [heavy.input_noise[(k // 2) % len(heavy.input_noise)] for k in range(len(paths))]


def test_diffusion_partial_keeps_size_and_strength_orders_change() -> None:
    if not aligned.DEFAULT_DIFFUSION_CHECKPOINT.is_file():
        pytest.skip(f"diffusion checkpoint missing: {aligned.DEFAULT_DIFFUSION_CHECKPOINT}")
    from detectors.generators.diffusion import load_diffusion

    model, cfg, _ = load_diffusion(aligned.DEFAULT_DIFFUSION_CHECKPOINT)
    im = aligned.crop_native(_textured(100, 133, 1), max_side=128)
    assert im.shape == (96, 128, 3)
    x = torch.from_numpy(im).permute(2, 0, 1).float().div(127.5).sub(1).unsqueeze(0)
    changes = []
    for strength in aligned.DIFFUSION_STRENGTHS:
        y = aligned.diffusion_partial(model, cfg, x, strength, torch.Generator().manual_seed(0), steps=4)
        assert y.shape == x.shape
        assert torch.isfinite(y).all()
        changes.append((y - x).abs().mean().item())
    assert changes[0] > 0.005
    assert changes[0] < changes[-1]


def test_diffusion_family_writes_cropped_pngs(real_files: list[Path], tmp_path: Path) -> None:
    if not aligned.DEFAULT_DIFFUSION_CHECKPOINT.is_file():
        pytest.skip(f"diffusion checkpoint missing: {aligned.DEFAULT_DIFFUSION_CHECKPOINT}")
    out = tmp_path / "diff"
    paths = aligned.make_aligned("diffusion", real_files[:3], out, max_side=96, ddim_steps=2)
    man = _manifest(out)
    assert [man["extra"]["settings"][p.name]["strength"] for p in paths] == list(aligned.DIFFUSION_STRENGTHS)
    for p in paths:
        real = aligned.crop_native(aligned.load_rgb(man["extra"]["sources"][p.name]), 96)
        assert np.asarray(Image.open(p)).shape == real.shape


def test_sbi_changes_only_inside_mask() -> None:
    rng = np.random.default_rng(3)
    for size in ((89, 109), (200, 200), (128, 150)):
        face = Image.fromarray(_textured(size[1], size[0], 5))
        out, alpha = self_blend_with_mask(face, rng)
        assert out.size == face.size and out.mode == "RGB"
        a, b = np.asarray(face).astype(np.int16), np.asarray(out).astype(np.int16)
        outside = alpha == 0
        assert outside.any()
        assert np.array_equal(a[outside], b[outside])
        inside = alpha >= 0.2
        assert inside.sum() > 0.05 * alpha.size
        assert np.abs(a[inside] - b[inside]).mean() > 1.0
        assert alpha.max() <= 1.0 and alpha.min() >= 0.0
    # deterministic given the generator state
    f = Image.fromarray(_textured(109, 89, 0))
    assert np.array_equal(np.asarray(self_blend(f, np.random.default_rng(7))),
                          np.asarray(self_blend(f, np.random.default_rng(7))))


def test_faceswap_on_a_celeba_face(tmp_path: Path) -> None:
    faces = sorted(CELEBA_DIR.glob("*.jpg"))[:4] if CELEBA_DIR.is_dir() else []
    if not faces:
        pytest.skip(f"no CelebA face images under {CELEBA_DIR}")
    if not aligned.DEFAULT_FACESWAP_CHECKPOINT.is_file():
        pytest.skip(f"faceswap checkpoint missing: {aligned.DEFAULT_FACESWAP_CHECKPOINT}")
    pytest.importorskip("facenet_pytorch", reason="MTCNN (facenet-pytorch) is needed to find faces")
    out = tmp_path / "fs"
    paths = aligned.make_aligned("faceswap", faces, out)
    man = _manifest(out)
    assert man["count"] == len(paths) and len(paths) + man["extra"]["skipped_count"] == len(faces)
    assert paths, "no face found in the first CelebA images"
    for p in paths:
        real = aligned.crop_native(aligned.load_rgb(man["extra"]["sources"][p.name]), 256)
        fake = np.asarray(Image.open(p))
        assert fake.shape == real.shape and not np.array_equal(fake, real)
