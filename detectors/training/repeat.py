"""``python -m detectors.training.repeat``: one leave-one-family-out run, repeated over training seeds.

Why: one held-out figure moved by 0.2 between seeds (diffusion left out: 0.743, 0.546 and 0.604), more than
any recipe change we tried. A recipe is judged by the mean and the spread over seeds. All runs share one
data draw (``--data-seed``, default the first seed), so only training varies and every run is scored on the
same images; that also lets the runs' ensemble (the mean of their calibrated log-odds) be scored: is
shipping several members worth their cost?

    python -m detectors.training.repeat --seeds 0,1,2 --name lofo-diffusion --exclude-family diffusion \\
        <the training options of python -m detectors.training> --out DIR

Writes ``DIR/NAME-seedK.report.json`` per run and ``DIR/NAME.repeat.json``, the summary. Each run's
per-image scores are kept in ``--scores-dir``, so a stopped repeat resumes where it was, and runs started
as separate processes (``--seeds 1`` here, ``--seeds 2`` there) are summarised by one more call that names
them all.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from detectors.evaluation.metrics import binary_metrics
from detectors.training.cli import add_arguments, config_from_args
from detectors.training.train import TRAINING_REVISION, HeldOutScores, TrainConfig, reproduce_command, train_detector

DEFAULT_SCORES_DIR = Path("var/lab/repeat-scores")


def log_odds(probabilities: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


def summarise(runs: dict[int, HeldOutScores]) -> dict[str, Any]:
    """Per degradation: each seed's held-out AUC, their mean, spread and range, and the ensemble's AUC; the
    same per folder of held-out fakes (a family often pools generators that differ in how findable they are)."""
    if not runs:
        raise ValueError("no runs to summarise")
    first = next(iter(runs.values()))
    for seed, run in runs.items():
        if run.paths != first.paths:
            raise ValueError(f"seed {seed} was scored on other images than the rest: runs must share --data-seed")
    labels = first.labels
    folders = np.array([Path(p).parent.name for p in first.paths])
    out: dict[str, Any] = {}
    for degradation in first.probabilities:
        per_seed = {seed: binary_metrics(labels, run.probabilities[degradation]) for seed, run in runs.items()}
        aucs = np.array([m.auc for m in per_seed.values()])
        mean_log_odds = np.mean([log_odds(run.probabilities[degradation]) for run in runs.values()], axis=0)
        ensemble = binary_metrics(labels, mean_log_odds)
        per_folder = {}
        for folder in sorted(str(f) for f in set(folders[labels == 1])):
            mask = (labels == 0) | (folders == folder)
            per_folder[folder] = {
                "n_fake": int((folders[labels == 1] == folder).sum()),
                "auc_mean": round(float(np.mean([binary_metrics(labels[mask], run.probabilities[degradation][mask]).auc
                                                 for run in runs.values()])), 4),
                "ensemble_auc": round(binary_metrics(labels[mask], mean_log_odds[mask]).auc, 4)}
        out[degradation] = {
            "n_real": int((labels == 0).sum()), "n_fake": int((labels == 1).sum()),
            "auc_per_seed": {str(seed): round(m.auc, 4) for seed, m in per_seed.items()},
            "auc_mean": round(float(aucs.mean()), 4),
            "auc_sd": round(float(aucs.std(ddof=1)), 4) if len(aucs) > 1 else 0.0,
            "auc_min": round(float(aucs.min()), 4), "auc_max": round(float(aucs.max()), 4),
            "tpr_at_1pct_fpr_mean": round(float(np.mean([m.tpr_at_1pct_fpr for m in per_seed.values()])), 4),
            "ensemble_auc": round(ensemble.auc, 4),
            "ensemble_tpr_at_1pct_fpr": round(ensemble.tpr_at_1pct_fpr, 4),
            "per_fake_folder": per_folder,  # each held-out folder against all the reals
        }
    return out


def save_scores(path: Path, scores: HeldOutScores) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, paths=np.array(scores.paths), labels=scores.labels,
             **{f"p_{name}": values for name, values in scores.probabilities.items()})


def load_scores(path: Path) -> HeldOutScores:
    with np.load(path, allow_pickle=False) as data:
        return HeldOutScores(tuple(str(p) for p in data["paths"]), data["labels"],
                             {key[2:]: data[key] for key in data.files if key.startswith("p_")})


def recipe_key(cfg: TrainConfig) -> str:
    """A short digest of everything that shapes a run except its name and seed: cached scores from another
    recipe or another data draw are never mistaken for this one's. Options at their default are left out, so
    a new option does not orphan the scores of runs made before it existed."""
    defaults = TrainConfig(name="", reals=[], fakes=[], out_dir=Path("."))
    fields = {k: v for k, v in dataclasses.asdict(cfg).items()
              if k not in ("name", "seed", "out_dir", "device") and v != getattr(defaults, k)}
    fields["training_revision"] = TRAINING_REVISION  # a change to how runs train orphans older runs' scores
    return hashlib.sha256(repr(sorted(fields.items())).encode()).hexdigest()[:12]


def repeat(args: argparse.Namespace, seeds: Sequence[int], scores_dir: Path) -> dict[str, Any]:
    if not args.exclude_family:
        raise SystemExit("repeat compares held-out figures: name the family to leave out with --exclude-family")
    data_seed = seeds[0] if args.data_seed is None else args.data_seed
    base = dataclasses.replace(config_from_args(args), data_seed=data_seed, write_weights=False)
    key = recipe_key(base)
    runs: dict[int, HeldOutScores] = {}
    for seed in seeds:
        name = f"{args.name}-seed{seed}"
        cached = scores_dir / f"{args.name}-{key}-seed{seed}.npz"
        if cached.exists():
            print(f"[{name}] scores found in {cached}: not trained again", flush=True)
            runs[seed] = load_scores(cached)
            continue
        cfg = dataclasses.replace(base, name=name, seed=seed)
        collected: list[HeldOutScores] = []
        card = train_detector(cfg, on_held_out=collected.append)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{name}.report.json").write_text(json.dumps(card, indent=2) + "\n")
        save_scores(cached, collected[0])
        runs[seed] = collected[0]
    summary = {"name": args.name, "family": args.exclude_family, "seeds": list(seeds), "data_seed": data_seed,
               "steps": base.steps, "recipe_key": key, "held_out": summarise(runs),
               "ensemble": "mean of the runs' calibrated log-odds, scored on the same images",
               "reproduce": reproduce_command(), "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.repeat.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, version_alias=True)
    parser.add_argument("--seeds", default="0,1,2", help="training seeds, comma-separated")
    parser.add_argument("--scores-dir", type=Path, default=DEFAULT_SCORES_DIR,
                        help="where each run's per-image scores are kept (resuming, ensembling)")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    summary = repeat(args, seeds, args.scores_dir)
    for degradation, row in summary["held_out"].items():
        print(f"{summary['name']} ({summary['family']} left out), {degradation}: AUC mean {row['auc_mean']:.3f} "
              f"sd {row['auc_sd']:.3f} (range {row['auc_min']:.3f}-{row['auc_max']:.3f}) over seeds "
              f"{','.join(row['auc_per_seed'])}; ensemble {row['ensemble_auc']:.3f}")


if __name__ == "__main__":
    main()
