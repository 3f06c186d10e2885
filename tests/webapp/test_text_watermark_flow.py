"""A text watermarked with a tenant's key is detected through the API with its z-score;
a human text is not, and its verdict does not pretend otherwise."""
import json

import numpy as np
import pytest

from tests.support.media import REAL_FACES

HUMAN_TEXTS = REAL_FACES.parents[1] / "human-vs-llm-text" / "writing_gpt2-xl.json"
KEY = "acme-text-watermark-key"


@pytest.fixture
def keyed_detector(settings):  # type: ignore[no-untyped-def]
    from forensics import pipeline

    settings.FORENSICS_DETECTOR_OPTIONS = {"text-greenlist-watermark": {"key": KEY}}
    pipeline._detector_cache.clear()
    yield
    pipeline._detector_cache.clear()


def watermarked_text(n_words: int = 120, seed: int = 0) -> str:
    """Words chosen so that each token is on the green list of its predecessor (a biased sampler)."""
    from detectors.watermark.text_greenlist import GreenlistParams, GreenlistPRF, default_tokenizer

    tokenizer = default_tokenizer()
    words = sorted({w.strip(".,;:!?\"'()").lower() for w in HUMAN_POOL.split()} - {""})
    encoded = [tokenizer.encode(" " + w) for w in words]
    vocab = [ids[0] for ids in encoded if len(ids) == 1]
    prf = GreenlistPRF(GreenlistParams(key=KEY))
    rng = np.random.default_rng(seed)
    ids = [vocab[0]]
    while len(ids) < n_words:
        green = [t for t in vocab if prf.is_green(ids[-1:], t)]
        ids.append(int(rng.choice(green if green and rng.random() < 0.9 else vocab)))
    return tokenizer.decode(ids).strip()


HUMAN_POOL = (
    "the old man walked slowly along the river and thought about the years he had spent in the city "
    "working at the factory while his children grew up and moved away to find their own lives in places "
    "he had never seen but always wanted to visit before the winter came again with its long dark nights "
    "and quiet mornings when the birds would sing from the trees near the house where he was born"
)


def test_watermarked_text_is_detected_and_human_text_is_not(api, keyed_detector, eager_celery) -> None:
    text = watermarked_text()
    body = api.get(api.post("/api/v1/analyses", {"text": text}, format="json")["Location"]).json()
    finding = {d["detector"]: d for d in body["detectors"]}["text-greenlist-watermark"]
    assert finding["label"] == "synthetic", finding["reason"]
    assert finding["evidence"]["z"] > 4 and finding["evidence"]["p_value"] < 1e-6
    assert body["verdict"] == "likely_synthetic"

    human = json.loads(HUMAN_TEXTS.read_text())["original"][0] if HUMAN_TEXTS.exists() else HUMAN_POOL
    body = api.get(api.post("/api/v1/analyses", {"text": human}, format="json")["Location"]).json()
    finding = {d["detector"]: d for d in body["detectors"]}["text-greenlist-watermark"]
    assert finding["label"] == "authentic" and finding["evidence"]["z"] < 4
    assert body["verdict"] == "inconclusive"  # an absent watermark is no evidence of human authorship
