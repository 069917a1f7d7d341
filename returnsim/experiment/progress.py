"""Progress bars that appear only where a person watches.

Every long call of the Python API (:func:`~returnsim.run_experiment` and the studies of
:mod:`returnsim.decide`) takes ``progress``:

* ``None`` (the default): a bar when someone can see it, that is in a notebook (a widget,
  through ``tqdm.auto``) or when stderr is a terminal; nothing when stderr is a log file, a pipe
  or a CI job, so logs never fill with carriage-return redraws. The decision is tqdm's own
  (``disable=None`` turns a bar off on a stream that is not a terminal; its notebook bar
  ignores that test because a notebook is always watched).
* ``True``: always a bar (on stderr outside notebooks), even into a file.
* ``False``: never a bar, and tqdm is not even imported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_progress", "progress_bar"]


class _Silent:
    """A bar that shows nothing, with the part of tqdm's interface the engine uses."""

    def __init__(self, total: int = 0) -> None:
        self.total = total
        self.n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def check_progress(progress: Any) -> bool | None:
    """``progress`` as ``True``, ``False`` or ``None``, else a ``TypeError`` naming it."""
    if progress is None:
        return None
    if not isinstance(progress, bool | np.bool_):
        raise TypeError(
            f"progress must be True or False (or None: a bar only in a notebook or a terminal), "
            f"got {progress!r:.60}"
        )
    return bool(progress)


def progress_bar(total: int, progress: bool | None, desc: str, unit: str) -> Any:
    """A bar of ``total`` steps labelled ``desc`` (``unit`` per step), shown as ``progress``
    asks (see the module's docstring); its ``update``, ``refresh`` and ``close`` are no-ops when
    it is off."""
    if check_progress(progress) is False:
        return _Silent(total)
    from tqdm.auto import tqdm

    # disable=None: tqdm switches the bar off itself when stderr is not a terminal.
    return tqdm(total=total, desc=desc, unit=unit, disable=None if progress is None else False)
