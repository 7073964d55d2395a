"""Whether an accuracy is a real result or a degenerate one: the network is at chance level, or predicts one class.

A network that has not learned (1 epoch of a proxy, a broken recipe, stale batch-norm statistics) scores 1/classes
and often puts every image in one class; its accuracy then says nothing about the cell, and a table must say so.

The rules:
- one class predicted: the most-predicted class takes at least 90% of the images. A network that learned anything
  on a balanced test set spreads its predictions (about 1/classes each); 90% is far from that even with two classes
  (50% each), and far enough from 100% to catch the near-collapsed.
- chance level: accuracy at most 1/classes + a margin of 2 points, widened to 3 standard errors of a guessing
  classifier's accuracy when the number of images is known and small (1,000 images, two classes: 4.7 points).
  On 10,000 test images 2 points is over 4 standard errors (0.3 points with 10 classes, 0.5 with two), so a
  network at chance lands inside and one that learned 2 points' worth lands outside; for two classes this flags
  52% and below (the shipped 50.25% "from scratch" run).
A record that does not hold what a rule reads (older tables) is "not recorded" and never flagged.
"""

from __future__ import annotations

import math

ONE_CLASS_SHARE = 0.9
CHANCE_MARGIN = 0.02
CHANCE_STANDARD_ERRORS = 3
ONE_CLASS = "one class predicted"
CHANCE_LEVEL = "chance level"


def degenerate_kind(accuracy: float | None, num_classes: int | None, top_class_share: float | None = None,
                    images: int | None = None) -> str:
    """ONE_CLASS, CHANCE_LEVEL or "" (a real result, or not recorded)."""
    if _known(top_class_share) and top_class_share >= ONE_CLASS_SHARE:
        return ONE_CLASS
    if _known(accuracy) and _known(num_classes) and num_classes >= 2:
        if accuracy <= chance_ceiling(num_classes, images):
            return CHANCE_LEVEL
    return ""


def degenerate_reason(accuracy: float | None, num_classes: int | None, top_class_share: float | None = None,
                      images: int | None = None) -> str:
    """What is degenerate, with the number that shows it, e.g. "one class predicted (100% of images)"; "" if not."""
    kind = degenerate_kind(accuracy, num_classes, top_class_share, images)
    if kind == ONE_CLASS:
        return f"{kind} ({100 * top_class_share:.3g}% of images)"  # 99.7%, not a rounded 100%
    if kind == CHANCE_LEVEL:
        return f"{kind} ({100 * accuracy:.2f}% with {int(num_classes)} classes)"
    return ""


def chance_ceiling(num_classes: int, images: int | None = None) -> float:
    """The highest accuracy still called chance level."""
    chance = 1 / num_classes
    margin = CHANCE_MARGIN
    if _known(images) and images > 0:
        margin = max(margin, CHANCE_STANDARD_ERRORS * math.sqrt(chance * (1 - chance) / images))
    return chance + margin


def record_degenerate_kind(record) -> str:
    """degenerate_kind of a table row: a trial's or a campaign run's record, a dict, or a pandas row. It reads
    test_acc (or val_acc where there is no test accuracy), num_classes, top_class_share and test_images."""
    return degenerate_kind(*_record_inputs(record))


def record_degenerate_reason(record) -> str:
    """degenerate_reason of a table row (see record_degenerate_kind): what the report prints beside its accuracy."""
    return degenerate_reason(*_record_inputs(record))


def _record_inputs(record) -> tuple:
    accuracy, images = _field(record, "test_acc"), _field(record, "test_images")
    if accuracy is None:  # a search trial: its accuracy and its prediction share are the validation split's
        accuracy, images = _field(record, "val_acc"), None
    return accuracy, _field(record, "num_classes"), _field(record, "top_class_share"), images


def _field(record, name: str):
    # a dict or pandas row by key (a row's attributes include its own, such as .name), a record by attribute
    value = record.get(name) if hasattr(record, "get") else getattr(record, name, None)
    return value if _known(value) else None


def _known(value) -> bool:
    """False for None, NaN and pandas' NA: a column an older table does not have, or an empty cell."""
    try:
        return not math.isnan(float(value))
    except (TypeError, ValueError):
        return False
