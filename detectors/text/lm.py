"""Train the shipped small causal LMs (observer and performer) that make
``text-binoculars`` work out of the box, with no download.

Both are GPT-2-style (transformers ``GPT2LMHeadModel``) and share one
byte-level BPE tokenizer trained on the same texts, because Binoculars
compares the two models' next-token distributions token by token. Only the
corpus's *train* split is used (split by human-text group, see
``detectors/text/data.py``), so the calibration and test splits stay unseen.
Each model is saved as an ordinary Hugging Face directory (fp16 safetensors
plus tokenizer files), so anything that loads HF models can load them, and
the pair is described by one model card, ``text-lm/card.json``.
"""
from __future__ import annotations

import json
import logging
import math
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from detectors.cards import sha256_file
from detectors.text.data import (
    HUMAN,
    MACHINE,
    SHARED_TEXT_DIR,
    SPLIT_FRACTIONS,
    LabelledText,
    load_shared_corpus,
    split_corpus,
)
from detectors.text.tokenizer import train_tokenizer

log = logging.getLogger(__name__)

PACKAGE_TEXT_LM_DIR = Path(__file__).resolve().parents[1] / "weights" / "text-lm"
CARD_NAME = "card.json"
VERSION = "1.0"


@dataclass(frozen=True)
class LMSpec:
    """One small GPT-2: its size, what it trains on, and for how long."""

    role: str  # "observer" or "performer"
    n_embd: int
    n_layer: int
    n_head: int
    steps: int
    include_machine: bool  # also train on the train split's machine texts
    lr: float = 3e-3
    batch_size: int = 16
    block_size: int = 256
    dropout: float = 0.1
    seed: int = 0


# The shipped pair. The performer is larger and also reads the train split's
# machine continuations, so it "performs" like the generators; the observer
# only knows human text (see the card's data_decision for why).
DEFAULT_SPECS = (
    LMSpec(role="observer", n_embd=128, n_layer=4, n_head=4, steps=350, include_machine=False, seed=0),
    LMSpec(role="performer", n_embd=128, n_layer=5, n_head=4, steps=450, include_machine=True, seed=1),
)
# What the card says about the data choice and the limits, written with every training run.
CARD_NOTES: dict[str, Any] = {
    "data_decision": (
        "The tokenizer and the observer are trained on the train split's human texts only. The performer is also "
        "trained on the train split's machine continuations (same five generators, never a calibration or test "
        "text, and never their prompts: the split is by human-text group). Why: Binoculars assumes the performer "
        "is a capable LM whose idea of a likely next token resembles the generators'; a model of ~1.5 M parameters "
        "that has read ~330k words of human text knows little of what a 1.5-20 B model finds likely, and the "
        "machine texts distil some of that into it. The price: with respect to these five generators the detector "
        "is not strictly zero-shot (the performer has seen their style), so the test-split numbers are an "
        "optimistic estimate for other generators such as chat-tuned or newer models."
    ),
    "limitations": (
        "A tiny LM pair trained on a few hundred thousand words is a weak detector: see binoculars.test_metrics "
        "(AUROC, and TPR at the 1%-FPR threshold) and the ablations. Texts are scored on their first 255 tokens "
        "(the models' context); texts under 64 tokens are inconclusive; English prose only (SQuAD Wikipedia "
        "paragraphs and WritingPrompts stories); other domains, languages, code, heavily edited or paraphrased "
        "machine text and chat-model output are untested and likely to be missed or misjudged. Do not use a "
        "single score as proof of authorship."
    ),
    "metrics_notes": (
        "binoculars.test_metrics are on the test split (never seen in training or calibration); first_N_tokens "
        "cuts every text to its first N tokens. In this corpus a machine text's first ~30 tokens are the human "
        "prompt it continued, so the 32-token bucket is at chance by construction and the 64-token bucket holds "
        "only ~34 machine-written tokens: that, and AUROC 0.60 there, is why texts under 64 tokens are "
        "inconclusive. auroc_performer_perplexity_only is the ablation without the cross-perplexity denominator."
    ),
    "training_time_note": (
        "training_seconds_total was measured on 2 CPU cores shared with other jobs (load average ~3.5): "
        "step times varied between 0.85 and 2.9 s as their load changed, so an idle machine is faster."
    ),
    "recommended_for_deployment": (
        "Point FORENSICS_TEXT_OBSERVER / FORENSICS_TEXT_PERFORMER at a local pair of larger causal LMs that share a "
        "tokenizer, as in the paper (falcon-7b as observer and falcon-7b-instruct as performer; or e.g. "
        "Qwen2.5-1.5B and Qwen2.5-1.5B-Instruct on a smaller budget), then run "
        "`python -m detectors.text calibrate-binoculars --observer DIR --performer DIR` on your own held-out human "
        "and machine texts."
    ),
}
N_POSITIONS = 256  # = block_size: every position the models know was trained


