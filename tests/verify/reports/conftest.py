"""Fixtures for the report-content tests: real ledgers (tests/verify/reports/scenario.py), exported,
cosigned and verified once per session; helpers to read PDFs."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from custody.ledger.bundle import Bundle
from custody.verify.reports.data import ReportData
from custody.verify.reports.document import Block, Document, Hash, KeyValues, Section, Table
from custody.verify.reports.produce import gather
from tests.verify.reports.scenario import Built, build, make_authority


@dataclass
class Case:
    built: Built
    authority: Path
    ja: ReportData
    en: ReportData

    @property
    def bundle(self) -> Path:
        return self.built.bundle


def _case(root: Path, variant: str, **kw: Any) -> Case:
    built = build(root, variant, **kw)
    authority = make_authority(built, root / "authority")
    with Bundle(built.bundle) as bundle:
        ja = gather(bundle, built.trust, "ja", workers=1)
        en = gather(bundle, built.trust, "en", workers=1)
    return Case(built, authority, ja, en)


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Case:
    return _case(tmp_path_factory.mktemp("clean"), "clean")


@pytest.fixture(scope="session")
def violations(tmp_path_factory: pytest.TempPathFactory) -> Case:
    return _case(tmp_path_factory.mktemp("violations"), "violations")


@pytest.fixture(scope="session")
def uncosigned(tmp_path_factory: pytest.TempPathFactory) -> Case:
    """Closed, but the municipality cosigned only the genesis checkpoint."""
    return _case(tmp_path_factory.mktemp("uncosigned"), "clean", cosign_final=False)


# --- reading documents and PDFs ---


def texts(value: object) -> list[str]:
    """Every text in a document (titles, labels, cells, hashes), in order."""
    out: list[str] = []

    def walk(v: object) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, Hash):
            out.append(v.value)
        elif isinstance(v, tuple | list):
            for item in v:
                walk(item)
        elif isinstance(v, Document):
            walk([v.title, v.subtitle, v.banner, v.letterhead, v.meta, v.blocks, v.header_note, v.footer_note])
        elif hasattr(v, "__dataclass_fields__"):
            walk([getattr(v, name) for name in v.__dataclass_fields__])

    walk(value)
    return out


def all_text(doc: object) -> str:
    return "\n".join(texts(doc))


def tables(blocks: object) -> list[Table]:
    """Every table in a document or block list, depth first."""
    found: list[Table] = []

    def walk(items: object) -> None:
        for b in items if isinstance(items, tuple | list) else ():
            if isinstance(b, Table):
                found.append(b)
            elif isinstance(b, Section):
                walk(b.blocks)

    walk(blocks.blocks if isinstance(blocks, Document | Section) else blocks)
    return found


def keyvalues(doc: Document) -> dict[str, object]:
    """Every label/value row of a document (meta and key/value blocks), by label (first wins)."""
    out: dict[str, object] = {}
    for label, value in doc.meta:
        out.setdefault(label, value.value if isinstance(value, Hash) else value)

    def walk(items: tuple[Block, ...]) -> None:
        for b in items:
            if isinstance(b, KeyValues):
                for label, value in b.rows:
                    out.setdefault(label, value.value if isinstance(value, Hash) else value)
            elif isinstance(b, Section):
                walk(tuple(b.blocks))

    walk(tuple(doc.blocks))
    return out


def section(doc: Document, heading_part: str) -> Section:
    def walk(items: tuple[Block, ...]) -> Section | None:
        for b in items:
            if isinstance(b, Section):
                if heading_part in b.heading:
                    return b
                inner = walk(tuple(b.blocks))
                if inner is not None:
                    return inner
        return None

    found = walk(tuple(doc.blocks))
    assert found is not None, f"no section with {heading_part!r} in {doc.title}"
    return found


def cell_text(cell: object) -> str:
    return cell.value if isinstance(cell, Hash) else str(cell)


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_fonts(pdf: bytes) -> list[tuple[str, bool]]:
    """(base font name, embedded) for every font the pages use."""
    reader = PdfReader(io.BytesIO(pdf))
    out: dict[str, bool] = {}
    for page in reader.pages:
        resources = page.get("/Resources")
        fonts = resources.get_object().get("/Font") if resources is not None else None
        for ref in fonts.get_object().values() if fonts is not None else ():
            font = ref.get_object()
            name = str(font.get("/BaseFont"))
            if font.get("/Subtype") == "/Type0":
                font = font["/DescendantFonts"][0].get_object()
            descriptor = font.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            out[name] = "/FontFile2" in descriptor or "/FontFile3" in descriptor
    return sorted(out.items())


def squash(text: str) -> str:
    """Text without whitespace: PDF extraction breaks lines where the layout does."""
    return "".join(text.split())
