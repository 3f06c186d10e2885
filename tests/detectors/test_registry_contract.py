"""One contract test over the whole registry (timm's idea): every registered detector, built the way the
pipeline builds it, given two inputs of each media type it claims, returns one well-formed Finding per input,
in order, under its own name; and the contract check refuses a detector that breaks it."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from detectors.base import (
    Detector,
    DetectorContractError,
    Finding,
    FindingLabel,
    MediaInput,
    MediaType,
    checked_predict,
)
from detectors.registry import add_detector_modules, create_detector, registered_names
from tests.conftest import TEST_PLUGINS
from tests.support.media import jpeg_bytes, mp4_bytes, textured_image

MODELS = Path(__file__).resolve().parents[2] / "detectors" / "weights"
TEXT = ("The committee met on Tuesday to review the budget for the coming year. Members raised concerns "
        "about the cost of repairs to the old library, and the chair promised a full report before the next "
        "meeting. Several residents spoke in favour of extending the opening hours on weekends, while others "
        "asked for more money to go to the youth centre. The vote was postponed until the figures are ready.")

add_detector_modules(TEST_PLUGINS)


def inputs(media_type: MediaType, folder: Path) -> list[MediaInput]:
    """Two different inputs of one media type, as files (and text inline), like the pipeline hands them over."""
    if media_type is MediaType.IMAGE:
        small, large = folder / "small.jpg", folder / "large.png"
        small.write_bytes(jpeg_bytes(seed=3))
        textured_image(seed=4, size=320).save(large)
        return [MediaInput(MediaType.IMAGE, path=small), MediaInput(MediaType.IMAGE, path=large)]
    if media_type is MediaType.VIDEO:
        clip = folder / "clip.mp4"
        clip.write_bytes(mp4_bytes())
        return [MediaInput(MediaType.VIDEO, path=clip), MediaInput(MediaType.VIDEO, path=clip)]
    return [MediaInput(MediaType.TEXT, text=TEXT), MediaInput(MediaType.TEXT, text=TEXT.upper())]


@pytest.mark.parametrize("name", registered_names())
def test_every_registered_detector_keeps_the_contract(name: str, tmp_path: Path) -> None:
    detector = create_detector(name, models_dir=MODELS, device="cpu")
    assert detector.media_types, f"{name} claims no media type"
    assert detector.model_info()["name"] == name
    for media_type in sorted(detector.media_types, key=lambda t: t.value):
        batch = inputs(media_type, tmp_path)
        findings = checked_predict(detector, batch)  # raises with the reason if the contract is broken
        for finding in findings:
            assert isinstance(finding.version, str) and finding.version  # the code or the weights version
            assert finding.label in FindingLabel
            if finding.label is FindingLabel.NOT_APPLICABLE:
                assert finding.score is None and finding.reason, f"{name}: say why it cannot judge"
            json.dumps(finding.to_dict())  # evidence must be storable as JSON
            assert all(png.startswith(b"\x89PNG") for png in finding.artifacts.values())


class _Broken(Detector):
    name, version, media_types = "broken", "1", frozenset({MediaType.IMAGE})

    def __init__(self, reply) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.reply = reply

    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        return self.reply(batch)


@pytest.mark.parametrize(("reply", "message"), [
    (lambda batch: [], "returned 0 findings for 1 inputs"),
    (lambda batch: [Finding("other", "1", FindingLabel.AUTHENTIC, score=0.1)], "finding named 'other'"),
    (lambda batch: [Finding("broken", "1", FindingLabel.SYNTHETIC)], "has no score"),
    (lambda batch: [Finding("broken", "1", FindingLabel.SYNTHETIC, score=0.9, threshold=7.0)], "outside [0, 1]"),
    (lambda batch: ["synthetic"], "returned a str"),
])
def test_a_detector_that_breaks_the_contract_is_refused_with_the_reason(reply, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DetectorContractError, match=message.replace("[", r"\[")):
        checked_predict(_Broken(reply), [MediaInput(MediaType.IMAGE, path=Path("x.png"))])
