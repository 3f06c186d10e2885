"""The text-detector evaluation (no Django): which detectors it asks, length buckets, the export of a split."""
from __future__ import annotations

import pytest

from detectors.base import MediaType
from detectors.registry import detectors_for
from detectors.text.__main__ import main
from detectors.text.data import HUMAN, MACHINE, SHARED_TEXT_DIR, read_jsonl_texts
from detectors.text.evaluate import length_bucket, text_scorers


def test_default_scorers_are_text_detectors_that_score_raw_text() -> None:
    scorers = text_scorers()
    assert "text-supervised" in scorers and "text-greenlist-watermark" in detectors_for(MediaType.TEXT)
    assert "text-greenlist-watermark" not in scorers  # needs a key; a different question
    assert all(callable(getattr(d, "score_texts", None)) for d in scorers.values())


def test_named_detector_that_cannot_score_text_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot score raw texts"):
        text_scorers(["text-greenlist-watermark"])


@pytest.mark.parametrize("words, bucket", [(0, "<50"), (49, "<50"), (50, "50-100"), (199, "100-200"), (200, ">200")])
def test_length_buckets(words: int, bucket: str) -> None:
    assert length_bucket(words) == bucket


@pytest.mark.skipif(not SHARED_TEXT_DIR.is_dir(), reason=f"text corpus not available at {SHARED_TEXT_DIR}")
def test_export_jsonl_writes_a_split_the_evaluation_reads(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["export-jsonl", "--split", "test", "--out", str(tmp_path)]) == 0
    human = list(read_jsonl_texts(tmp_path / "human.jsonl", HUMAN))
    machine = list(read_jsonl_texts(tmp_path / "machine.jsonl", MACHINE))
    assert len(human) > 100 and len(machine) > 100
    assert f"human.jsonl: {len(human)} texts" in capsys.readouterr().out
