"""The detector contract that the analysis pipeline relies on.

A detector is a small class with a name, a version, the media types it
accepts and ``predict(batch) -> list[Finding]``. Keeping this contract tiny
is what lets the pipeline stay ignorant of model internals.
"""
from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar


class MediaType(str, enum.Enum):
    """The kinds of media the service analyses; the one list of them."""

    IMAGE = "image"
    VIDEO = "video"
    TEXT = "text"


class FindingLabel(str, enum.Enum):
    """What one detector concluded about one item."""

    SYNTHETIC = "synthetic"
    AUTHENTIC = "authentic"
    # The detector could not judge this item (no face, text too short, ...):
    # reported with a reason instead of a misleading low score.
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class MediaInput:
    """One item handed to a detector: a file on disk, or text in memory."""

    media_type: MediaType
    path: Path | None = None
    text: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def read_text(self) -> str:
        """A text item's text: given inline, or read from its file (undecodable bytes replaced); "" if neither."""
        if self.text is not None:
            return self.text
        if self.path is not None:
            return Path(self.path).read_text(encoding="utf-8", errors="replace")
        return ""

    def require_path(self) -> Path:
        """A file item's path: an image or video detector needs one (a clear error when an item has none)."""
        if self.path is None:
            raise ValueError(f"this {self.media_type.value} item has no file to read")
        return Path(self.path)


@dataclass(frozen=True)
class Finding:
    """One detector's result for one item.

    ``score`` is a calibrated probability that the item is synthetic, in
    [0, 1], or None when the detector is not applicable. ``threshold`` is the
    operating point the detector was calibrated for, so fusion never has to
    guess what "high" means for a given model; ``review_threshold`` (when the
    model card has one) is the lower line from which a reviewer should look.
    """

    detector: str
    version: str
    label: FindingLabel
    score: float | None = None
    threshold: float | None = None
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    review_threshold: float | None = None
    # True for evidence that can only accuse: a watermark that is found proves a
    # generator marked the item, but one that is absent proves nothing. Fusion
    # ignores such a finding unless it reaches its threshold.
    positive_only: bool = False
    # Pictures for people (heatmaps, timelines): name -> PNG bytes. The
    # pipeline stores them and puts their URLs into the evidence.
    artifacts: dict[str, bytes] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.score is not None and not 0.0 <= self.score <= 1.0:
            raise ValueError(f"{self.detector}: score {self.score} is outside [0, 1]")
        if self.label is FindingLabel.NOT_APPLICABLE and self.score is not None:
            raise ValueError(f"{self.detector}: a not-applicable finding carries no score")

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "version": self.version,
            "label": self.label.value,
            "score": self.score,
            "threshold": self.threshold,
            "review_threshold": self.review_threshold,
            "reason": self.reason,
            "evidence": self.evidence,
            "positive_only": self.positive_only,
        }


class Detector(ABC):
    """Base class for every detector; subclasses register with the registry.

    The pipeline constructs detectors as ``cls(models_dir=..., device=...)``;
    a detector that needs neither may ignore them.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    media_types: ClassVar[frozenset[MediaType]]

    def __init__(self, models_dir: Path | None = None, device: str = "cpu") -> None:
        self.models_dir = models_dir
        self.device = device

    @abstractmethod
    def predict(self, batch: Sequence[MediaInput]) -> list[Finding]:
        """Return one finding per input, in order."""

    def model_info(self) -> dict[str, Any]:
        """What the audit trail records about this detector (override to add weights hashes)."""
        return {"name": self.name, "version": self.version}

    def provenance_summary(self, finding: Finding) -> dict[str, Any] | None:
        """A compact record for the item's provenance section, or None.

        Watermark detectors override this: a mark says where an item came
        from, so besides being a score it belongs beside C2PA in provenance
        (and in reports as the machine-readable mark of AI Act Art. 50).
        """
        return None


class DetectorContractError(RuntimeError):
    """A detector returned something other than one well-formed finding per input, under its own name."""


def checked_predict(detector: Detector, batch: Sequence[MediaInput]) -> list[Finding]:
    """``detector.predict(batch)``, refused unless it keeps the contract the pipeline relies on.

    Taking ``[0]`` of whatever came back would pin one item's result on another, or a finding signed with
    another detector's name on this one; a plug-in's bug must fail the job with this reason instead.
    """
    findings = detector.predict(batch)
    if not isinstance(findings, list) or len(findings) != len(batch):
        count = len(findings) if isinstance(findings, (list, tuple)) else type(findings).__name__
        raise DetectorContractError(f"detector {detector.name!r} returned {count} findings for {len(batch)} "
                                    "inputs; it must return one Finding per input, in order")
    for index, finding in enumerate(findings):
        if not isinstance(finding, Finding):
            raise DetectorContractError(f"detector {detector.name!r} returned a {type(finding).__name__} for "
                                        f"input {index}, not a Finding")
        if finding.detector != detector.name:
            raise DetectorContractError(f"detector {detector.name!r} returned a finding named "
                                        f"{finding.detector!r} for input {index}")
        if finding.review_threshold is not None and not 0.0 <= finding.review_threshold <= 1.0:
            raise DetectorContractError(f"detector {detector.name!r}: review threshold {finding.review_threshold} "
                                        "is outside [0, 1]")
        if finding.threshold is not None and not 0.0 <= finding.threshold <= 1.0:
            raise DetectorContractError(f"detector {detector.name!r}: threshold {finding.threshold} for input "
                                        f"{index} is outside [0, 1]")
        if finding.label is not FindingLabel.NOT_APPLICABLE and finding.score is None:
            raise DetectorContractError(f"detector {detector.name!r}: a {finding.label.value} finding for input "
                                        f"{index} has no score (only not_applicable may omit it)")
    return findings
