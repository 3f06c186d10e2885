"""``python -m detectors.training`` / ``manage.py train_detector``: train and calibrate a detector.

    train_detector --name synthetic-image --real ../shared/datasets/celeba-10k/images \
        --identity-file ../shared/datasets/celeba-10k/identity.txt \
        --fake gan=var/lab/fakes/gan --fake diffusion=var/lab/fakes/diffusion --fake faceswap=var/lab/fakes/faceswap \
        --out detectors/weights [--crop faces] [--epochs 4] [--image-size 32] [--device cuda]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from detectors.training.train import TrainConfig, train_detector


def parse_fake(value: str) -> tuple[str, Path]:
    if "=" not in value:
        raise argparse.ArgumentTypeError("--fake expects NAME=FOLDER, e.g. gan=var/lab/fakes/gan")
    name, folder = value.split("=", 1)
    return name.strip(), Path(folder)


def add_arguments(parser: argparse.ArgumentParser, *, version_alias: bool = False) -> None:
    """The training options. The model card's version is ``--model-version``; ``--version`` is accepted as an
    alias only where the parser does not use it already (``python -m detectors.training``; Django's
    ``manage.py`` commands print the framework version with ``--version``)."""
    parser.add_argument("--name", required=True, help="model name; weights are written as NAME.safetensors")
    parser.add_argument("--real", type=Path, required=True, help="folder of real photos")
    parser.add_argument("--fake", type=parse_fake, action="append", required=True, help="NAME=FOLDER (repeatable)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "weights")
    parser.add_argument("--identity-file", type=Path, help="'file identity' lines; reals are split by identity")
    parser.add_argument("--backbone", default="convnext_atto", help="any timm architecture name")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--max-real", type=int, default=4000)
    parser.add_argument("--max-fake-per-generator", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--target-fpr", type=float, default=0.01)
    parser.add_argument("--model-version", *(["--version"] if version_alias else []), dest="model_version",
                        default="1.0", help="the version written into the model card")
    parser.add_argument("--crop", choices=["none", "faces"], default="none",
                        help="faces: train on MTCNN crops of the largest face (for the face detector)")


def run(args: argparse.Namespace) -> dict[str, Any]:
    cfg = TrainConfig(
        name=args.name, real_dir=args.real, fake_dirs=dict(args.fake), out_dir=args.out,
        identity_file=args.identity_file, backbone=args.backbone, image_size=args.image_size, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, max_real=args.max_real,
        max_fake_per_generator=args.max_fake_per_generator, seed=args.seed, device=args.device,
        target_fpr=args.target_fpr, version=args.model_version, crop=args.crop,
    )
    return train_detector(cfg)


def summary(card: dict[str, Any]) -> str:
    clean = card["metrics_test_split"]["per_degradation"]["clean"]
    return (f"{card['name']}: AUC {clean['auc']:.3f}, AP {clean['average_precision']:.3f}, "
            f"TPR {clean['tpr_at_threshold']:.3f} at FPR {clean['fpr_at_threshold']:.3f} "
            f"(threshold {card['calibration']['threshold']:.3f}); weights sha256 {card['weights_sha256'][:16]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, version_alias=True)
    card = run(parser.parse_args(argv))
    print(summary(card))
    print(json.dumps(card["metrics_test_split"]["per_generator"], indent=2))
