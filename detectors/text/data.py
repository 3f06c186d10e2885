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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

REPO = Path(__file__).resolve().parents[2]
# Read in place, never copied into the repository (see ../shared/README.md).
SHARED_TEXT_DIR = REPO.parent / "shared" / "datasets" / "human-vs-llm-text"
SHARED_CHAT_DIR = REPO.parent / "shared" / "datasets" / "m4-llama2-chat"

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
    domain: str = ""  # e.g. "squad", "writing", "arxiv": for leave-one-domain-out
    generator: str = ""  # the LLM behind a machine text ("" for human texts)


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
            domain, generator = path.stem.split("_", 1)
            if not dedupe or human not in seen_human:
                seen_human.add(human)
                out.append(LabelledText(human, HUMAN, path.name, group, domain))
            out.append(LabelledText(machine, MACHINE, path.name, group, domain, generator))
    return out


def shared_opening(a: str, b: str) -> int:
    """Characters of the common opening of two texts, cut back to a word boundary.

    Machine texts of the shared corpus continue the first ~30 tokens of their
    human twin; that opening is human-written on both sides, so a detector
    trained or judged on it learns nothing true about either class.
    """
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    if n < min(len(a), len(b)):
        while n > 0 and not a[n - 1].isspace():
            n -= 1
    return n


def without_shared_openings(texts: list[LabelledText]) -> list[LabelledText]:
    """The corpus with each pair's shared opening removed from both the human and the machine text."""
    human_by_group = {t.group: t.text for t in texts if t.label == HUMAN}
    cut: dict[str, int] = {}
    out: list[LabelledText] = []
    for t in texts:
        if t.label == MACHINE and t.group in human_by_group:
            n = shared_opening(human_by_group[t.group], t.text)
            cut[t.group] = max(cut.get(t.group, 0), n)
            out.append(replace(t, text=t.text[n:].lstrip()))
        else:
            out.append(t)
    return [replace(t, text=t.text[cut.get(t.group, 0):].lstrip()) if t.label == HUMAN else t for t in out]


def load_chat_corpus(root: Path = SHARED_CHAT_DIR) -> list[LabelledText]:
    """The M4 Llama-2-70B-chat corpus: one human and one machine text per record, four domains.

    The machine text answers a prompt instead of continuing the human text,
    so the pair shares no opening; each record is its own split group.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is missing: the m4-llama2-chat corpus lies in ../shared/datasets "
                                "beside the checkout")
    out: list[LabelledText] = []
    for path in sorted(root.glob("*.jsonl")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            record = json.loads(line)
            group = f"m4:{path.stem}:{number}"
            generator = str(record.get("model") or "llama-2-70b-chat")
            out.append(LabelledText(record["human_text"], HUMAN, path.name, group, path.stem))
            out.append(LabelledText(record["machine_text"], MACHINE, path.name, group, path.stem, generator))
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
                raise ValueError(  # noqa: TRY004 - bad file content, reported like the other parse errors
                    f"{path}:{number}: expected a string or an object with a {field!r} string field")
            yield LabelledText(text, label, path.name, group=f"{path.name}:{number}")
