"""Sample text from any local HF causal LM, optionally with the green-list watermark.

A platform that generates text with our small LM (or its own HF model) can
mark it here, and ``text-greenlist-watermark`` with the same key and the
same tokenizer finds the mark later. The watermark is the logits processor
of ``detectors/watermark/text_greenlist.py``; nothing about it is redefined here.
"""
from __future__ import annotations

from pathlib import Path

import torch

from detectors.watermark.text_greenlist import GreenlistLogitsProcessor, GreenlistParams


def generate(lm: Path, prompt: str, max_new_tokens: int = 200, seed: int = 0, watermark_key: str | None = None,
             gamma: float = 0.25, delta: float = 2.0, context_width: int = 1, temperature: float = 1.0,
             device: str = "cpu") -> str:
    """The prompt followed by a sampled continuation (watermarked when ``watermark_key`` is given)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessorList

    tokenizer = AutoTokenizer.from_pretrained(lm, local_files_only=True)
    dtype = torch.float32 if device.startswith("cpu") else "auto"
    model = AutoModelForCausalLM.from_pretrained(lm, local_files_only=True, dtype=dtype).to(device).eval()
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    ids = ([start] if start is not None else []) + tokenizer.encode(prompt, add_special_tokens=False)
    inputs = torch.tensor([ids], device=device)
    processors = LogitsProcessorList()
    if watermark_key:
        params = GreenlistParams(key=watermark_key, gamma=gamma, delta=delta, context_width=context_width)
        processors.append(GreenlistLogitsProcessor(params))
    limit = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", None)
    if limit:
        max_new_tokens = min(max_new_tokens, limit - inputs.shape[1])
    torch.manual_seed(seed)
    with torch.no_grad():
        out = model.generate(inputs, attention_mask=torch.ones_like(inputs), do_sample=True, top_k=0,
                             temperature=temperature, max_new_tokens=max_new_tokens, logits_processor=processors,
                             pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else start,
                             eos_token_id=None)
    return prompt + tokenizer.decode(out[0, inputs.shape[1]:].tolist(), skip_special_tokens=True)
