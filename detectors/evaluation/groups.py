"""False positives on real faces the model never trained on, by demographic group.

Users report detectors that flag ordinary photos as AI; the rate should be
measured on real images from another source, and broken down by group so a
platform can see whether one group of people is flagged more often.
UTKFace file names carry the labels: ``{age}_{gender}_{race}_{datetime}.jpg.chip.jpg``.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from detectors.training.data import Sample, image_files, load_views, split_of

GENDERS = {"0": "male", "1": "female"}
RACES = {"0": "White", "1": "Black", "2": "Asian", "3": "Indian", "4": "Others"}
AGE_BANDS = ((0, 17, "0-17"), (18, 39, "18-39"), (40, 64, "40-64"), (65, 200, "65+"))


def utkface_groups(name: str) -> dict[str, str] | None:
    """Groups from a UTKFace file name, or None when a field is missing."""
    parts = name.split("_")
    if len(parts) < 4 or not parts[0].isdigit() or parts[1] not in GENDERS or parts[2] not in RACES:
        return None
    age = int(parts[0])
    band = next(label for lo, hi, label in AGE_BANDS if lo <= age <= hi)
    return {"gender": GENDERS[parts[1]], "ethnicity": RACES[parts[2]], "age": band}


def fpr_by_group(model: Any, folder: Path, crop: str, limit: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Share of real UTKFace photos flagged at the model's stored threshold, overall and per group.

    Photos in UTKFace's training bucket of the shared hash split are left out:
    the shipped models train on part of it, and a false-positive rate is only
    worth quoting on photos the model never saw.
    """
    files = [p for p in image_files(folder) if split_of(Sample(p, 0, "real", f"id:{p.stem}")) != "train"]
    rng = np.random.default_rng(seed)
    if limit < len(files):
        files = [files[i] for i in sorted(rng.choice(len(files), size=limit, replace=False))]
    labelled = [(p, g) for p in files if (g := utkface_groups(p.name)) is not None]
    samples = [Sample(p, 0, "real-utkface", f"id:{p.stem}") for p, _ in labelled]
    groups_of = {p: g for p, g in labelled}
    kept, images, dropped = load_views(samples, crop)
    flagged = np.array(model.scores(images)) >= model.calibration.threshold
    tallies: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for sample, hit in zip(kept, flagged):
        for kind, group in groups_of[sample.path].items():
            tallies[kind][group].append(bool(hit))
    return {
        "images": len(kept), "dropped_without_face": dropped, "threshold": model.calibration.threshold,
        "excluded": "photos in the training bucket of the hash split (split_of)",
        "fpr": round(float(flagged.mean()), 4) if len(flagged) else None,
        "by_group": {kind: {g: {"n": len(v), "fpr": round(float(np.mean(v)), 4)} for g, v in sorted(groups.items())}
                     for kind, groups in tallies.items()},
    }
