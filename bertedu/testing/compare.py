"""The comparison every checker ends with: a student's tensor against the library's.

A mismatch raises ``AssertionError`` naming the quantity and saying what differs: the type, the
shape, the largest difference (floating tensors, compared in float64 with ``atol``/``rtol``) or
the first differing indices (integer and boolean tensors, compared exactly).
"""

from __future__ import annotations


def assert_matches(what: str, got, expected, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Raise AssertionError naming ``what`` unless ``got`` equals ``expected`` (a tensor)."""
    import torch

    if not isinstance(got, torch.Tensor):
        raise AssertionError(f"{what}: expected a torch.Tensor, got {type(got).__name__}")
    if got.shape != expected.shape:
        raise AssertionError(
            f"{what}: shape {tuple(got.shape)} differs from the library's {tuple(expected.shape)}")
    if got.dtype.is_floating_point and expected.dtype.is_floating_point:
        if not torch.allclose(got.double(), expected.double(), atol=atol, rtol=rtol,
                              equal_nan=True):
            worst = (got.double() - expected.double()).abs().max().item()
            raise AssertionError(
                f"{what}: values differ from the library's (largest difference {worst:.3g})")
    elif not torch.equal(got, expected):
        wrong = (got != expected).nonzero()[:3].tolist()
        raise AssertionError(f"{what}: entries differ from the library's, e.g. at indices {wrong}")
