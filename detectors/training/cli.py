"""``python -m detectors.training`` / ``manage.py train_detector``: train and calibrate a detector.

    train_detector --name synthetic-image \
        --real celeba=../shared/datasets/celeba-10k/images,identity=../shared/datasets/celeba-10k/identity.txt \
        --real bsds=../shared/datasets/bsds500/train \
        --calib-real utkface=../shared/datasets/utkface-aligned/images,limit=1500 \
        --test-real bsds-test=../shared/datasets/bsds500/test \
        --fake decoder=var/lab/aligned/decoder-celeba,identity=../shared/datasets/celeba-10k/identity.txt \
        --fake gan=var/lab/fakes/gan --sbi celeba \
        --out detectors/weights [--exclude-family gan --no-weights] [--crop faces] [--steps 1500] [--device cuda]

Each folder is FAMILY=DIR with optional ``,identity=FILE`` (split by person), ``,limit=N``, ``,name=NAME`` and,
for fakes, ``,domain=SOURCE`` (the real source whose content they show; default the first --real).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from detectors.training.degradations import EVALUATION_DEGRADATIONS, degradation_named
from detectors.training.train import Source, TrainConfig, train_detector


def parse_source(value: str) -> Source:
    head, *options = value.split(",")
    if "=" not in head:
        raise argparse.ArgumentTypeError(f"expected FAMILY=DIR[,identity=FILE][,limit=N], got {value!r}")
    family, folder = head.split("=", 1)
    extra: dict[str, Any] = {}
    for option in options:
        key, _, raw = option.partition("=")
        if key == "identity":
            extra["identity_file"] = Path(raw)
        elif key == "limit":
            extra["limit"] = int(raw)
        elif key == "name":
            extra["name"] = raw
        elif key == "domain":
            extra["domain"] = raw
        else:
            raise argparse.ArgumentTypeError(
                f"unknown option {key!r} in {value!r}: use identity=, limit=, name= or domain=")
    return Source(family.strip(), Path(folder), **extra)


def add_arguments(parser: argparse.ArgumentParser, *, version_alias: bool = False) -> None:
    """The training options. The model card's version is ``--model-version``; ``--version`` is accepted as an
    alias only where the parser does not use it already (``python -m detectors.training``; Django's
    ``manage.py`` commands print the framework version with ``--version``)."""
    parser.add_argument("--name", required=True, help="model name; weights are written as NAME.safetensors")
    parser.add_argument("--real", type=parse_source, action="append", required=True,
                        help="SOURCE=DIR of real photos to train on (repeatable)")
    parser.add_argument("--fake", type=parse_source, action="append", required=True,
                        help="FAMILY=DIR of fakes (repeatable; FAMILY groups them for leave-one-family-out)")
    parser.add_argument("--calib-real", type=parse_source, action="append", default=[],
                        help="SOURCE=DIR of real photos never trained on: the threshold is set on them")
    parser.add_argument("--test-real", type=parse_source, action="append", default=[],
                        help="SOURCE=DIR of real photos used only to measure false positives")
    parser.add_argument("--sbi", action="append", default=[], metavar="SOURCE",
                        help="self-blend this real source's training faces into face-swap fakes (repeatable)")
    parser.add_argument("--exclude-family", help="leave this fake family out of training and report it")
    parser.add_argument("--keep-self-blends", action="store_true",
                        help="with --exclude-family faceswap: keep the self-blended reals (made by no generator) in "
                             "training, so only the face-swap generator's swaps are held out")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "weights")
    parser.add_argument("--no-weights", action="store_true", help="write only the report (for leave-one-out runs)")
    parser.add_argument("--init-from", type=Path,
                        help="start from these weights; with --steps 0 only calibrate and evaluate them (e.g. the "
                             "whole-image model recalibrated on face crops)")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--residual-scales", default="2",
                        help="NPR down-up factors stacked as input channels, e.g. 2,4 (default 2: NPR as published)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-average", choices=["none", "swa"], default="none",
                        help="swa: keep the average of the weights over the second half of training")
    parser.add_argument("--soft-reals", type=float, default=0.0, metavar="P",
                        help="share of real training views blurred (sigma 0.5-1.5) like a generator's soft output, "
                             "so that softness stops meaning 'generated' (default 0)")
    parser.add_argument("--sharp-fakes", type=float, default=0.0, metavar="P",
                        help="share of fake training views sharpened (unsharp mask), the other half of taking "
                             "softness away as a cue (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="initialisation, sampling order and augmentation")
    parser.add_argument("--data-seed", type=int,
                        help="which reals are drawn and which images are evaluated (default: --seed)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--target-fpr", type=float, default=0.01)
    parser.add_argument("--eval-limit", type=int, default=300, help="at most this many images per source in evaluations")
    parser.add_argument("--degradations", default=",".join(EVALUATION_DEGRADATIONS))
    parser.add_argument("--model-version", *(["--version"] if version_alias else []), dest="model_version",
                        default="2.1", help="the version written into the model card")
    parser.add_argument("--crop", choices=["none", "faces"], default="none",
                        help="faces: train and score on MTCNN crops of each face (for the face detector)")


def degradation_names(text: str) -> tuple[str, ...]:
    """The comma-separated ``--degradations``, each checked before any work starts (a typo should not cost an
    hour of training or a folder's loading before its error)."""
    names = tuple(text.split(","))
    for name in names:
        try:
            degradation_named(name)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
    return names


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    eval_degradations = degradation_names(args.degradations)
    for option, share in (("--soft-reals", args.soft_reals), ("--sharp-fakes", args.sharp_fakes)):
        if not 0.0 <= share <= 1.0:
            raise SystemExit(f"{option} is a share of training views, between 0 and 1; got {share}")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    return TrainConfig(
        name=args.name, reals=args.real, fakes=args.fake, out_dir=args.out, calib_reals=args.calib_real,
        test_reals=args.test_real, sbi_from=tuple(args.sbi), exclude_family=args.exclude_family,
        keep_self_blends=args.keep_self_blends, width=args.width,
        residual_scales=tuple(int(f) for f in args.residual_scales.split(",")),
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, data_seed=args.data_seed,
        weight_average=args.weight_average, soft_reals=args.soft_reals,
        sharp_fakes=args.sharp_fakes,
        device=args.device,
        target_fpr=args.target_fpr, version=args.model_version, crop=args.crop, eval_limit=args.eval_limit,
        eval_degradations=eval_degradations, write_weights=not args.no_weights,
        init_from=args.init_from,
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    cfg = config_from_args(args)
    card = train_detector(cfg)
    if not cfg.write_weights:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{args.name}.report.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def summary(card: dict[str, Any]) -> str:
    clean = card["metrics"]["test_split"]["clean"]["pooled"]
    line = (f"{card['name']}: AUC {clean['auc']:.3f}, TPR {clean['tpr_at_threshold']:.3f} at FPR "
            f"{clean['fpr_at_threshold']:.3f} (threshold {card['calibration']['threshold']:.3f})")
    held = card["metrics"].get("held_out_family")
    if held:
        line += f"; held-out family {held['family']}: AUC {held['clean']['pooled']['auc']:.3f}"
    return line + (f"; weights sha256 {card['weights_sha256'][:16]}" if "weights_sha256" in card else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, version_alias=True)
    card = run(parser.parse_args(argv))
    print(summary(card))
