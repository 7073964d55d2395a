"""Our counts of a baseline as published, which the tests compare with the paper's (the table itself counts each
network once for both figures, in nas.models.baseline_table)."""

from __future__ import annotations

from nas.models.baseline_table import inference_form
from nas.models.profile import count_params, count_params_and_macs


def our_params(spec) -> int:
    return count_params(inference_form(spec))


def our_macs(spec) -> int:
    """Multiply-adds of one image at the size the network was designed for."""
    return count_params_and_macs(inference_form(spec), (3, spec.image_size, spec.image_size))["macs"]
