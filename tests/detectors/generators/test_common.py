from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch
from safetensors import safe_open

from detectors.generators.common import (
    apply_overrides,
    load_checkpoint,
    resolve_device,
    save_checkpoint,
    sha256_file,
)
from detectors.generators.data import list_images, load_faces, select_subset
from detectors.generators.manifest import write_manifest


@dataclass(frozen=True)
class _Cfg:
    size: int = 8
    mults: tuple[int, ...] = (1, 2)


def test_safetensors_round_trip_keeps_tensors_and_config(tmp_path):
    tensors = {"a.weight": torch.randn(3, 4), "a.count": torch.tensor([7], dtype=torch.long)}
    digest = save_checkpoint(tmp_path / "m.safetensors", tensors, "gan", _Cfg(), {"real_items": 5})
    loaded, info = load_checkpoint(tmp_path / "m.safetensors", expected_family="gan")
    assert set(loaded) == set(tensors)
    for k, tensor in tensors.items():
        assert torch.equal(loaded[k], tensor)
    assert info["config"] == {"size": 8, "mults": [1, 2]}
    assert info["extra"] == {"real_items": 5}
    assert info["sha256"] == digest == sha256_file(tmp_path / "m.safetensors")
    sidecar = json.loads((tmp_path / "m.json").read_text())
    assert sidecar["family"] == "gan" and sidecar["config"]["size"] == 8
    with safe_open(str(tmp_path / "m.safetensors"), framework="pt") as fh:
        assert fh.metadata()["family"] == "gan"


def test_checkpoint_of_another_family_is_refused(tmp_path):
    save_checkpoint(tmp_path / "m.safetensors", {"w": torch.zeros(1)}, "diffusion", _Cfg())
    with pytest.raises(ValueError, match="expected 'gan'"):
        load_checkpoint(tmp_path / "m.safetensors", expected_family="gan")


def test_overrides_reject_unknown_fields():
    assert apply_overrides(_Cfg(), {"mults": [1, 2, 4]}).mults == (1, 2, 4)
    with pytest.raises(ValueError, match="unknown config field"):
        apply_overrides(_Cfg(), {"sise": 3})


def test_cuda_request_without_cuda_fails_loudly():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


def test_subset_selection_is_deterministic(tiny_real_dir):
    paths = list_images(tiny_real_dir)
    a = select_subset(paths, 7, seed=3)
    assert a == select_subset(paths, 7, seed=3)
    assert a != select_subset(paths, 7, seed=4)
    assert a == sorted(a) and len(a) == 7
    assert select_subset(paths, None, 0) == paths


def test_load_faces_crops_and_scales(tiny_real_dir):
    faces = load_faces(tiny_real_dir, 16, count=5, seed=0)
    assert faces.images.shape == (5, 3, 16, 16) and faces.images.dtype == torch.uint8
    x = faces.batch(torch.arange(5))
    assert x.min() >= -1 and x.max() <= 1


def test_manifest_records_generator_data_and_hashes(tmp_path):
    out = tmp_path / "fakes"
    out.mkdir()
    (out / "x_00000.png").write_bytes(b"png")
    ckpt = tmp_path / "c.safetensors"
    save_checkpoint(ckpt, {"w": torch.zeros(1)}, "gan", _Cfg())
    path = write_manifest(out, family="gan", config={"size": 8}, seed=11, checkpoint=ckpt,
                          outputs=[out / "x_00000.png"], source_dir="/data/reals", source_items=42)
    m = json.loads(path.read_text())
    assert m["family"] == "gan" and m["seed"] == 11 and m["count"] == 1
    assert m["checkpoint"]["sha256"] == sha256_file(ckpt)
    assert m["source_data"] == {"dir": "/data/reals", "items": 42}
    assert m["files"][0]["file"] == "x_00000.png" and len(m["files"][0]["sha256"]) == 64
    assert m["format"] == "png" and "same format" in m["format_note"]
