"""Worker processes for routing: they ignore Ctrl-C and watch a shared stop event instead.

Both the planner's part pool and the portfolio run routing searches in spawned processes. A
terminal Ctrl-C reaches every process of the group; the workers ignore it so that only the
parent decides, and the parent sets a shared event that each search polls in its solution
callback. The search then keeps its best solution and returns it.
"""

from __future__ import annotations

import logging
import signal

from optimizer.routing import StopFlag

_WORKER_STOP: StopFlag | None = None


def worker_init(stop: StopFlag, log_level: int) -> None:
    """Initialise a routing worker process.

    Parameters
    ----------
    stop
        The shared event that the parent sets on Ctrl-C.
    log_level
        The parent's log level: progress lines of the search go to stderr at INFO and below.
    """
    global _WORKER_STOP
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_STOP = stop
    if log_level <= logging.INFO:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("bsb %(asctime)s %(message)s", "%H:%M:%S"))
        logger = logging.getLogger("optimizer")
        logger.handlers[:] = [handler]
        logger.setLevel(log_level)
        logger.propagate = False


def worker_stop() -> StopFlag | None:
    """Return the stop event of this worker process (``None`` outside a worker)."""
    return _WORKER_STOP
