"""The key agent: a person's key kept open for a shift by a per-user background process (``custody unlock``).

docs/spec.md §6.7 (The key agent).  ``paths`` says where its socket lives,
``protocol`` how a request and a reply travel, ``hardening`` what the
process does to keep the key out of swap, core dumps and other processes'
reach, ``server`` is the agent itself, ``client`` what a command uses to ask
it for a signature, and ``launch`` what ``custody unlock`` runs to start it.
What it agrees to sign is ``custody.ledger.signing_domain``.
"""
