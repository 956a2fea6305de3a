"""The report contents: verified bundle data in, ``Document`` objects out (pure).

Each kind of report has its module; this one names them for the command and the demo:

=============  =====================================================  ==========================
kind           what                                                   files
=============  =====================================================  ==========================
register       媒体管理台帳 (``register``)                              ``register``
disposal       廃棄証明書 / 消去証明書, one per medium (``disposal``)    ``disposal-<media id>``
completion     返還・廃棄完了報告 (``completion``)                      ``completion``
inspection     別紙報告票, the MIC form (``inspection``)                ``inspection``
inspection-    検査記録, the municipality's signed inspections        ``inspection-record``
record         (``inspection_record``)
findings       検証結果報告 (``findings``)                              ``findings``
staff          作業従事者名簿 (``staff``)                               ``staff``
incident       事故報告書 (``incidents``)                               ``incident``
periodic       定期報告書 (``periodic``)                                ``periodic``
=============  =====================================================  ==========================

:func:`build_reports` returns (file stem, document) pairs; the renderers
(``verify.reports.render_pdf`` / ``render_html`` / ``render_json``) make the
bytes, and ``verify.reports.produce`` writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from custody.verify.reports.completion import build_completion
from custody.verify.reports.data import ReportData
from custody.verify.reports.disposal import build_certificate, certified_media
from custody.verify.reports.document import Document, Lang
from custody.verify.reports.findings import build_findings
from custody.verify.reports.incidents import build_incidents
from custody.verify.reports.inspection import build_inspection
from custody.verify.reports.inspection_record import build_inspection_record
from custody.verify.reports.periodic import build_periodic
from custody.verify.reports.register import build_register
from custody.verify.reports.staff import build_staff

REPORTS = ("register", "disposal", "completion", "inspection", "inspection-record", "findings", "staff", "incident",
           "periodic")

_SINGLE: dict[str, Callable[[ReportData, Lang], Document]] = {
    "register": build_register,
    "completion": build_completion,
    "inspection": build_inspection,
    "inspection-record": build_inspection_record,
    "findings": build_findings,
    "staff": build_staff,
    "incident": build_incidents,
    "periodic": build_periodic,
}


def iter_reports(kind: str, data: ReportData, lang: Lang) -> Iterator[tuple[str, Document]]:
    """The documents of one kind of report as (file stem, document), each built when it is drawn (a
    certificate per medium: the writer holds a few at a time); ValueError for an unknown kind, at once."""
    if kind == "disposal":
        return ((f"disposal-{m.id}", build_certificate(data, m, entry, lang)) for m, entry in certified_media(data))
    builder = _SINGLE.get(kind)
    if builder is None:
        raise ValueError(f"unknown report {kind!r}; one of {', '.join(REPORTS)}")
    return iter([(kind, builder(data, lang))])


def report_count(kind: str, data: ReportData) -> int:
    """How many documents ``iter_reports`` gives for ``kind``, without building them."""
    return len(certified_media(data)) if kind == "disposal" else 1


def build_reports(kind: str, data: ReportData, lang: Lang) -> list[tuple[str, Document]]:
    """The documents of one kind of report as (file stem, document); ValueError for an unknown kind."""
    return list(iter_reports(kind, data, lang))


__all__ = ["REPORTS", "build_reports", "iter_reports", "report_count"]
