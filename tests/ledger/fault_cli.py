"""Run the custody CLI in this process with ``FaultVFS`` as SQLite's default VFS (tests/ledger/test_io_faults.py).

    python -m tests.ledger.fault_cli METHOD N CODE [persistent] [file=NAME] -- ARGS...

fails the N-th call of METHOD (``xWrite``, ``xSync``, ...) -- counting only
the calls on the file NAME when given -- with the SQLite result CODE
(``SQLITE_FULL``, ``SQLITE_IOERR_FSYNC``, ...) while ``custody ARGS...`` runs,
exactly as the console script runs it, and exits with the command's own exit
code.  ``none 0 0`` injects nothing.  The last line on stderr lists the faults
that fired, the calls counted and the time SQLite's busy handler waited (in
``FaultVFS.xSleep``): ``fault-cli: {"fired": [...], "calls": {...},
"calls_by_file": {...}, "slept_s": ...}``.  The product itself has no switch for any of
this: the fault comes from the test's VFS alone.
"""

from __future__ import annotations

import json
import sys

import apsw

from tests.ledger.faultvfs import Fault, fault_vfs


def main(argv: list[str]) -> int:
    split = argv.index("--")
    spec, args = argv[:split], argv[split + 1:]
    method, n, code = spec[0], int(spec[1]), spec[2]
    files = [word.removeprefix("file=") for word in spec[3:] if word.startswith("file=")]
    fault = None if method == "none" else Fault(method, n, int(getattr(apsw, code)), "persistent" in spec[3:],
                                                 files[0] if files else None)
    from custody.cli.main import main as custody

    status: int | str | None = 0
    with fault_vfs() as vfs:
        vfs.arm(fault)
        try:
            custody(args)
        except SystemExit as exc:
            status = exc.code
        report = {"fired": vfs.fired, "calls": vfs.calls, "calls_by_file": vfs.calls_by_file,
                  "slept_s": vfs.slept_us / 1e6}
    sys.stderr.write(f"fault-cli: {json.dumps(report)}\n")
    return status if isinstance(status, int) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
