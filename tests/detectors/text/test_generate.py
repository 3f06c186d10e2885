"""Watermarked generation with the shipped small LM, detected with the same tokenizer."""
from __future__ import annotations

from transformers import AutoTokenizer

from detectors.text.generate import generate
from detectors.text.lm import PACKAGE_TEXT_LM_DIR
from detectors.watermark.text_greenlist import GreenlistParams, score_text

PERFORMER = PACKAGE_TEXT_LM_DIR / "performer"
PROMPT = "The river ran through the old town, and"


def test_watermarked_generation_is_detected_and_plain_generation_is_not() -> None:
    tokenizer = AutoTokenizer.from_pretrained(PERFORMER, local_files_only=True)
    params = GreenlistParams(key="tenant-secret", gamma=0.25, delta=2.0)
    marked = generate(PERFORMER, PROMPT, max_new_tokens=100, seed=3, watermark_key="tenant-secret")
    plain = generate(PERFORMER, PROMPT, max_new_tokens=100, seed=3)
    assert marked.startswith(PROMPT) and len(marked) > len(PROMPT) + 60
    assert score_text(marked, tokenizer, params).z > 4
    assert score_text(plain, tokenizer, params).z < 4
