"""DP-SGD overhead: one training step with per-sample gradients, clipping and noise over the same step
without them, for the same model and batch, plus peak memory (RSS on CPU, max allocated on CUDA).

Two scopes: the parameters ``privacy.training`` actually tunes (head + last residual block), and every
parameter of the detector (the worst case, for anyone who wants to tune the whole network). A batch is one
native tile per image, as in the fine-tune.
"""
from __future__ import annotations

import os
import resource
import statistics
import time
import warnings

import torch

from detectors.device import resolve_device
from privacy.accounting import Mechanism
from privacy.training import MOMENTUM, FinetuneConfig, load_base, make_private, tunable_parameters

BATCH = 32
WARMUP, STEPS = 2, 10


def _peak_mib(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _step_seconds(device: str, private: bool, scope: str) -> tuple[float, float]:
    base = load_base("synthetic-image", None, device)
    net = base.model.train()
    params = tunable_parameters(net) if scope == "head" else [p.requires_grad_(True) for p in net.parameters()]
    config = FinetuneConfig(batch_size=BATCH, learning_rate=0.01)
    optimizer: torch.optim.Optimizer = torch.optim.SGD(params, lr=config.learning_rate, momentum=MOMENTUM)
    if private:
        noise = torch.Generator(device=device).manual_seed(0)
        net, optimizer, _ = make_private(net, optimizer, config, Mechanism(1.0, 0.01, 1), noise)
    gen = torch.Generator().manual_seed(0)
    images = (torch.rand(BATCH, 3, base.tile, base.tile, generator=gen) * 2 - 1).to(device)
    labels = (torch.rand(BATCH, generator=gen) < 0.5).float().to(device)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(WARMUP + STEPS):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(images), labels).backward()
        optimizer.step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[WARMUP:]), _peak_mib(device)  # median: the CPU may be shared


def run() -> list[tuple[str, float, str, str]]:
    warnings.filterwarnings("ignore", message="(Full backward hook is firing|.*[Ss]ecure RNG)")
    device = str(resolve_device(os.environ.get("FORENSICS_DEVICE", "auto")))
    memory = "max allocated" if device.startswith("cuda") else "process peak RSS so far"
    rows = []
    for scope, what in (("head", "tuned parameters (head + last block)"), ("full", "all parameters")):
        plain_s, plain_mib = _step_seconds(device, False, scope)
        dp_s, dp_mib = _step_seconds(device, True, scope)
        rows += [
            (f"privacy step, non-private ({scope})", plain_s * 1000, "ms",
             f"synthetic-image, batch {BATCH}, {what}, {device}"),
            (f"privacy step, DP-SGD ({scope})", dp_s * 1000, "ms", "per-sample grads + clip + noise (Opacus)"),
            (f"privacy DP-SGD overhead ({scope})", dp_s / plain_s, "x", "DP step time / non-private step time"),
            (f"privacy peak memory, non-private ({scope})", plain_mib, "MiB", memory),
            (f"privacy peak memory, DP-SGD ({scope})", dp_mib, "MiB", memory),
        ]
    return rows
