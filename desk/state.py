"""The desk's parts, made once when it starts: settings, workspace, inbox, bundles, jobs, witness, keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custody.desk.approving import ApproverKey
from custody.desk.bundles import BundleRecord, Shelf
from custody.desk.inbox import Inbox
from custody.desk.jobs import DONE, VERIFY, Job, Jobs
from custody.desk.security import Guard
from custody.desk.witnessing import WitnessDesk
from custody.desk.workspace import Workspace
from custody.verify.authority import Authority
from custody.verify.reports.data import ReportData

DEFAULT_MAX_UPLOAD_MB = 512


@dataclass(frozen=True)
class Settings:
    """What ``custody desk`` was started with."""

    authority: Path
    workspace: Path
    keys: tuple[Path, ...] = ()
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    max_upload: int = DEFAULT_MAX_UPLOAD_MB << 20
    lang: str = "ja"
    approver: dict[str, str] = field(default_factory=dict)  # name, title, organisation to prefill


class Desk:
    def __init__(self, settings: Settings, guard: Guard) -> None:
        self.settings = settings
        self.guard = guard
        Authority.open(settings.authority)  # a trust store that cannot be opened stops the start
        self.workspace = Workspace.open(settings.workspace)
        self.inbox = Inbox(self.workspace)
        self.shelf = Shelf(self.workspace, settings.authority)
        self.witness = WitnessDesk(self.workspace, settings.authority)
        self.keys = tuple(ApproverKey.from_file(path) for path in settings.keys)
        self.jobs = Jobs(settings.authority)

    def authority(self) -> Authority:
        return Authority.open(self.settings.authority)

    def close(self) -> None:
        self.jobs.close()

    # --- verified bundles ---

    def verification(self, record: BundleRecord, lang: str, *, start: bool = True) -> Job | None:
        """The verification of the bundle as it is now, in ``lang``; started when there is none."""
        version = self.shelf.current_version(record) or record.version
        job: Job | None = self.jobs.latest(VERIFY, record.id, version, lang)
        if job is None and start:
            job = self.jobs.submit(VERIFY, record.id, version, lang, record.path)
        return job

    def latest_data(self, origin: str, lang: str) -> tuple[BundleRecord | None, ReportData | None, Job | None]:
        """The newest bundle of ``origin``, and what its verification found (started when needed)."""
        records = sorted(self.shelf.of_origin(origin), key=lambda r: (r.size, r.added_at), reverse=True)
        if not records:
            return None, None, None
        for record in records:
            for job in self.jobs.done_for(VERIFY, record.id):
                if job.lang == lang or not self.jobs.latest(VERIFY, record.id, job.version, lang):
                    return record, job.result, job
        newest = records[0]
        current = self.verification(newest, lang)
        data = current.result if current is not None and current.state == DONE else None
        return newest, data, current

    def approver_defaults(self) -> dict[str, Any]:
        remembered = self.workspace.settings().get("approver")
        base = dict(self.settings.approver)
        if isinstance(remembered, dict):
            base.update({k: str(v) for k, v in remembered.items() if k in ("name", "title", "organisation") and v})
        return base
