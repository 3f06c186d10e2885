"""Token evidence as character spans of the analysed text, for the UI.

The evidence contract: ``spans`` is a sorted list of non-overlapping
``{"start", "end", "label", "weight"}`` with ``str`` offsets into the exact
text, at most ``MAX_SPANS`` of them, with a ``spans_legend``. Offsets come
from the tokens' bytes so that any tokenizer that round-trips the text
(byte-level BPE, cl100k, raw bytes) maps exactly, multi-byte characters included.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_SPANS = 3000


def _token_bytes(tokenizer: Any, ids: Sequence[int]) -> list[bytes] | None:
    if hasattr(tokenizer, "decode_single_token_bytes"):  # bpe-openai / tiktoken style
        return [bytes(tokenizer.decode_single_token_bytes(int(i))) for i in ids]
    if getattr(tokenizer, "vocab_size", None) == 256 and all(0 <= int(i) < 256 for i in ids):
        return [bytes([int(i)]) for i in ids]  # raw UTF-8 bytes
    # Anything else: grow the decoded prefix one token at a time (quadratic, but
    # evidence is capped at MAX_SPANS tokens).
    out, previous = [], b""
    for n in range(1, len(ids) + 1):
        current = tokenizer.decode(list(ids[:n])).encode("utf-8", errors="surrogatepass")
        if not current.startswith(previous):
            return None
        out.append(current[len(previous):])
        previous = current
    return out


def token_char_offsets(tokenizer: Any, ids: Sequence[int], text: str) -> list[tuple[int, int]] | None:
    """(start, end) ``str`` offsets of each token in ``text``; None when the tokens do not spell ``text``."""
    pieces = _token_bytes(tokenizer, ids)
    raw = text.encode("utf-8")
    if pieces is None or b"".join(pieces) != raw:
        return None
    # Character index of every byte position (a token may end inside a character:
    # its span then ends where that character starts).
    char_at = [0] * (len(raw) + 1)
    position = 0
    for index, char in enumerate(text):
        width = len(char.encode("utf-8"))
        for k in range(width):
            char_at[position + k] = index
        position += width
    char_at[len(raw)] = len(text)
    offsets, byte_pos = [], 0
    for piece in pieces:
        start, byte_pos = byte_pos, byte_pos + len(piece)
        offsets.append((char_at[start], char_at[byte_pos]))
    return offsets


def build_spans(
    offsets: Sequence[tuple[int, int]],
    labels: Sequence[str | None],
    weights: Sequence[float],
    legend: dict[str, str],
    text: str | None = None,
) -> dict[str, Any]:
    """Evidence entries for the tokens with a label (None = not shown), per the contract.

    Given the ``text``, whitespace-only tokens are left out: a highlighted
    line break shows nothing to a reviewer.
    """
    spans: list[dict[str, Any]] = []
    truncated = False
    last_end = 0
    for (start, end), label, weight in zip(offsets, labels, weights):
        if label is None or end <= start or start < last_end:
            continue
        if text is not None and not text[start:end].strip():
            continue
        if len(spans) >= MAX_SPANS:
            truncated = True
            break
        spans.append({"start": int(start), "end": int(end), "label": label,
                      "weight": round(min(1.0, max(0.0, float(weight))), 3)})
        last_end = end
    return {"spans": spans, "spans_truncated": truncated, "spans_legend": legend}
