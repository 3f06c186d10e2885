"""``manage.py evaluate_text_detectors`` on small jsonl files: the table, results.json, the ROC picture,
and clear errors for bad input."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

WORDS = ["the", "a", "river", "stone", "market", "window", "garden", "letter", "quiet", "green", "old", "road", "morning", "paper", "light", "table", "voice", "city", "winter", "song", "bread", "friend", "door", "hill", "walked", "said", "found", "under", "over", "because", "although"]


def _texts(n: int, seed: int, words: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, words)).capitalize() + "." for _ in range(n)]


def _jsonl(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    human = _jsonl(tmp_path / "human.jsonl", _texts(6, 1, 70) + _texts(3, 2, 120) + ["Too short to judge."])
    machine = _jsonl(tmp_path / "machine.jsonl", _texts(6, 3, 70) + _texts(3, 4, 120))
    return human, machine


def test_prints_a_table_and_writes_results(files, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    human, machine = files
    out = tmp_path / "out"
    call_command("evaluate_text_detectors", "--human", str(human), "--machine", str(machine),
                 "--detectors", "text-supervised", "--out", str(out))
    captured = capsys.readouterr()
    printed = captured.out
    assert "text-supervised: scored 19/19 texts" in captured.err  # progress
    assert "10 human and 9 machine texts" in printed
    assert "text-supervised" in printed and "AUROC" in printed and "TPR@1%FPR (this data)" in printed
    table = {line.split()[0]: line.split() for line in printed.splitlines() if line.split()[:1] in (["all"], ["<50"])}
    # n, judged human, judged machine, too short
    assert table["all"][1:5] == ["19", "9", "9", "1"] and table["<50"][1:5] == ["1", "0", "0", "1"]
    assert "only 9 human texts: TPR at 1% FPR is TPR at zero false positives" in printed
    report = json.loads((out / "results.json").read_text())
    result = report["detectors"]["text-supervised"]
    assert result["overall"]["n"] == 19 and result["overall"]["too_short"] == 1
    assert set(result["by_length_words"]) == {"<50", "50-100", "100-200"}
    assert 0.0 <= result["overall"]["auc"] <= 1.0 and result["own_threshold"] == result["model"]["threshold"]
    assert result["scores"][9] is None and sum(s is None for s in result["scores"]) == 1
    assert (out / "roc-text-supervised.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_file_is_a_clear_error(files, tmp_path) -> None:  # type: ignore[no-untyped-def]
    human, _ = files
    with pytest.raises(CommandError, match="nowhere.jsonl does not exist"):
        call_command("evaluate_text_detectors", "--human", str(human), "--machine", str(tmp_path / "nowhere.jsonl"),
                     "--detectors", "text-supervised", "--out", str(tmp_path / "out"))


def test_bad_line_points_at_file_and_line(files, tmp_path) -> None:  # type: ignore[no-untyped-def]
    human, _ = files
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "fine"}) + "\n{not json\n")
    with pytest.raises(CommandError, match=r"bad\.jsonl:2: not valid JSON"):
        call_command("evaluate_text_detectors", "--human", str(human), "--machine", str(bad),
                     "--detectors", "text-supervised", "--out", str(tmp_path / "out"))
    bad.write_text(json.dumps({"body": "no text field"}) + "\n")
    with pytest.raises(CommandError, match=r"bad\.jsonl:1: expected a string or an object with a 'text'"):
        call_command("evaluate_text_detectors", "--human", str(human), "--machine", str(bad),
                     "--detectors", "text-supervised", "--out", str(tmp_path / "out"))


def test_empty_file_and_unknown_detector_are_clear_errors(files, tmp_path) -> None:  # type: ignore[no-untyped-def]
    human, machine = files
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(CommandError, match="empty.jsonl has no texts"):
        call_command("evaluate_text_detectors", "--human", str(empty), "--machine", str(machine),
                     "--detectors", "text-supervised", "--out", str(tmp_path / "out"))
    with pytest.raises(CommandError, match="unknown text detector"):
        call_command("evaluate_text_detectors", "--human", str(human), "--machine", str(machine),
                     "--detectors", "no-such-detector", "--out", str(tmp_path / "out"))
    with pytest.raises(CommandError, match="cannot score raw texts"):
        call_command("evaluate_text_detectors", "--human", str(human), "--machine", str(machine),
                     "--detectors", "text-greenlist-watermark", "--out", str(tmp_path / "out"))
