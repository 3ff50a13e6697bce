"""The seed experiment's published numbers, as data: the table this benchmark reproduces.

The transformers documentation (BERT model page, section "Using Scaled Dot Product Attention
(SDPA)") reports a local benchmark on an A100-80GB with PyTorch 2.2.0 in float16, random-weight
``bert-base-uncased``, eager attention against SDPA. Its percentages are defined as
``speedup = t_eager / t_sdpa - 1`` and ``memory saving = m_eager / m_sdpa - 1``; the rows below
copy the published columns unchanged, so that the chapter and the benchmark report compute their
comparisons from one place.

References:
    Wolf et al. (2020), Transformers: State-of-the-art natural language processing; the
    transformers documentation, BERT model page.
"""

from __future__ import annotations

SEED_SOURCE = ("transformers documentation, BERT model page, 'Using Scaled Dot Product Attention "
               "(SDPA)': A100-80GB, PyTorch 2.2.0, float16")

# (batch, seq, eager s per batch, sdpa s, speedup %, eager MB, sdpa MB, memory saving %)
SEED_TRAIN_TABLE = (
    (4, 256, 0.023, 0.017, 35.472, 939.213, 764.834, 22.800),
    (4, 512, 0.023, 0.018, 23.687, 1970.447, 1227.162, 60.569),
    (8, 256, 0.023, 0.018, 23.491, 1594.295, 1226.114, 30.028),
    (8, 512, 0.035, 0.025, 43.058, 3629.401, 2134.262, 70.054),
    (16, 256, 0.030, 0.024, 25.583, 2874.426, 2134.262, 34.680),
    (16, 512, 0.064, 0.044, 46.223, 6964.659, 3961.013, 75.830),
)
# (batch, seq, eager ms per token, sdpa ms per token, speedup %, eager MB, sdpa MB, saving %)
SEED_INFER_TABLE = (
    (1, 128, 5.736, 4.987, 15.022, 282.661, 282.924, -0.093),
    (1, 256, 5.689, 4.945, 15.055, 298.686, 298.948, -0.088),
    (2, 128, 6.154, 4.982, 23.521, 314.523, 314.785, -0.083),
    (2, 256, 6.201, 4.949, 25.303, 347.546, 347.033, 0.148),
    (4, 128, 6.049, 4.987, 21.305, 378.895, 379.301, -0.107),
    (4, 256, 6.285, 5.364, 17.166, 443.209, 444.382, -0.264),
)
