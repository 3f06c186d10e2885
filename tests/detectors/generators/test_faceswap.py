from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from detectors.generators.faceswap import (
    FaceSwapConfig,
    FaceSwapModel,
    FaceSwapper,
    color_transfer,
    face_mask,
    lab_to_rgb,
    load_faceswap,
    rgb_to_lab,
    sample_faceswap,
    similarity_transform,
    swap_frames,
    swap_image,
    train_faceswap,
)

TINY = {"enc_channels": (8, 16, 16, 32), "dec_channels": (16, 8, 8, 8), "latent_dim": 16, "batch_size": 4,
            "pretrain_steps": 2, "finetune_steps": 2, "pool_count": 6, "log_every": 1}


def test_model_shapes():
    cfg = FaceSwapConfig(**TINY)
    model = FaceSwapModel(cfg)
    x = torch.rand(2, 3, 64, 64)
    for ident in ("a", "b", "pool"):
        y = model(x, ident)
        assert y.shape == x.shape and 0 <= y.min() and y.max() <= 1
    assert FaceSwapModel(FaceSwapConfig(**{**TINY, "crop_size": 128}))(torch.rand(1, 3, 128, 128)).shape[-1] == 128


def test_similarity_transform_recovers_a_known_transform():
    src = np.array([[10, 20], [40, 22], [25, 35], [15, 50], [38, 51]], float)
    ang, s, t = 0.3, 1.7, np.array([5.0, -3.0])
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    dst = src @ (s * rot).T + t
    m = similarity_transform(src, dst)
    assert np.allclose(m[:, :2], s * rot) and np.allclose(m[:, 2], t)


def test_lab_round_trip_and_colour_transfer():
    rgb = np.random.default_rng(0).uniform(0, 1, (8, 8, 3))
    assert np.allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-4)
    src = np.full((16, 16, 3), 60, np.uint8)
    src[::2] = 90
    tgt = np.full((16, 16, 3), 180, np.uint8)
    tgt[::2] = 200
    for space in ("lab", "rgb"):
        out = color_transfer(src, tgt, np.ones((16, 16)), space)
        assert abs(out.mean() - tgt.mean()) < 3


def test_mask_is_soft_and_inside_the_crop():
    m = face_mask(64, 0.06)
    assert m.shape == (64, 64) and m.max() > 0.99 and m[0, 0] == 0 and m[:, 0].max() < 0.05
    assert 0 < ((m > 0.05) & (m < 0.95)).mean()  # a feathered band exists


@pytest.fixture(scope="module")
def swapper():
    torch.manual_seed(0)
    return FaceSwapper(FaceSwapModel(FaceSwapConfig(**TINY)))


def test_no_face_is_a_result_not_a_crash(swapper, tmp_path):
    blank = np.full((120, 100, 3), 128, np.uint8)
    res = swap_image(swapper, blank)
    assert res.status == "no_face" and not res.ok and res.image is None and "no face" in res.reason
    assert swap_image(swapper, np.zeros((6, 6, 3), np.uint8)).status == "no_face"
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    assert swap_image(swapper, bad).status == "no_face"


def test_swap_on_real_celeba_face(swapper, celeba_dir):
    frame = np.asarray(Image.open(celeba_dir / "000001.jpg").convert("RGB"))
    res = swap_image(swapper, frame)
    assert res.ok, res.reason
    assert res.image.shape == frame.shape and res.image.dtype == np.uint8
    assert res.face_prob > 0.9 and res.landmarks.shape == (5, 2)
    changed = np.abs(res.image.astype(int) - frame.astype(int)).sum(-1) > 0
    assert changed[40:80, 30:60].mean() > 0.5  # the face changed
    assert not changed[:5].any() and not changed[:, :3].any()  # the border did not


def test_video_frames_keep_order_and_flag_faceless_frames(swapper, celeba_dir):
    face = np.asarray(Image.open(celeba_dir / "000002.jpg").convert("RGB"))
    frames = [face, np.zeros_like(face), face[:, ::-1].copy()]
    results = swap_frames(swapper, frames)
    assert [r.status for r in results] == ["ok", "no_face", "ok"]


def test_train_and_sample_faceswap_on_celeba(celeba_dir, tmp_path):
    ckpt = train_faceswap(FaceSwapConfig(**TINY), celeba_dir, tmp_path / "fs")
    model = load_faceswap(ckpt)
    extra = model.meta["extra"]
    assert extra["identity_a"] != extra["identity_b"] and len(extra["a_files"]) >= 6
    assert all(v.dtype == torch.float32 for v in model.state_dict().values())
    paths = sample_faceswap(ckpt, 2, seed=3, out_dir=tmp_path / "out")
    again = sample_faceswap(ckpt, 2, seed=3, out_dir=tmp_path / "out2")
    assert len(paths) == 2 and [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]
    assert Image.open(paths[0]).size == (89, 109)
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["family"] == "faceswap" and m["count"] == 2
    assert m["extra"]["rendered_identity_label"] == extra["identity_a"]
    assert not {s["target_frame"] for s in m["extra"]["sources"]} & set(extra["a_files"])
