"""``python -m detectors.evaluation`` / ``manage.py evaluate_detectors``.

Three questions, one command:
- How does a shipped model do on *your* data?      --real DIR --fake DIR
- How does it do per generator and per degradation? --lab DIR (fakes in DIR/<generator>/)
- Does it generalise to generators it never saw?    --lab DIR --logo  (leave one generator out)

Prints a table, and writes ``report.json`` and ``roc.png`` to --out.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from detectors.evaluation.metrics import binary_metrics
from detectors.evaluation.plots import roc_png
from detectors.evaluation.scoring import logits_for
from detectors.synthetic_image import DEFAULT_MODELS_DIR, CalibratedImageModel
from detectors.training.data import ImageDataset, list_fakes, list_reals, load_views, split
from detectors.training.degradations import EVALUATION_DEGRADATIONS
from detectors.training.train import TrainConfig, train_detector

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
    parser.add_argument("--logo", action="store_true", help="leave-one-generator-out: retrain without each generator")
    parser.add_argument("--logo-epochs", type=int, default=2)
    parser.add_argument("--degradations", default=",".join(EVALUATION_DEGRADATIONS))
    parser.add_argument("--out", type=Path, default=Path("var/evaluation"))
    parser.add_argument("--seed", type=int, default=0)


def _scores(model: CalibratedImageModel, samples, images, degradation) -> np.ndarray:  # type: ignore[no-untyped-def]
    dataset = ImageDataset(samples, model.config.image_size, degradation=EVALUATION_DEGRADATIONS[degradation],
                           images=images)
    return model.calibration.probability(logits_for(model.model, dataset, model.device))


def evaluate_model(args: argparse.Namespace) -> dict[str, Any]:
    crop = MODELS[args.model]
    model = CalibratedImageModel(args.models_dir / f"{args.model}.safetensors")
    if args.real and args.fake:
        samples = list_reals(args.real, args.limit, args.seed) + list_fakes(args.fake, "external", args.limit)
    elif args.real and args.lab:
        samples = list_reals(args.real, args.limit, args.seed, args.identity_file)
        for folder in sorted(p for p in args.lab.iterdir() if p.is_dir()):
            samples += list_fakes(folder, folder.name, args.limit)
    else:
        raise SystemExit("give --real with --fake DIR, or --real with --lab DIR")
    if args.held_out_only:
        samples = split(samples)["test"]
    samples, images, dropped = load_views(samples, crop)
    labels = np.array([s.label for s in samples])
    sources = np.array([s.source for s in samples])
    report: dict[str, Any] = {"model": args.model, "weights_sha256": model.card["weights_sha256"],
                              "threshold": model.calibration.threshold, "dropped_without_face": dropped,
                              "per_degradation": {}, "per_generator": {}}
    curves = []
    for name in args.degradations.split(","):
        probs = _scores(model, samples, images, name)
        m = binary_metrics(labels, probs).to_dict()
        m["fpr_at_threshold"] = round(float((probs[labels == 0] >= model.calibration.threshold).mean()), 4)
        m["tpr_at_threshold"] = round(float((probs[labels == 1] >= model.calibration.threshold).mean()), 4)
        report["per_degradation"][name] = m
        if name == "clean":
            for source in sorted(set(sources) - {"real"}):
                mask = (sources == "real") | (sources == source)
                report["per_generator"][source] = binary_metrics(labels[mask], probs[mask]).to_dict()
                curves.append((source, labels[mask], probs[mask]))
    report["roc_png"] = curves
    return report


def leave_one_generator_out(args: argparse.Namespace) -> dict[str, Any]:
    generators = sorted(p.name for p in args.lab.iterdir() if p.is_dir())
    if len(generators) < 2:
        raise SystemExit("leave-one-generator-out needs at least two generator folders in --lab")
    base = TrainConfig(name="logo", real_dir=args.real, fake_dirs={}, out_dir=args.out / "logo",
                       identity_file=args.identity_file, epochs=args.logo_epochs, max_real=args.limit * 2,
                       max_fake_per_generator=args.limit, seed=args.seed, crop=MODELS[args.model],
                       eval_degradations=("clean",))
    results: dict[str, Any] = {}
    curves = []
    for held_out in generators:
        cfg = replace(base, name=f"logo-without-{held_out}",
                      fake_dirs={g: args.lab / g for g in generators if g != held_out})
        card = train_detector(cfg)
        model = CalibratedImageModel(cfg.out_dir / f"{cfg.name}.safetensors")
        reals = split(list_reals(args.real, args.limit * 2, args.seed, args.identity_file))["test"]
        unseen = list_fakes(args.lab / held_out, held_out, args.limit)
        samples, images, _ = load_views(reals + unseen, cfg.crop)
        labels = np.array([s.label for s in samples])
        probs = _scores(model, samples, images, "clean")
        m = binary_metrics(labels, probs).to_dict()
        m["tpr_at_threshold"] = round(float((probs[labels == 1] >= model.calibration.threshold).mean()), 4)
        m["seen_generators_test_auc"] = card["metrics_test_split"]["per_degradation"]["clean"]["auc"]
        results[held_out] = m
        curves.append((f"unseen {held_out}", labels, probs))
    return {"leave_one_generator_out": results, "roc_png": curves}


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
    if args.utkface:
        return run_fairness(args)
    args.out.mkdir(parents=True, exist_ok=True)
    report = leave_one_generator_out(args) if args.logo else evaluate_model(args)
    curves = report.pop("roc_png")
    (args.out / "roc.png").write_bytes(roc_png(curves, title=f"{args.model}: ROC"))
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if args.logo:
        print_table("Leave one generator out (trained without it, tested on it)", report["leave_one_generator_out"])
    else:
        print_table("Per generator (clean)", report["per_generator"])
        print_table("Per degradation (all generators)", report["per_degradation"])
    print(f"\nwrote {args.out / 'report.json'} and {args.out / 'roc.png'}")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    run(parser.parse_args(argv))
