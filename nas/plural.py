"""Counts in words with the noun agreeing ("1 epoch", "2 epochs", "top 1 cell"): every sentence and label a user
reads goes through here rather than pasting an 's'."""

from __future__ import annotations

IRREGULAR = {"class": "classes"}


def count_of(number, noun: str, plural: str | None = None) -> str:
    """'1 epoch', '2 epochs', '1,600 images'; `plural` where adding "s" is wrong. A number that is not one (None,
    '?') keeps the plural."""
    many = plural or IRREGULAR.get(noun, noun + "s")
    if isinstance(number, int) and not isinstance(number, bool):
        return f"{number:,} {noun if number == 1 else many}"
    return f"{number} {many}"
