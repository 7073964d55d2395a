"""A function run on a background thread while the caller does something else; `result()` waits for it."""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class BackgroundCall(Generic[T]):
    """Runs `function()` on its own thread at once. `result()` returns what it returned or raises what it raised,
    in the caller's thread, so an error line reaches the user as if the call had been made there."""

    def __init__(self, function: Callable[[], T], name: str):
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(function,), name=name, daemon=True)
        self._thread.start()

    def _run(self, function: Callable[[], T]) -> None:
        try:
            self._value = function()
        except BaseException as error:  # noqa: BLE001 - re-raised by result() in the caller's thread
            self._error = error

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value
