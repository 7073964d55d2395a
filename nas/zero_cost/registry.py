"""The registry of zero-cost proxies, found by name like ops and samplers.

A proxy is a function `compute(probe) -> float` of one freshly initialised network and one mini-batch (a
`ProxyProbe`), higher meaning "expected to train to a better accuracy". A built-in is one module in
nas/zero_cost/proxies; a user's proxy is registered from a module named in a search's `imports:` or NAS_IMPORT:

    from nas.zero_cost import register_proxy

    @register_proxy("my_proxy", description="...")
    def my_proxy(probe): return float(...)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from nas.registry import Registry


@dataclass(frozen=True)
class ProxySpec:
    name: str
    compute: Callable  # (ProxyProbe) -> float
    description: str
    needs_data: bool = True  # False: the score ignores the images (synflow, the counts)
    cheap: bool = False  # cheap enough to score every cell of a large pool (the NAS-Bench-201 table scores all of them)
    paper: str = ""


PROXIES: Registry[ProxySpec] = Registry("zero-cost proxy", discover=("nas.zero_cost.proxies",))


def register_proxy(name: str, compute: Callable | None = None, *, description: str | None = None,
                   needs_data: bool = True, cheap: bool = False, paper: str = "", replace: bool = False):
    """Register `compute(probe) -> float` under `name`; as a decorator when `compute` is not given."""

    def add(function: Callable) -> Callable:
        if not callable(function):
            raise TypeError(f"proxy {name!r}: compute must be callable")
        doc_lines = (function.__doc__ or "").strip().splitlines()
        text = description if description is not None else (doc_lines[0] if doc_lines else "")
        PROXIES.register(name, ProxySpec(name, function, text, needs_data, cheap, paper), replace=replace)
        return function

    return add if compute is None else add(compute)


# The built-ins in the order tables list them (the counts, then the papers' proxies), whichever module happened to
# be imported first; proxies registered from outside follow, in the order they were registered.
BUILTIN_ORDER = ("params", "macs", "grad_norm", "snip", "jacob_cov", "naswot", "synflow", "zico")


def proxy_names() -> list[str]:
    names = PROXIES.names()
    return [name for name in BUILTIN_ORDER if name in names] + [name for name in names if name not in BUILTIN_ORDER]


def cheap_proxy_names() -> list[str]:
    return [name for name in proxy_names() if PROXIES.get(name).cheap]
