"""A text watermarked with a tenant's key is detected through the API with its z-score,
for that tenant only; a human text is not, and its verdict does not pretend otherwise."""
import itertools
import json

import numpy as np
import pytest

from tests.support.media import REAL_FACES

HUMAN_TEXTS = REAL_FACES.parents[1] / "human-vs-llm-text" / "writing_gpt2-xl.json"
HUMAN_POOL = (
    "the old man walked slowly along the river and thought about the years he had spent in the city "
    "working at the factory while his children grew up and moved away to find their own lives in places "
    "he had never seen but always wanted to visit before the winter came again with its long dark nights "
    "and quiet mornings when the birds would sing from the trees near the house where he was born"
)


@pytest.fixture
def text_key(actor) -> str:  # type: ignore[no-untyped-def]
    from webapp.accounts.watermark_keys import issue_key

    return issue_key(actor, "text").plaintext


def watermarked_text(key: str, n_words: int = 120, seed: int = 0) -> str:
    """Words chosen so that each token is on the green list of its predecessor (a biased sampler)."""
    from detectors.watermark.text_greenlist import GreenlistParams, GreenlistPRF, default_tokenizer

    tokenizer = default_tokenizer()
    words = sorted({w.strip(".,;:!?\"'()").lower() for w in HUMAN_POOL.split()} - {""})
    encoded = [tokenizer.encode(" " + w) for w in words]
    vocab = [ids[0] for ids in encoded if len(ids) == 1]
    prf = GreenlistPRF(GreenlistParams(key=key))
    rng = np.random.default_rng(seed)
    ids = [vocab[0]]
    while len(ids) < n_words:
        green = [t for t in vocab if prf.is_green(ids[-1:], t)]
        ids.append(int(rng.choice(green if green and rng.random() < 0.9 else vocab)))
    return tokenizer.decode(ids).strip()


def watermark_finding(api, text: str) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    body = api.get(api.post("/api/v1/analyses", {"text": text}, format="json")["Location"]).json()
    return body, {d["detector"]: d for d in body["detectors"]}["text-greenlist-watermark"]


def other_tenant_api(other_tenant):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    from webapp.accounts.keys import issue_api_key

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_api_key(other_tenant, 'other').plaintext}")
    return client


def test_watermarked_text_is_detected_and_human_text_is_not(api, text_key, eager_celery) -> None:
    text = watermarked_text(text_key)
    body, finding = watermark_finding(api, text)
    assert finding["label"] == "synthetic", finding["reason"]
    assert finding["evidence"]["z"] > 4 and finding["evidence"]["p_value"] < 1e-6
    assert body["verdict"] == "likely_synthetic"

    spans = finding["evidence"]["spans"]  # the UI highlights these
    assert spans and all(text[s["start"]:s["end"]].strip() for s in spans)
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(spans))
    greens = sum(s["label"] == "green" for s in spans)
    assert greens / len(spans) > 0.6  # the mark is visible in the spans, not only in z

    human = json.loads(HUMAN_TEXTS.read_text())["original"][0] if HUMAN_TEXTS.exists() else HUMAN_POOL
    body, finding = watermark_finding(api, human)
    assert finding["label"] == "authentic" and finding["evidence"]["z"] < 4
    assert body["verdict"] == "inconclusive"  # an absent watermark is no evidence of human authorship


def test_a_tenants_key_finds_only_its_own_mark(api, text_key, other_tenant, eager_celery) -> None:
    from webapp.accounts.tenancy import system_actor
    from webapp.accounts.watermark_keys import issue_key

    text = watermarked_text(text_key)
    other = other_tenant_api(other_tenant)
    _, finding = watermark_finding(other, text)
    assert finding["label"] == "not_applicable" and "no text watermark key" in finding["reason"]

    issue_key(system_actor(other_tenant, "user:admin"), "text")
    _, finding = watermark_finding(other, text)
    assert finding["label"] == "authentic" and finding["evidence"]["z"] < 4

    _, finding = watermark_finding(api, text)  # the owner still finds it
    assert finding["label"] == "synthetic"
