"""Command line for the adversary lab (later wrapped by Django management commands).

    python -m detectors.generators train gan --real-dir DIR --out-dir OUT [--device cuda] [--set image_size=64]
    python -m detectors.generators sample gan --checkpoint OUT/gan.safetensors --n 64 --seed 1 --out-dir FAKES
    python -m detectors.generators sample diffusion --checkpoint C --n 16 --sampler ddim --sample-steps 50 ...
    python -m detectors.generators sample faceswap --checkpoint C --n 16 --targets-dir DIR ...
    python -m detectors.generators swap --checkpoint C --input frame.jpg --output swapped.png
    python -m detectors.generators aligned decoder --real-dir DIR --n 500 --seed 0 --out-dir OUT [--max-side 256]

Config fields are set with ``--config file.json`` and/or repeated ``--set key=value``
(value parsed as JSON when possible, e.g. ``--set channel_mults=[1,2,2]``).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from detectors.generators.aligned import DENOISER_STRENGTHS
from detectors.generators.aligned import FAMILIES as ALIGNED_FAMILIES
from detectors.generators.common import apply_overrides
from detectors.generators.data import DEFAULT_REAL_DIR

FAMILIES = ("gan", "diffusion", "faceswap")


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if args.config:
        values.update(json.loads(Path(args.config).read_text()))
    for item in args.set or []:
        if "=" not in item:
            raise SystemExit(f"--set expects key=value, got {item!r}")
        key, raw = item.split("=", 1)
        values[key.strip()] = _parse_value(raw.strip())
    for key in ("steps", "seed", "count", "image_size", "batch_size"):
        value = getattr(args, key, None)
        if value is not None:
            values[key] = value
    return values


def _train(args: argparse.Namespace) -> dict[str, Any]:
    if args.family == "gan":
        from detectors.generators.gan import GANConfig as Cfg
        from detectors.generators.gan import train_gan as train
    elif args.family == "diffusion":
        from detectors.generators.diffusion import DiffusionConfig as Cfg  # type: ignore[assignment]
        from detectors.generators.diffusion import train_diffusion as train  # type: ignore[assignment]
    else:
        from detectors.generators.faceswap import FaceSwapConfig as Cfg  # type: ignore[assignment]
        from detectors.generators.faceswap import train_faceswap as train  # type: ignore[assignment]
    overrides = _overrides(args)
    if args.family == "faceswap" and "image_size" in overrides:
        overrides["crop_size"] = overrides.pop("image_size")
    cfg = apply_overrides(Cfg(), overrides)
    started = time.time()
    kwargs: dict[str, Any] = {}
    if args.family == "faceswap":
        kwargs = {"a_dir": args.a_dir, "b_dir": args.b_dir}
    ckpt = train(cfg, args.real_dir, args.out_dir, device=args.device, **kwargs)
    return {"checkpoint": str(ckpt), "seconds": round(time.time() - started, 1)}


def _sample(args: argparse.Namespace) -> dict[str, Any]:
    started = time.time()
    if args.family == "gan":
        from detectors.generators.gan import sample_gan

        paths = sample_gan(args.checkpoint, args.n, args.seed, args.out_dir, device=args.device)
    elif args.family == "diffusion":
        from detectors.generators.diffusion import sample_diffusion

        paths = sample_diffusion(
            args.checkpoint, args.n, args.seed, args.out_dir, device=args.device,
            sampler=args.sampler, sample_steps=args.sample_steps, eta=args.eta,
            dynamic_threshold=args.dynamic_threshold or None,
        )
    else:
        from detectors.generators.faceswap import sample_faceswap

        paths = sample_faceswap(
            args.checkpoint, args.n, args.seed, args.out_dir, device=args.device,
            targets_dir=args.targets_dir, target_identity=args.target_identity,
        )
    return {"count": len(paths), "out_dir": str(args.out_dir), "seconds": round(time.time() - started, 1)}


def _swap(args: argparse.Namespace) -> dict[str, Any]:
    from detectors.generators.faceswap import load_faceswap, swap_image

    model = load_faceswap(args.checkpoint, device=args.device)
    result = swap_image(model, args.input, target_identity=args.target_identity)
    if result.ok:
        from PIL import Image

        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(result.image).save(args.output)
    return {"status": result.status, "reason": result.reason, "output": str(args.output) if result.ok else None}


def _aligned(args: argparse.Namespace) -> dict[str, Any]:
    """Aligned fakes: reconstructions of the first ``--n`` files of the seeded shuffle of ``--real-dir``.

    faceswap skips files without a usable face, so it walks further down the
    shuffled list until it has ``--n`` swaps (or the folder runs out).
    """
    import random

    from detectors.generators.aligned import make_aligned
    from detectors.generators.data import list_images

    started = time.time()
    files = list_images(args.real_dir)
    random.Random(args.seed).shuffle(files)
    if args.family == "faceswap":
        chosen, limit = files, args.n
    else:
        chosen, limit = (files[: args.n] if args.n else files), None
    kwargs: dict[str, Any] = {}
    if args.weights_dir:
        kwargs["weights_dir"] = args.weights_dir
    if args.checkpoint:
        kwargs["checkpoint"] = args.checkpoint
    if args.family == "denoiser":
        kwargs["denoiser_strength"] = args.strength
    paths = make_aligned(args.family, chosen, Path(args.out_dir), seed=args.seed, device=args.device,
                         max_side=args.max_side or (128 if args.family == "diffusion" else 256), max_outputs=limit, real_dir=args.real_dir, **kwargs)
    return {"count": len(paths), "out_dir": str(args.out_dir), "seconds": round(time.time() - started, 1)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m detectors.generators", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a generator and write a safetensors checkpoint")
    train.add_argument("family", choices=FAMILIES)
    train.add_argument("--real-dir", default=str(DEFAULT_REAL_DIR), help="folder of real face images")
    train.add_argument("--out-dir", required=True)
    train.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    train.add_argument("--config", help="JSON file of config fields")
    train.add_argument("--set", action="append", metavar="KEY=VALUE", help="override one config field")
    train.add_argument("--steps", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument("--count", type=int, help="how many real images to use")
    train.add_argument("--image-size", type=int, help="resolution (crop size for faceswap)")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--a-dir", help="faceswap: folder of identity A faces (else picked from identity.txt)")
    train.add_argument("--b-dir", help="faceswap: folder of identity B faces")

    sample = sub.add_parser("sample", help="generate fakes (PNG + manifest.json)")
    sample.add_argument("family", choices=FAMILIES)
    sample.add_argument("--checkpoint", required=True)
    sample.add_argument("--n", type=int, default=64)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out-dir", required=True)
    sample.add_argument("--device", default="cpu")
    sample.add_argument("--sampler", choices=("ddpm", "ddim"), default="ddim", help="diffusion only")
    sample.add_argument("--sample-steps", type=int, default=50, help="diffusion DDIM steps")
    sample.add_argument("--eta", type=float, default=0.0, help="diffusion DDIM eta")
    sample.add_argument("--dynamic-threshold", type=float, default=0.995,
                        help="diffusion: x0 quantile for dynamic thresholding; 0 = static clipping")
    sample.add_argument("--targets-dir", help="faceswap: frames to swap into (default: training real dir)")
    sample.add_argument("--target-identity", choices=("a", "b"), default="a",
                        help="faceswap: whose face to render into the frames")

    swap = sub.add_parser("swap", help="face-swap one image")
    swap.add_argument("--checkpoint", required=True)
    swap.add_argument("--input", required=True)
    swap.add_argument("--output", required=True)
    swap.add_argument("--device", default="cpu")
    swap.add_argument("--target-identity", choices=("a", "b"), default="a")
    aligned = sub.add_parser("aligned", help="aligned fakes: reconstruct real photos at native resolution")
    aligned.add_argument("family", choices=ALIGNED_FAMILIES)
    aligned.add_argument("--real-dir", required=True)
    aligned.add_argument("--n", type=int, help="how many real files (faceswap: how many swaps); default all")
    aligned.add_argument("--seed", type=int, default=0)
    aligned.add_argument("--out-dir", required=True)
    aligned.add_argument("--max-side", type=int,
                         help="centre-crop sides above this, never resize (default 256; diffusion 128, whose "
                              "self-attention at 256 px costs ~14 s per image on one CPU thread)")
    aligned.add_argument("--device", default="cpu")
    aligned.add_argument("--weights-dir",
                         help="decoder/denoiser: cached network folder (default: the shipped weights folder)")
    aligned.add_argument("--checkpoint", help="diffusion/faceswap: model file (default: shipped checkpoint)")
    aligned.add_argument("--strength", choices=sorted(DENOISER_STRENGTHS), default="light",
                         help="denoiser: light (camera noise replaced) or heavy (a photo painted back from strong "
                              "noise); each has its own weights folder")
    for sp in (train, sample, swap, aligned):
        sp.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)  # on a shared CPU, oversubscription costs more than it gives
    handler = {"train": _train, "sample": _sample, "swap": _swap, "aligned": _aligned}[args.command]
    result = handler(args)
    print(json.dumps(result, indent=2))
    return 0 if result.get("status", "ok") in ("ok",) else 2


if __name__ == "__main__":
    sys.exit(main())
