from detectors.base import Finding, FindingLabel
from forensics.fusion import fuse


def finding(name: str, score: float | None, threshold: float | None = 0.5) -> Finding:
    if score is None:
        return Finding(name, "1", FindingLabel.NOT_APPLICABLE, reason="no face found")
    label = FindingLabel.SYNTHETIC if score >= (threshold or 0.5) else FindingLabel.AUTHENTIC
    return Finding(name, "1", label, score=score, threshold=threshold)


def test_no_findings_is_inconclusive() -> None:
    fused = fuse([])
    assert (fused.verdict, fused.score) == ("inconclusive", None)


def test_only_not_applicable_findings_are_inconclusive_with_reasons() -> None:
    fused = fuse([finding("face", None)])
    assert fused.verdict == "inconclusive" and "no face found" in fused.reason


def test_any_detector_over_its_own_threshold_flags_the_item() -> None:
    fused = fuse([finding("a", 0.2), finding("b", 0.35, threshold=0.3), finding("c", None)])
    assert fused.verdict == "likely_synthetic"
    assert fused.score == 0.35
    assert "b (0.35" in fused.reason


def test_all_below_threshold_is_authentic_with_max_score() -> None:
    fused = fuse([finding("a", 0.2), finding("b", 0.45)])
    assert (fused.verdict, fused.score) == ("likely_authentic", 0.45)


def test_finding_validates_its_score() -> None:
    import pytest

    with pytest.raises(ValueError):
        Finding("x", "1", FindingLabel.SYNTHETIC, score=1.5)
    with pytest.raises(ValueError):
        Finding("x", "1", FindingLabel.NOT_APPLICABLE, score=0.5)


def test_an_absent_watermark_neither_raises_nor_lowers_the_verdict() -> None:
    absent = Finding("watermark", "1", FindingLabel.AUTHENTIC, score=0.3, threshold=0.5, positive_only=True)
    found = Finding("watermark", "1", FindingLabel.SYNTHETIC, score=0.9, threshold=0.5, positive_only=True)
    assert fuse([absent]).verdict == "inconclusive"
    assert fuse([absent, finding("image", 0.1)]).score == 0.1
    fused = fuse([found, finding("image", 0.1)])
    assert fused.verdict == "likely_synthetic" and fused.score == 0.9


def test_leaning_synthetic_below_the_threshold_is_inconclusive() -> None:
    fused = fuse([finding("image", 0.64, threshold=0.977)])
    assert fused.verdict == "inconclusive" and fused.score == 0.64 and "below its calibrated threshold" in fused.reason


def test_fusion_speaks_the_one_verdict_type() -> None:
    from forensics.models import Verdict

    assert fuse([finding("a", 0.9)]).verdict is Verdict.LIKELY_SYNTHETIC
    assert fuse([finding("a", 0.1)]).verdict is Verdict.LIKELY_AUTHENTIC
    assert fuse([]).verdict is Verdict.INCONCLUSIVE


def test_the_review_line_comes_from_the_card_not_from_even_odds() -> None:
    """A card's review threshold (5% of held-out reals reach it) decides "inconclusive"; 0.5 only without one."""
    def image(score: float, review: float | None) -> Finding:
        return Finding("image", "1", FindingLabel.AUTHENTIC, score=score, threshold=0.76, review_threshold=review)

    assert fuse([image(0.64, review=0.70)]).verdict == "likely_authentic"  # above 0.5, below the review line
    leaning = fuse([image(0.72, review=0.70)])
    assert leaning.verdict == "inconclusive" and "review line 0.70" in leaning.reason
    assert fuse([image(0.64, review=None)]).verdict == "inconclusive"  # an older card: even odds
    # a tenant calibration that lowered the threshold below the card's review line keeps the order
    lowered = Finding("image", "1", FindingLabel.SYNTHETIC, score=0.62, threshold=0.6, review_threshold=0.7)
    assert fuse([lowered]).verdict == "likely_synthetic"
