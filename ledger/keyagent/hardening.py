"""What the key agent does to keep its keys to itself (docs/spec.md §6.7), on Linux.

* **Not dumpable** (``prctl(PR_SET_DUMPABLE, 0)``): the kernel writes no core
  dump of the process, and no other process -- not even one of the same
  user -- may attach to it with ptrace or read ``/proc/<pid>/mem``; its
  ``/proc/<pid>`` files belong to root.  Core dumps are also limited to 0
  bytes (``RLIMIT_CORE``).
* **Seeds in locked pages**: each private key's 32-byte seed lives in a page
  of its own, locked in memory (``mlock``: never written to swap) and left
  out of core dumps (``MADV_DONTDUMP``).  A key object is made from it for
  each signature and freed at once (OpenSSL clears the memory of a freed
  private key), so no long-lived copy of the key sits in unlocked memory.
  One page per key fits the smallest usual ``RLIMIT_MEMLOCK`` (64 KiB).
* **Everything locked where the limit allows**: ``mlockall(MCL_CURRENT |
  MCL_FUTURE)`` when ``RLIMIT_MEMLOCK`` is unlimited or the process may lock
  any amount (``CAP_IPC_LOCK``, e.g. root).  Under a finite limit it is not
  tried: with ``MCL_FUTURE`` every later allocation beyond the limit would
  fail, and the agent would end in the middle of a shift.

Each step reports what it did, and ``custody unlock`` prints it: a limit too
small for even one page (``RLIMIT_MEMLOCK`` 0) leaves the seeds unlocked,
and says so.  Elsewhere than Linux nothing here is available, and the key
agent does not start (``custody.ledger.keyagent.paths.SUPPORTED``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import resource
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
MCL_CURRENT = 1
MCL_FUTURE = 2
SEED_SIZE = 32


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def set_not_dumpable() -> bool:
    """``prctl(PR_SET_DUMPABLE, 0)`` and no core file; True when the kernel reports the process not dumpable."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    libc = _libc()
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    return int(libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)) == 0


def memlock_limit() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    return -1 if soft == resource.RLIM_INFINITY else int(soft)


def lock_everything() -> tuple[bool, str]:
    """``mlockall(MCL_CURRENT | MCL_FUTURE)`` where no limit can make a later allocation fail.

    (True, "") when done; (False, "") when not tried (a finite limit and no root); (False, why) when it failed.
    """
    if memlock_limit() != -1 and os.geteuid() != 0:
        return False, ""
    if _libc().mlockall(MCL_CURRENT | MCL_FUTURE) != 0:
        return False, os.strerror(ctypes.get_errno())
    return True, ""


class LockedSeed:
    """A 32-byte Ed25519 seed in a page of its own: locked in memory where allowed, left out of core dumps."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_SIZE:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._page = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self.locked, self.detail = self._lock()
        if hasattr(mmap, "MADV_DONTDUMP"):
            self._page.madvise(mmap.MADV_DONTDUMP)
        self._page[:SEED_SIZE] = seed

    def _lock(self) -> tuple[bool, str]:
        buffer = ctypes.c_char.from_buffer(self._page)
        try:
            address = ctypes.c_void_p(ctypes.addressof(buffer))
            if _libc().mlock(address, ctypes.c_size_t(mmap.PAGESIZE)) == 0:
                return True, ""
            return False, os.strerror(ctypes.get_errno())
        finally:
            del buffer  # release the export, or the page cannot be closed

    def private_key(self) -> Ed25519PrivateKey:
        """A new ``Ed25519PrivateKey`` made from the seed (to sign once, then drop)."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        with memoryview(self._page) as whole, whole[:SEED_SIZE] as seed:
            return Ed25519PrivateKey.from_private_bytes(seed)

    def wipe(self) -> None:
        """Overwrite the seed and give the page back."""
        if self._page.closed:
            return
        self._page[:SEED_SIZE] = bytes(SEED_SIZE)
        self._page.close()
