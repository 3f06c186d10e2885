"""``python -m detectors.evaluation`` / ``manage.py evaluate_detectors``.

Questions about a shipped model, each scored through the service's own path (native tiles,
``CalibratedImageModel`` / ``detectors.tiles.tiled_logits``) at the model card's threshold:
- How does it do on *your* data?                      --real DIR --fake DIR
- How does it do per generator and per degradation?   --real DIR --lab DIR (fakes in DIR/<generator>/)
- Whom does it flag wrongly?                           --utkface DIR (false positives by age, gender, ethnicity)

Prints a table, and writes ``report.json`` and ``roc.png`` (``fairness.json`` with --utkface) to --out.

Whether a detector finds generators it never saw is a training question: leave one family out with
``python -m detectors.training ... --exclude-family FAMILY --no-weights`` (scripts/build_default_models.sh).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from detectors.evaluation.plots import roc_png
from detectors.evaluation.scoring import measure
from detectors.synthetic_image import DEFAULT_MODELS_DIR, CalibratedImageModel
from detectors.training.cli import degradation_names
from detectors.training.data import list_fakes, list_reals, load_views, split
from detectors.training.degradations import EVALUATION_DEGRADATIONS

MODELS = {"synthetic-image": "none", "face-synthetic": "faces"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=sorted(MODELS), default="synthetic-image")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--real", type=Path, help="folder of real images")
    parser.add_argument("--fake", type=Path, help="folder of synthetic images (with --real)")
    parser.add_argument("--lab", type=Path, help="folder with one sub-folder of fakes per generator")
    parser.add_argument("--identity-file", type=Path)
    parser.add_argument("--limit", type=int, default=400, help="at most this many images per class/generator")
    parser.add_argument("--held-out-only", action="store_true",
                        help="with --lab: use only the test split (what the model never trained on)")
    parser.add_argument("--utkface", type=Path, help="folder of UTKFace photos: false positives by age, gender, ethnicity")
    parser.add_argument("--logo", action="store_true", help=argparse.SUPPRESS)  # removed: see LOGO_MOVED
    parser.add_argument("--degradations", default=",".join(EVALUATION_DEGRADATIONS))
    parser.add_argument("--out", type=Path, default=Path("var/evaluation"))
    parser.add_argument("--seed", type=int, default=0)


LOGO_MOVED = ("--logo was removed: leave-one-family-out is now part of training. Run\n"
              "  python -m detectors.training --name lofo-FAMILY --real ... --fake FAMILY=DIR ... "
              "--exclude-family FAMILY --no-weights --out DIR\n"
              "(one run per family; see scripts/build_default_models.sh). Its report's metrics.held_out_family "
              "says how well the model finds the family it never trained on.")


def evaluate_model(args: argparse.Namespace) -> dict[str, Any]:
    degradations = list(degradation_names(args.degradations))
    crop = MODELS[args.model]
    model = CalibratedImageModel(args.models_dir / f"{args.model}.safetensors")
    if args.real and args.fake:
        samples = (list_reals(args.real, args.limit, args.seed, args.identity_file, family=args.real.name)
                   + list_fakes(args.fake, "external", args.limit))
    elif args.real and args.lab:
        samples = list_reals(args.real, args.limit, args.seed, args.identity_file, family=args.real.name)
        for folder in sorted(p for p in args.lab.iterdir() if p.is_dir()):
            samples += list_fakes(folder, folder.name, args.limit)
    else:
        raise SystemExit("give --real with --fake DIR, or --real with --lab DIR")
    if args.held_out_only:
        samples = split(samples)["test"]
    samples, images, dropped = load_views(samples, crop)
    probabilities: dict[str, np.ndarray] = {}
    measured = measure(model.model, model.calibration, samples, images, degradations, device=model.device,
                       tile=model.tile, max_tiles=model.max_tiles, probabilities=probabilities)
    report: dict[str, Any] = {
        "model": args.model, "weights_sha256": model.card["weights_sha256"], "threshold": model.calibration.threshold,
        "tiling": {"tile": model.tile, "max_tiles": model.max_tiles}, "dropped_without_face": dropped,
        "per_degradation": {name: m["pooled"] for name, m in measured.items()},
        "per_generator": measured.get("clean", {}).get("per_family", {}),
        "fpr_per_real_source": {name: m["fpr_per_real_source"] for name, m in measured.items()},
    }
    curves = []
    if "clean" in measured:
        labels = np.array([s.label for s in samples])
        families = np.array([s.family for s in samples])
        probs = probabilities["clean"]
        for family in sorted(set(families[labels == 1])):
            mask = (labels == 0) | (families == family)
            curves.append((family, labels[mask], probs[mask]))
    report["roc_png"] = curves
    return report


def print_table(title: str, rows: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"{'':14} {'AUC':>6} {'AP':>6} {'EER':>6} {'TPR@1%FPR':>10} {'n real':>7} {'n fake':>7}")
    for name, m in rows.items():
        print(f"{name:14} {m['auc']:6.3f} {m['average_precision']:6.3f} {m['eer']:6.3f} "
              f"{m['tpr_at_1pct_fpr']:10.3f} {m['n_real']:7d} {m['n_fake']:7d}")


def run_fairness(args: argparse.Namespace) -> dict[str, Any]:
    from detectors.evaluation.groups import fpr_by_group

    model = CalibratedImageModel(args.models_dir / f"{args.model}.safetensors")
    report = {"model": args.model, "weights_sha256": model.card["weights_sha256"],
              **fpr_by_group(model, args.utkface, MODELS[args.model], args.limit, args.seed)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fairness.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nFalse-positive rate on {report['images']} real UTKFace photos at threshold "
          f"{report['threshold']:.3f}: {report['fpr']}")
    for kind, groups in report["by_group"].items():
        print(f"  {kind:10} " + "  ".join(f"{g} {v['fpr']:.3f} (n={v['n']})" for g, v in groups.items()))
    print(f"\nwrote {args.out / 'fairness.json'}")
    return report


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.logo:
        raise SystemExit(LOGO_MOVED)
    if args.utkface:
        return run_fairness(args)
    args.out.mkdir(parents=True, exist_ok=True)
    report = evaluate_model(args)
    curves = report.pop("roc_png")
    (args.out / "roc.png").write_bytes(roc_png(curves, title=f"{args.model}: ROC"))
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if report["per_generator"]:
        print_table("Per generator (clean)", report["per_generator"])
    print_table("Per degradation (all generators)", report["per_degradation"])
    print(f"\nwrote {args.out / 'report.json'} and {args.out / 'roc.png'}")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    run(parser.parse_args(argv))
