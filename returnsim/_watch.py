"""What a pool worker runs first: end it as soon as the process that started it is gone.

Standard library only, in a top-level module, so that unpickling the initializer in a fresh
worker imports ``returnsim`` (lazy: no numpy, pandas or scipy) and this file, nothing else. A
worker used to import the whole engine (1.5-3 s) just to unpickle its initializer, and outlived
a parent killed in that window by as long (issue 22).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading

__all__ = ["watch_parent"]


def watch_parent() -> None:
    """Pool initializer: end this worker as soon as the process that started it is gone.

    A worker otherwise waits on its task queue forever once its parent is killed (the queue's
    pipe stays open in the worker itself). On Linux the kernel sends it SIGKILL when the parent
    dies (``PR_SET_PDEATHSIG``; safe because the engine's pools are started and shut down by
    the same call); everywhere a daemon thread waits on the parent's sentinel, which becomes
    ready when the parent exits for any reason, and then ends the worker at once.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    if sys.platform.startswith("linux"):
        try:  # the kernel kills this worker when its parent dies, whatever the worker is doing
            import ctypes
            import signal

            ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent.pid:  # the parent died before the request
            os._exit(1)

    def wait_for_parent(sentinel: int = parent.sentinel) -> None:
        from multiprocessing.connection import wait

        wait([sentinel])
        os._exit(1)

    threading.Thread(target=wait_for_parent, name="returnsim-watch-parent", daemon=True).start()
