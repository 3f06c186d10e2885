"""Hypothesis strategies for hostile input: valid files broken in the ways transfers and attackers break them.

By default every run tries the same 40 examples per test (deterministic, so the suite passes anywhere);
``FORENSICS_FUZZ_EXAMPLES=N`` runs N fresh random examples per test, for a longer search.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

_EXAMPLES = os.environ.get("FORENSICS_FUZZ_EXAMPLES", "")
# No per-example deadline (a loaded machine is slow); the Django fixtures are shared by the examples on purpose.
FUZZ = settings(max_examples=int(_EXAMPLES or 40), derandomize=not _EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def broken(draw, seed: bytes) -> bytes:  # type: ignore[no-untyped-def]
    """``seed`` cut short, with bytes flipped, inserted or overwritten (or unchanged)."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "overwrite"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "truncate":
            del data[at:]
        elif op == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            chunk = draw(st.binary(min_size=1, max_size=64))
            data[at:at + len(chunk)] = chunk
    return bytes(data)


# Text a client can send: any Unicode scalar value (NUL and controls included), no lone surrogates.
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)
