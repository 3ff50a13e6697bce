"""Checkers for the chapters' exercises and for course assignments.

Each ``check_*`` function takes a student's implementation, runs it next to the library's on
seeded inputs, and raises ``AssertionError`` with a message that says what differs; it returns
``True`` when everything agrees. Sections follow the chapters.
"""

from __future__ import annotations

# --- chapter 2: tokenization -------------------------------------------------------------------

# --- chapters 3-6: embeddings, attention, relative positions, encoder ---------------------------

# --- chapters 7-9: heads, pretrained weights, decoder ------------------------------------------

# --- chapters 10-11: pretraining ---------------------------------------------------------------

# --- chapter 12: timing ------------------------------------------------------------------------
