"""Weights files are byte-for-byte reproducible, so their SHA-256 pins the model."""
import torch
from safetensors.torch import load_file

from detectors.cards import save_safetensors, sha256_file


def test_the_same_tensors_and_metadata_always_give_the_same_bytes(tmp_path) -> None:
    tensors = {"b.weight": torch.arange(6, dtype=torch.float16).reshape(2, 3), "a.bias": torch.ones(3)}
    metadata = {f"key{i}": f"value{i}" for i in range(8)}  # the library emits these in hash-map order
    hashes = set()
    for i in range(6):
        path = tmp_path / f"w{i}.safetensors"
        save_safetensors(tensors, path, metadata=dict(reversed(list(metadata.items()))) if i % 2 else metadata)
        hashes.add(sha256_file(path))
        loaded = load_file(path)
        assert all(torch.equal(loaded[k], v) for k, v in tensors.items())
    assert len(hashes) == 1
