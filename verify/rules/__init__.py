"""The verifier's rules (docs/spec-rules.md): one small object per family, each with a typed result.

Integrity (§4, I1-I9): ``entries`` (who may sign, a worker's verdict on a chunk, the chain joined in
order), ``checkpoints`` (checkpoint signatures, tree roots, the municipality's witness), ``proofs``
(inclusion proofs), ``manifest`` and ``attachments``.  ``verify.engine.verify_bundle`` runs them in
that order around the process pool (``verify.pool``).  Compliance (§6): ``lifecycle``, one replay of
the lifecycle families whose findings are grouped by family; ``default_rules`` gives it fresh.
"""

from __future__ import annotations

from custody.verify.context import Rule


def default_rules() -> list[Rule]:
    """Every compliance rule, fresh for one verification run."""
    from custody.verify.rules.lifecycle import LifecycleRule

    return [LifecycleRule()]
