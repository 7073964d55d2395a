"""Numbers other people published, kept beside our own so reports can print them side by side."""

from __future__ import annotations

NASBENCH201_SOURCE = (
    "Dong & Yang, NAS-Bench-201, ICLR 2020 (search results on CIFAR-10): CIFAR-10 test accuracy (%) of the picked cell, "
    "mean ± std over 500 runs with a 12,000 s simulated search budget"
)
# method -> (mean, std) of CIFAR-10 200-epoch test accuracy (%)
NASBENCH201_CIFAR10 = {
    "REA": (93.92, 0.30),
    "REINFORCE": (93.85, 0.37),
    "random search": (93.70, 0.36),
    "BOHB": (93.61, 0.52),
}
NASBENCH201_CIFAR10_OPTIMUM = 94.37
