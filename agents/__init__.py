"""The work-location agent: observes media attached and files written, and emits ledger events.

``mountinfo`` (parse and diff mount tables, pure) · ``volumes`` (identify a volume) ·
``monitor`` (mount and unmount notifications) · ``watcher`` (files written to one volume) ·
``agent`` (orchestration, heartbeats, alerts) · ``interfaces`` (``EventSink``, ``MediaIndex``) ·
``memory`` (in-memory implementations of both, for tests and the development runner).
"""