def token_stream(tokenizer: Any, texts: Sequence[str]) -> np.ndarray:
    """All texts as one id stream, each preceded by the end-of-text token (as scoring does)."""
    eos = tokenizer.eos_token_id
    parts = []
    for text in texts:
        parts.append([eos, *tokenizer.encode(text, add_special_tokens=False)])
    return np.fromiter((i for part in parts for i in part), dtype=np.int64)


def build_model(spec: LMSpec, vocab_size: int, eos_id: int) -> torch.nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=vocab_size, n_positions=N_POSITIONS, n_embd=spec.n_embd, n_layer=spec.n_layer,
        n_head=spec.n_head, n_inner=4 * spec.n_embd, resid_pdrop=spec.dropout, embd_pdrop=spec.dropout,
        attn_pdrop=spec.dropout, bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=eos_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(spec.seed)
    return GPT2LMHeadModel(config)


@torch.no_grad()
def perplexity(model: torch.nn.Module, tokenizer: Any, texts: Sequence[str], max_tokens: int = N_POSITIONS) -> float:
    """Token-level perplexity of ``texts`` scored one by one from the end-of-text token, as the detector does."""
    model.eval()
    total, count = 0.0, 0
    for text in texts:
        ids = [tokenizer.eos_token_id, *tokenizer.encode(text, add_special_tokens=False)][:max_tokens]
        x = torch.tensor([ids])
        logits = model(x, attention_mask=torch.ones_like(x)).logits.float()
        nll = torch.nn.functional.cross_entropy(logits[0, :-1], x[0, 1:], reduction="sum")
        total += float(nll)
        count += len(ids) - 1
    return math.exp(total / max(count, 1))


def train_model(spec: LMSpec, tokenizer: Any, texts: Sequence[str]) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Next-token training on random windows of the concatenated texts (AdamW, cosine schedule)."""
    stream = token_stream(tokenizer, texts)
    model = build_model(spec, len(tokenizer), tokenizer.eos_token_id)
    rng = np.random.default_rng(spec.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=0.1, betas=(0.9, 0.95))
    warmup = max(1, spec.steps // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return spec.lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, spec.steps - warmup)
        return spec.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    model.train()
    start = time.perf_counter()
    losses = []
    for step in range(spec.steps):
        starts = rng.integers(0, len(stream) - spec.block_size - 1, spec.batch_size)
        batch = torch.from_numpy(np.stack([stream[s : s + spec.block_size + 1] for s in starts]))
        for group in optimiser.param_groups:
            group["lr"] = lr_at(step)
        inputs = batch[:, :-1]
        logits = model(inputs, attention_mask=torch.ones_like(inputs)).logits
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        losses.append(loss.item())
        if step % 100 == 0 or step == spec.steps - 1:
            log.info("train-lm step", extra={"role": spec.role, "step": step,
                                             "loss": round(float(np.mean(losses[-50:])), 4),
                                             "seconds": round(time.perf_counter() - start, 1)})
    model.eval()
    stats = {
        "train_tokens": len(stream),
        "tokens_seen": int(spec.steps * spec.batch_size * spec.block_size),
        "epochs": round(spec.steps * spec.batch_size * spec.block_size / len(stream), 2),
        "final_train_loss": round(float(np.mean(losses[-50:])), 4),
        "train_seconds": round(time.perf_counter() - start, 1),
    }
    return model, stats


def save_hf(model: torch.nn.Module, tokenizer: Any, out: Path) -> str:
    """fp16 safetensors + config + tokenizer files; returns the weights' SHA-256."""
    out.mkdir(parents=True, exist_ok=True)
    model.to(torch.float16).save_pretrained(out, safe_serialization=True)
    model.to(torch.float32)
    tokenizer.save_pretrained(out)
    for path in out.iterdir():
        path.chmod(0o644)
    return sha256_file(out / "model.safetensors")


