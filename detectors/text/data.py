"""Human vs machine text: the shared corpus, splits, and jsonl files.

The shared corpus pairs each human text with machine continuations that
start from the same ~30-token prefix, and the same human text appears in
several model files. A split by *pair* would leak a human text (and the
prefix its machine twin copies) into both sides, so we split by a key
derived from the human text's opening, which the pair shares.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Literal

REPO = Path(__file__).resolve().parents[2]
# Read in place, never copied into the repository (see ../shared/README.md).
SHARED_TEXT_DIR = REPO.parent / "shared" / "datasets" / "human-vs-llm-text"

Split = Literal["train", "calib", "test"]
# Fractions of prefix groups per split; the one place they are defined.
SPLIT_FRACTIONS: tuple[tuple[Split, float], ...] = (("train", 0.6), ("calib", 0.2), ("test", 0.2))
HUMAN, MACHINE = 0, 1


@dataclass(frozen=True)
class LabelledText:
    """One text with its label (HUMAN or MACHINE) and where it came from."""

    text: str
    label: int
    source: str  # e.g. "squad_gpt2-xl.json" or the jsonl file name
    group: str  # texts sharing a group must never straddle a split


def group_key(human_text: str, chars: int = 120) -> str:
    """A stable key for a human text and the machine texts that copy its prefix."""
    opening = " ".join(human_text.split())[:chars].lower()
    return hashlib.sha256(opening.encode("utf-8")).hexdigest()[:16]


def split_of(group: str, seed: str = "text-split-v1") -> Split:
    """Deterministic split of a group: the same on every machine and run."""
    h = int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    edge = 0.0
    for name, fraction in SPLIT_FRACTIONS:
        edge += fraction
        if h < edge:
            return name
    return SPLIT_FRACTIONS[-1][0]


def load_shared_corpus(root: Path = SHARED_TEXT_DIR, dedupe: bool = True) -> list[LabelledText]:
    """Every human and machine text of the shared corpus, humans de-duplicated across files."""
    if not root.is_dir():
        raise FileNotFoundError(
            f"{root} is missing: the human-vs-llm-text corpus lies in ../shared/datasets beside the checkout; "
            "pass your own jsonl files to the evaluation command instead"
        )
    out: list[LabelledText] = []
    seen_human: set[str] = set()
    for path in sorted(root.glob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        for human, machine in zip(data["original"], data["sampled"]):
            group = group_key(human)
            if not dedupe or human not in seen_human:
                seen_human.add(human)
                out.append(LabelledText(human, HUMAN, path.name, group))
            out.append(LabelledText(machine, MACHINE, path.name, group))
    return out


def split_corpus(texts: Iterable[LabelledText], split: Split) -> list[LabelledText]:
    return [t for t in texts if split_of(t.group) == split]


def read_jsonl_texts(path: Path, label: int, field: str = "text") -> Iterator[LabelledText]:
    """Texts from a jsonl file (one object per line with a ``text`` field) or a plain list of strings.

    Lines that are bare JSON strings are accepted too, so a quick
    ``jq -c .text`` dump works without reshaping.
    """
    with path.open("r", encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg}); expected one object per line") from None
            text = value if isinstance(value, str) else value.get(field) if isinstance(value, dict) else None
            if not isinstance(text, str):
                raise ValueError(f"{path}:{number}: expected a string or an object with a {field!r} string field")
            yield LabelledText(text, label, path.name, group=f"{path.name}:{number}")
