"""Progress reporting that works the same from the CLI (tqdm) and from delegated operators.

Engine functions take ``progress``: True for a tqdm bar on stderr, False for silence, or a
callable ``(fraction, label)`` such as ``lambda f, s: ctx.set_progress(progress=f, label=s)``.
"""

from __future__ import annotations

from typing import Callable, Union

from tqdm.auto import tqdm

ProgressArg = Union[bool, Callable[[float, str], None]]


class Progress:
    """Counts finished units of work out of ``total`` and reports them."""

    def __init__(self, total: int, desc: str, progress: ProgressArg = True):
        self.total, self.desc, self.done = total, desc, 0
        self._callback = progress if callable(progress) else None
        self._bar = tqdm(total=total, desc=desc, unit="img") if progress is True else None

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            if self.done >= self.total:
                self._bar.n = self.done  # drawn once, by close(), which always draws the last state
            else:
                self._bar.update(n)
        if self._callback is not None:
            fraction = self.done / self.total if self.total else 1.0
            self._callback(fraction, f"{self.desc}: {self.done}/{self.total}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
