"""Shared test set-up: single-threaded torch (the suite runs two pytest workers on two cores)."""

import os

import torch

torch.set_num_threads(1)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
