"""A standard module an operator's command imports and never uses, loaded only when first used.

typer imports ``subprocess`` at its start (``typer.main``, ``typer._completion_shared``) for what it does
when asked to open a URL or complete a shell's command line, which an operator's command never does.  It
costs about 3 % of a check-out's start-up (``subprocess`` imports ``signal``, ``selectors``, ``locale``,
``_posixsubprocess`` and more), and the start-up is the whole round trip of an operator's command with the
key agent (issue 19; BENCHMARKS.md, the import floor).  (``platform``, which typer imports too, is used by
``uuid`` as it is imported, so deferring it would gain nothing.)

:func:`defer` puts a stand-in for each of :data:`MODULES` in ``sys.modules`` before typer is imported:
``import subprocess`` then binds the stand-in, and the first use of any of its names (``subprocess.run``,
``from subprocess import run``) loads the real module into it, once, under a lock.  The stand-in carries
the real module's ``__spec__``, so an ``import`` statement finds it complete and does not load it
(``importlib.util.LazyLoader``'s modules load on that first look at ``__spec__``, which is why it is not
used).  Everything a module object is asked for besides its name, spec and loader loads it; so the command
sees the module it would have imported, only later.
"""

from __future__ import annotations

import sys
from _thread import RLock
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

#: Imported by typer at its start and used only by ``typer.launch`` and shell completion.
MODULES = ("subprocess",)

# What the import system reads from a module in sys.modules without using it: answered without loading.
_OWN = frozenset({"__name__", "__spec__", "__loader__", "__path__", "__file__", "__cached__", "__class__"})
_LOCK = RLock()
_LOADING: set[str] = set()


class Deferred(ModuleType):
    """A module loaded on first use (module documentation)."""

    def __init__(self, spec: ModuleSpec) -> None:
        super().__init__(spec.name)
        self.__spec__ = spec
        self.__loader__ = spec.loader

    def __getattr__(self, name: str) -> Any:  # only for a name the module does not hold (yet)
        if name in _OWN or self.__name__ in _LOADING:  # asked while it loads: as a partly run module answers
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        _load(self)
        return getattr(self, name)

    def __dir__(self) -> list[str]:
        _load(self)
        return dir(self)


def _load(module: ModuleType) -> None:
    with _LOCK:
        spec = module.__spec__
        if type(module) is not Deferred or spec is None or spec.loader is None or spec.name in _LOADING:
            return  # loaded already (by another thread), or loading in this one
        _LOADING.add(spec.name)
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(spec.name, None)  # as after a failed import: the next import tries again
            raise
        finally:
            _LOADING.discard(spec.name)
        module.__class__ = ModuleType  # type: ignore[assignment]  # the loaded module, as LazyLoader leaves it


def defer(names: tuple[str, ...] = MODULES) -> list[str]:
    """Put a :class:`Deferred` stand-in in ``sys.modules`` for each of ``names`` not imported yet; the names
    deferred."""
    from importlib.util import find_spec

    done = []
    for name in names:
        if name in sys.modules:
            continue
        spec = find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            continue
        sys.modules[name] = Deferred(spec)
        done.append(name)
    return done


def loaded(name: str) -> bool:
    """Whether module ``name`` has been imported and is not a stand-in still waiting for its first use."""
    module = sys.modules.get(name)
    return module is not None and not isinstance(module, Deferred)
