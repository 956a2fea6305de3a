"""Compliance rules (docs/spec-rules.md §6 (C1-C15)) for the verifier engine."""

from __future__ import annotations

from custody.verify.engine import Rule


def default_rules() -> list[Rule]:
    """Every compliance rule, fresh for one verification run."""
    from custody.verify.rules.lifecycle import LifecycleRule

    return [LifecycleRule()]