def _texts(items: Sequence[LabelledText], label: int) -> list[str]:
    return [t.text for t in items if t.label == label]


def train_pair(out_dir: Path = PACKAGE_TEXT_LM_DIR, corpus: Path = SHARED_TEXT_DIR, vocab_size: int = 4096,
               specs: Sequence[LMSpec] = DEFAULT_SPECS, threads: int | None = None,
               eval_texts: int = 200) -> dict[str, Any]:
    """Train the tokenizer and both models on the train split, save them and the card; returns the card."""
    if threads:
        torch.set_num_threads(threads)
    started = time.perf_counter()
    everything = load_shared_corpus(corpus)
    train, calib = split_corpus(everything, "train"), split_corpus(everything, "calib")
    human_train, machine_train = _texts(train, HUMAN), _texts(train, MACHINE)
    tokenizer = train_tokenizer(human_train, vocab_size=vocab_size)
    held_out = {"human": _texts(calib, HUMAN)[:eval_texts], "machine": _texts(calib, MACHINE)[:eval_texts]}
    models: dict[str, Any] = {}
    for spec in specs:
        texts = human_train + (machine_train if spec.include_machine else [])
        model, stats = train_model(spec, tokenizer, texts)
        sha = save_hf(model, tokenizer, out_dir / spec.role)
        models[spec.role] = {
            "path": spec.role,
            "architecture": "GPT2LMHeadModel",
            "parameters": int(sum(p.numel() for p in model.parameters())),
            "spec": asdict(spec),
            "trained_on": {"human_texts": len(human_train),
                           "machine_texts": len(machine_train) if spec.include_machine else 0},
            **stats,
            "held_out_perplexity": {k: round(perplexity(model, tokenizer, v), 2) for k, v in held_out.items()},
            "weights_file": f"{spec.role}/model.safetensors",
            "weights_sha256": sha,
        }
    card = {
        "name": "text-lm",
        "version": VERSION,
        "purpose": "observer/performer pair for the text-binoculars detector when no larger local LMs are configured",
        "data": {
            "corpus": "human-vs-llm-text (../shared/datasets; Fast-DetectGPT's SQuAD and WritingPrompts texts with "
                      "continuations by GPT-2 XL, OPT-2.7B, GPT-Neo-2.7B, GPT-J-6B, GPT-NeoX-20B)",
            "split_rule": "detectors.text.data.split_of: by SHA-256 of the human text's first 120 characters "
                          f"(shared with its machine continuations), fractions {dict(SPLIT_FRACTIONS)}",
            "train_split": {"human_texts": len(human_train), "machine_texts": len(machine_train)},
            "held_out_perplexity_on": f"calib split, first {eval_texts} human and {eval_texts} machine texts",
        },
        "tokenizer": {"type": "byte-level BPE (HF tokenizers)", "vocab_size": len(tokenizer),
                      "trained_on": f"{len(human_train)} human texts of the train split",
                      "special_tokens": ["<|endoftext|> (BOS/EOS/PAD)"]},
        "models": models,
        "training_seconds_total": round(time.perf_counter() - started, 1),
        "training_hardware": f"{platform.processor() or platform.machine()}, torch threads={torch.get_num_threads()}, "
                             f"cpu_count={os.cpu_count()}",
        "reproduce": "python -m detectors.text train-lm && python -m detectors.text calibrate-binoculars",
        **CARD_NOTES,
    }
    write_card(out_dir, card)
    return card


def write_card(out_dir: Path, card: dict[str, Any]) -> None:
    """Write (or update) the pair's card; keys already there that ``card`` lacks are kept."""
    path = out_dir / CARD_NAME
    existing = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**existing, **card}, indent=2) + "\n")
    path.chmod(0o644)
