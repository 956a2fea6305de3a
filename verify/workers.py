"""Worker processes that end with the process that started them.

A pool worker waits for its next task on a pipe that its sibling workers
also hold open, so when the parent is killed outright (the OOM killer,
``kill -9``) no end-of-file ever reaches it: it would wait for ever, holding
its memory (seen here: two verification workers still waiting 46 minutes
after their parent was killed).  Every pool custody starts -- the
verifier's, its first pass's, the report renderers' -- starts its workers
with ``watch_parent``.  Ctrl-C and a closed terminal reach the workers
themselves (the same process group) and need nothing of this.
"""

from __future__ import annotations

import os
import threading
import time

POLL_SECONDS = 1.0


def watch_parent(parent: int) -> None:
    """In a worker whose parent is process ``parent``: end the worker within ~1 s of the parent's end.

    ``parent`` comes from the parent itself (``os.getpid()`` there), so a
    parent that died before this runs is noticed too.  POSIX gives an
    orphan a new parent; on Windows, which does not, this never fires.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(POLL_SECONDS)
        os._exit(1)  # nobody is left to send a result to

    threading.Thread(target=watch, name="custody-watch-parent", daemon=True).start()


def watch_my_parent() -> None:
    """``watch_parent`` for the process that started this worker, whoever it is (a fork server's workers)."""
    watch_parent(os.getppid())
