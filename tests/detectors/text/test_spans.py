"""Token evidence maps to exact character spans of the text, multi-byte characters included."""
import itertools

from detectors.text.spans import MAX_SPANS, build_spans, token_char_offsets
from detectors.watermark.text_greenlist import ByteTokenizer, default_tokenizer

TEXT = "Café naïve — 🙂 emoji, ordinary words and a trailing space "


def test_offsets_cover_the_text_exactly_for_byte_and_bpe_tokenizers() -> None:
    for tokenizer in (ByteTokenizer(), default_tokenizer()):
        ids = tokenizer.encode(TEXT)
        offsets = token_char_offsets(tokenizer, ids, TEXT)
        assert offsets is not None and len(offsets) == len(ids)
        assert offsets[0][0] == 0 and offsets[-1][1] == len(TEXT)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(offsets))  # contiguous, in order


def test_tokens_that_do_not_spell_the_text_give_no_offsets() -> None:
    tokenizer = ByteTokenizer()
    assert token_char_offsets(tokenizer, tokenizer.encode("something else"), TEXT) is None


def test_build_spans_skips_unlabelled_and_empty_tokens_and_caps_the_count() -> None:
    evidence = build_spans([(0, 2), (2, 2), (2, 5), (5, 9)], ["green", "red", None, "red"], [1, 1, 1, 2.5],
                           {"green": "g", "red": "r"})
    assert evidence["spans"] == [{"start": 0, "end": 2, "label": "green", "weight": 1.0},
                                 {"start": 5, "end": 9, "label": "red", "weight": 1.0}]
    many = build_spans([(i, i + 1) for i in range(MAX_SPANS + 5)], ["red"] * (MAX_SPANS + 5),
                       [0.5] * (MAX_SPANS + 5), {})
    assert len(many["spans"]) == MAX_SPANS and many["spans_truncated"] is True
