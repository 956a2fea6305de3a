"""Errors raised by the work-location agent (subclasses of the custody root)."""

from __future__ import annotations

from custody.ledger.errors import CustodyError


class AgentError(CustodyError):
    """The agent cannot do what it was asked (bad configuration, wrong state)."""


class MountTableError(AgentError):
    """The mount table cannot be read (missing file, permission, I/O error)."""


class BodyError(AgentError):
    """An event body the agent built is not JSON-compatible (a bug, never user input)."""
