"""Counts in printed text agree with their noun: "1 epoch", "3 epochs", never "1 epochs"."""

from __future__ import annotations


def count_of(count, noun: str, plural: str | None = None) -> str:
    """`count` and `noun` in agreement; `plural` where adding "s" is wrong. A count not known ("?", None) reads
    as plural."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
