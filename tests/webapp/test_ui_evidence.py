"""The item page's evidence shapes: spans cut into segments, boxes and overlays placed in percent."""
from forensics.models import DetectorResult
from webapp.ui import evidence


def result(detector: str, **evidence_and_fields) -> DetectorResult:  # type: ignore[no-untyped-def]
    threshold = evidence_and_fields.pop("threshold", 0.5)
    return DetectorResult(detector=detector, version="1", label="synthetic", score=0.7, threshold=threshold,
                          evidence=evidence_and_fields)


def test_segments_keep_the_text_and_skip_bad_spans() -> None:
    text = "naïve café text"
    spans = [{"start": 0, "end": 5, "label": "Green", "weight": 2.0},
             {"start": 3, "end": 8, "label": "red", "weight": 0.5},  # overlaps the first: skipped
             {"start": 11, "end": 15, "label": "red <script>", "weight": 0.25},
             {"start": 14, "end": 99, "label": "red", "weight": 1}]  # leaves the text: skipped
    segments = evidence.text_segments(text, spans)
    assert "".join(s["text"] for s in segments) == text
    marked = [(s["text"], s["label"], s["weight"]) for s in segments if s["label"]]
    assert marked == [("naïve", "green", 1.0), ("text", "red-script", 0.25)]


def test_one_view_per_detector_with_spans() -> None:
    views = evidence.span_views("abc def", [
        result("a", spans=[{"start": 0, "end": 3, "label": "machine", "weight": 0.5}], spans_legend={"machine": "m"}),
        result("b", spans=[{"start": 4, "end": 7, "label": "human", "weight": 0.5}], spans_truncated=True),
        result("c", score_only=True),
    ])
    assert [(v["detector"], v["legend"], v["truncated"]) for v in views] == [("a", {"machine": "m"}, False),
                                                                             ("b", {}, True)]


def test_boxes_and_heatmap_regions_in_percent() -> None:
    r = result("synthetic-image", faces=[{"box": [10, 20, 30, 60], "score": 0.9}, {"box": [0, 0, 5, 5], "score": None}],
               artifacts={"heatmap": "x.png"})
    boxes = evidence.face_boxes([r], 200, 100)
    assert boxes[0] == {"detector": "synthetic-image", "score": 0.9, "kind": "over", "left": 5.0, "top": 20.0,
                        "width": 10.0, "height": 40.0}
    assert boxes[1]["kind"] == "unscored"
    (overlay,) = evidence.heatmap_overlays([r], 200, 100)
    assert overlay["region"] == {"left": 25.0, "top": 0.0, "width": 50.0, "height": 100.0}
    face = result("face-synthetic", faces=[{"box": [40, 40, 60, 60], "score": 0.8}], artifacts={"heatmap": "y.png"})
    (crop,) = evidence.heatmap_overlays([face], 100, 100)
    assert crop["region"] == {"left": 35.0, "top": 35.0, "width": 30.0, "height": 30.0}
    assert evidence.heatmap_overlays([r], None, None) == []


def test_a_detector_s_heatmap_box_places_its_heatmap() -> None:
    """New results say where their heatmap sits (image pixels); older ones fall back to the framings above."""
    whole = result("synthetic-image", heatmap_box=[0, 0, 200, 100], artifacts={"heatmap": "x.png"})
    (overlay,) = evidence.heatmap_overlays([whole], 200, 100)
    assert overlay["region"] == {"left": 0.0, "top": 0.0, "width": 100.0, "height": 100.0}
    # a face crop that leaves the image (edge-replicated there) keeps its true place, partly outside
    face = result("face-synthetic", heatmap_box=[-10, 20.5, 50, 80.5], artifacts={"heatmap": "y.png"},
                  faces=[{"box": [40, 40, 60, 60], "score": 0.8}])
    (crop,) = evidence.heatmap_overlays([face], 100, 100)
    assert crop["region"] == {"left": -10.0, "top": 20.5, "width": 60.0, "height": 60.0}
    for bad in ([0, 0, 200], "0,0,200,100", [0, 0, "200", 100], None):
        legacy = result("synthetic-image", heatmap_box=bad, artifacts={"heatmap": "x.png"})
        (fallback,) = evidence.heatmap_overlays([legacy], 200, 100)
        assert fallback["region"] == {"left": 25.0, "top": 0.0, "width": 50.0, "height": 100.0}


def test_timeline_points_from_either_frame_shape() -> None:
    faces = result("video-faces", threshold=0.6, timeline=[
        {"seconds": 0.0, "faces": [{"score": 0.2}, {"score": 0.7}]}, {"seconds": 1.0, "faces": []},
        {"seconds": 2.0, "faces": [{"score": 0.1}]}])
    (t,) = evidence.timelines([faces], duration=4.0, width=400, height=100)
    assert [(p["x"], p["y"], p["over"]) for p in t["points"]] == [(0.0, 30.0, True), (200.0, 90.0, False)]
    assert t["unscored"] == 1 and t["threshold_y"] == 40.0
