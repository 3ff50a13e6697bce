"""Measurement primitives: the FLOPs formula, the peak table and the CPU memory tracker."""

from __future__ import annotations

import torch

from bertedu.bench import measure
from bertedu.config import BertConfig


def test_model_flops_on_a_known_example():
    config = BertConfig(vocab_size=10, hidden_size=4, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=8)
    # P = L (4H^2 + 2HI) + H^2 + VH = 2 (64 + 64) + 16 + 40 = 312
    assert measure.matmul_params(config) == 312
    assert measure.matmul_params(config, mlm_head=False) == 256
    # lengths 3 and 5: 6 * 312 * 8 + 12 * 2 * 4 * (9 + 25)
    assert measure.model_flops(config, [3, 5]) == 6 * 312 * 8 + 12 * 2 * 4 * 34 == 18240
    assert measure.model_flops(config, [3, 5], training=False, mlm_head=False) == (
        2 * 256 * 8 + 4 * 2 * 4 * 34)


def test_peak_flops_lookup():
    assert measure.peak_flops("NVIDIA H100 80GB HBM3", "bfloat16") == 989e12
    assert measure.peak_flops("NVIDIA H100 PCIe", "float16") == 756e12
    assert measure.peak_flops("NVIDIA A100-SXM4-80GB", "float16") == 312e12
    assert measure.peak_flops("NVIDIA H200", "float16") == 989e12
    assert measure.peak_flops("NVIDIA L4", "float32") == 30.3e12
    assert measure.peak_flops("Tesla T4", "bfloat16") is None  # T4 has no bfloat16 tensor cores
    assert measure.peak_flops("AMD EPYC 7B13", "float32") is None


def test_memory_tracker_counts_live_tensors():
    with measure.TensorMemoryTracker() as tracker:
        a = torch.ones(1000)  # 4000 bytes
        b = torch.ones(500)  # 2000 bytes
        del a
        c = torch.ones(250)  # 1000 bytes, fits in the peak
        view = b[:10]  # shares b's storage: not counted again
    assert tracker.peak == 6000 and tracker.live == 3000
    del b, c, view


def test_alternating_timing_and_spread():
    calls = []
    times = measure.time_alternating({"a": lambda: calls.append("a"),
                                      "b": lambda: calls.append("b")}, reps=3, warmup=1,
                                     device=torch.device("cpu"))
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then A B, B A, A B
    assert sorted(times) == ["a", "b"] and all(len(t) == 3 for t in times.values())
    stats = measure.spread([3.0, 1.0, 2.0, 4.0, 5.0])
    assert stats == {"time_median_s": 3.0, "time_q1_s": 2.0, "time_q3_s": 4.0,
                     "time_min_s": 1.0, "time_max_s": 5.0}
    assert measure.spread([2.0])["time_q3_s"] == 2.0


def test_state_bytes_and_cpu_peak_memory():
    model = torch.nn.Linear(4, 2)  # 8 + 2 float32 parameters
    assert measure.model_state_bytes(model, None) == 40
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 4)).sum().backward()
    optimizer.step()  # two moments per parameter and a step counter per tensor
    assert measure.model_state_bytes(model, optimizer) > 3 * 40
    mib, method = measure.measure_peak_memory(lambda: torch.ones(2**18), torch.device("cpu"), 0)
    assert method.startswith("cpu") and mib == 1.0  # 2^18 float32 = 1 MiB
