"""Japanese messages: the .po files parse, keep their placeholders, cover every _() string, reach --help.

Source strings are English and wrapped in ``_()`` (ledger/i18n.py); Japanese
lives in ``ledger/locale/ja/*.po``.  Messages are found with Babel's own
extractor, the same way ``pybabel extract -k _`` finds them, not with regexes.
"""

from __future__ import annotations

import ast
import json
import os
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from custody.cli.main import build_app
from custody.ledger import i18n, vocabulary
from custody.ledger.registry import KeyStatus
from custody.ledger.rule_texts import CONTEXT as RULE_CONTEXT
from custody.verify.findings import SEVERITIES
from custody.verify.reports.inspection import FORM_ROW, REFERENCE_ROWS, ROWS
from custody.verify.reports.labels import REPORT, Tr
from custody.verify.reports.periodic import COUNTS, PERIODIC_COUNT

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "ledger" / "locale" / "ja"
PACKAGES = ("ledger", "verify", "agents", "cli", "desk")
TEMPLATES = ROOT / "desk" / "templates"  # the desk's pages: _("...") in Jinja, found by Jinja's own extractor

# Words the code translates from variables, which no extractor can see:
# severities (verifycmd prints _(f.severity)), key status (engine: _(status)),
# and the label of a refused action (cli/common.py).
DYNAMIC_WORDS = (
    *SEVERITIES,
    *(v for k, v in vars(KeyStatus).items() if not k.startswith("_") and isinstance(v, str)),
    "refused",
)

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


def _po_files() -> list[Path]:
    return sorted(LOCALE.glob("*.po"))


def _read(path: Path) -> list[tuple[str, str]]:
    """(msgid, msgstr) of the entries without a context: what ``_()`` finds."""
    return [(msgid, msgstr) for context, msgid, msgstr in _read_all(path) if context is None]


def _read_all(path: Path) -> list[tuple[str | None, str, str]]:
    """(msgctxt or None, msgid, msgstr) of every entry."""
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="ja", abort_invalid=True)
    return [(m.context, str(m.id), str(m.string or "")) for m in catalog if m.id and isinstance(m.id, str)]


def _placeholders(text: str) -> set[str]:
    """Replacement fields as str.format sees them: name, conversion and format spec."""
    try:
        return {
            "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            for _lit, name, spec, conv in string.Formatter().parse(text)
            if name is not None
        }
    except ValueError:  # a stray brace: compare the brace groups literally
        return set(re.findall(r"\{[^{}]*\}", text))


def _translations() -> dict[str, str]:
    table: dict[str, str] = {}
    for path in _po_files():
        for msgid, msgstr in _read(path):
            if msgstr.strip():
                table[msgid] = msgstr
    return table


def _source_messages() -> Iterator[tuple[str, int, str]]:
    """(file, line, msgid) for every _("...") in the packages and the desk's templates, by Babel's Python
    extractor and Jinja's (extracted once per session: several tests read them)."""
    yield from _extracted()


@cache
def _extracted() -> tuple[tuple[str, int, str], ...]:
    found = []
    sources = [("python", path) for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]
    sources += [("jinja2.ext:babel_extract", path) for path in sorted(TEMPLATES.glob("*.html"))]
    for method, path in sources:
        for lineno, message, _comments, _context in extract_from_file(
            method, path, keywords={"_": None}, comment_tags=(), strip_comment_tags=True
        ):
            if isinstance(message, str) and message:
                found.append((path.relative_to(ROOT).as_posix(), lineno, message))
    return tuple(found)


@pytest.fixture
def restore_language() -> Iterator[None]:
    before = i18n.language()
    yield
    i18n.set_language(before)


# --- (a) the .po files ---


def test_there_are_po_files() -> None:
    names = [p.name for p in _po_files()]
    assert "core.po" in names, names


@pytest.mark.parametrize("path", _po_files(), ids=lambda p: p.name)
def test_po_file_parses_and_keeps_placeholders(path: Path) -> None:
    entries = [(msgid, msgstr) for _context, msgid, msgstr in _read_all(path)]
    assert entries, f"{path.name} holds no messages"
    wrong = [
        f"  {msgid!r}\n    -> {msgstr!r}\n    placeholders {sorted(_placeholders(msgid))} "
        f"vs {sorted(_placeholders(msgstr))}"
        for msgid, msgstr in entries
        if msgstr and _placeholders(msgid) != _placeholders(msgstr)
    ]
    assert not wrong, f"{path.name}: translations that change the {{placeholders}}:\n" + "\n".join(wrong)


def test_msgids_are_not_defined_twice_across_po_files() -> None:
    """Nor twice in one file: one (msgctxt, msgid) has one translation (the same English under two contexts
    is two messages)."""
    owner: dict[tuple[str | None, str], str] = {}
    clashes = []
    for path in _po_files():
        for context, msgid, _msgstr in _read_all(path):
            if (context, msgid) in owner:
                clashes.append(f"  {context!r} {msgid!r}: {owner[context, msgid]} and {path.name}")
            owner.setdefault((context, msgid), path.name)
    assert not clashes, "the same msgid is translated in two files (one silently wins):\n" + "\n".join(clashes)


def test_placeholder_helper() -> None:
    assert _placeholders("Key {name!r} at {path}: {n:>3}") == {"{name!r}", "{path}", "{n:>3}"}
    assert _placeholders("no fields {{here}}") == set()


# --- (b) completeness ---


def test_every_message_has_a_japanese_translation() -> None:
    """Every _() string in ledger/, verify/, agents/, desk/ (and its templates) is translated in some .po file.

    Lists all missing ones at once, by file, so the owner of each file sees theirs.
    """
    translated = _translations()
    missing: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for file, lineno, msgid in _source_messages():
        if msgid in translated or (file, msgid) in seen:
            continue
        seen.add((file, msgid))
        missing.setdefault(file, []).append(f"    line {lineno}: {msgid!r}")
    words = [w for w in DYNAMIC_WORDS if w not in translated]
    if words:
        missing["(passed to _() from variables)"] = [f"    {w!r}" for w in words]
    if missing:
        count = sum(len(v) for v in missing.values())
        report = "\n".join(f"  {file} ({len(lines)}):\n" + "\n".join(lines) for file, lines in sorted(missing.items()))
        pytest.fail(f"{count} message(s) without a Japanese translation in ledger/locale/ja/*.po:\n{report}")


LABELS_MODULE = ROOT / "verify" / "reports" / "labels.py"  # where Tr looks up its own labels


def _report_labels() -> Iterator[tuple[str, int, str, str]]:
    """(file, line, msgctxt, msgid) of every label a report or the desk looks up with its ``Tr``:
    ``t("English")`` (msgctxt "report"; ``self("English")`` inside ``Tr``) and ``t.pgettext("context",
    "English")`` (msgctxt "report: context").  Babel does not look inside f-strings: no label is looked up
    there."""
    for path in [*sorted((ROOT / "verify" / "reports").glob("*.py")), *sorted((ROOT / "desk").glob("*.py"))]:
        keywords: dict[str, Any] = {"t": None, "pgettext": ((1, "c"), 2)}
        if path == LABELS_MODULE:  # ``self("English")`` is a label only inside Tr; Babel would read ``self[x] =``
            keywords["self"] = None  # elsewhere as the start of one
        for lineno, message, _comments, context in extract_from_file(
            "python", path, keywords=keywords, comment_tags=(), strip_comment_tags=True,
        ):
            if isinstance(message, str) and message:
                name = path.relative_to(ROOT).as_posix()
                yield name, lineno, REPORT if context is None else f"{REPORT}: {context}", message


def test_every_report_label_has_a_japanese_translation() -> None:
    """Every report label is translated in ledger/locale/ja/report_labels.po under its context, and that file
    holds no label the code no longer uses."""
    labels = {(context, msgid): msgstr for context, msgid, msgstr in _read_all(LOCALE / "report_labels.po")}
    used = list(_report_labels())
    missing = sorted({f"  {file}:{line}: {context!r} {msgid!r}" for file, line, context, msgid in used
                      if not labels.get((context, msgid), "").strip()})
    assert not missing, "report labels without a Japanese translation:\n" + "\n".join(missing)
    # Labels looked up from data, which no extractor sees: the MIC form's rows and a periodic report's counts.
    from_data = [*((f"{REPORT}: {FORM_ROW}", row.title) for row in (*ROWS, *REFERENCE_ROWS)),
                 *((f"{REPORT}: {PERIODIC_COUNT}", key) for key in COUNTS)]
    assert [label for label in from_data if not labels.get(label, "").strip()] == []
    unused = sorted(set(labels) - {(context, msgid) for _f, _l, context, msgid in used} - set(from_data))
    assert not unused, f"report_labels.po translates labels no code uses: {unused}"
    assert len(used) > 600  # the extractor finds the labels (guards the checks above)


def test_a_report_label_follows_the_report_not_the_process() -> None:
    """One process writes a Japanese and an English report: the labels follow each report's language."""
    with i18n.using("en"):
        assert Tr("ja")("Media register") == "媒体管理台帳"
        assert Tr("ja").pgettext("a person's job title", "Title") == "役職" != Tr("ja")("Title")
    with i18n.using("ja"):
        assert Tr("en")("Media register") == "Media register"
    assert i18n.translate("Title", "ja", f"{REPORT}: a person's job title") == "役職"


@cache
def _rule_texts_and_contextual_messages() -> tuple[tuple[str, int, str | None, str], ...]:
    """(file, line, msgctxt, msgid) of every ``RuleText("English")`` (msgctxt None: the rules' messages,
    ledger/rule_texts.py, translated in rules.po under msgctxt "rule") and every ``pgettext("context",
    "English")`` of the packages but the reports' and the desk's (their ``t.pgettext`` adds the report's own
    context: :func:`_report_labels`); found by Babel's extractor as ``_()`` is, in one pass."""
    found: list[tuple[str, int, str | None, str]] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            for lineno, message, _comments, context in extract_from_file(
                "python", path, keywords={"RuleText": None, "pgettext": ((1, "c"), 2)}, comment_tags=(),
                strip_comment_tags=True,
            ):
                if not isinstance(message, str) or not message:
                    continue
                if context is None:
                    found.append((name, lineno, None, message))
                elif not name.startswith(("verify/reports/", "desk/")):
                    found.append((name, lineno, context, message))
    return tuple(found)


def _rule_texts() -> Iterator[tuple[str, int, str]]:
    """(file, line, msgid) of every ``RuleText("English")``."""
    for name, lineno, context, message in _rule_texts_and_contextual_messages():
        if context is None:
            yield name, lineno, message


def test_every_rule_text_has_a_japanese_translation_and_every_rule_entry_is_used() -> None:
    """rules.po translates each RuleText of the sources under msgctxt "rule", and nothing else."""
    entries = {(context, msgid): msgstr for context, msgid, msgstr in _read_all(LOCALE / "rules.po")}
    used = list(_rule_texts())
    assert len(used) > 300  # the extractor finds them (guards the checks below)
    missing = sorted({f"  {file}:{line}: {msgid!r}" for file, line, msgid in used
                      if not _CJK.search(entries.get((RULE_CONTEXT, msgid), ""))})
    assert not missing, "rule texts without a Japanese translation in rules.po:\n" + "\n".join(missing)
    unused = sorted(set(entries) - {(RULE_CONTEXT, msgid) for _f, _l, msgid in used})
    assert not unused, f"rules.po translates texts no rule uses (delete them): {unused}"


#: The vocabulary's contexts ("vocabulary: STATES", ...): its tables are checked on their own.
VOCABULARY = "vocabulary: "


def _contextual_messages() -> Iterator[tuple[str, int, str, str]]:
    """(file, line, msgctxt, msgid) of every ``pgettext("context", "English")`` but the reports' and the desk's."""
    for name, lineno, context, message in _rule_texts_and_contextual_messages():
        if context is not None:
            yield name, lineno, context, message


def test_every_message_with_a_context_is_translated_and_used() -> None:
    """pgettext's messages outside the reports (the same English worded apart, e.g. a contract about to be
    pinned): each is translated under its context, and no .po entry of such a context outlives its call."""
    entries = {(context, msgid): msgstr for path in _po_files() for context, msgid, msgstr in _read_all(path)
               if context is not None and context != RULE_CONTEXT and not context.startswith((REPORT, VOCABULARY))}
    used = list(_contextual_messages())
    assert len(used) >= 9  # the extractor finds them (guards the checks below)
    missing = sorted({f"  {file}:{line}: {context!r} {msgid!r}" for file, line, context, msgid in used
                      if not entries.get((context, msgid), "").strip()})
    assert not missing, "messages with a context but no Japanese translation:\n" + "\n".join(missing)
    unused = sorted(set(entries) - {(context, msgid) for _f, _l, context, msgid in used})
    assert not unused, f"translations with a context no code uses (delete them): {unused}"


def test_every_word_of_the_vocabulary_is_translated_and_used() -> None:
    """vocabulary.po translates each word of the vocabulary's tables under the table's context, and nothing
    else (ledger/vocabulary.py, Words)."""
    entries = {(context, msgid): msgstr for context, msgid, msgstr in _read_all(LOCALE / "vocabulary.po")}
    tables = [table for table in vars(vocabulary).values() if isinstance(table, vocabulary.Words)]
    assert len(tables) > 15
    used = {(table.context, en) for table in tables for en in table.english.values()}
    assert sorted(word for word in used if not entries.get(word, "").strip()) == []
    assert sorted(set(entries) - used) == [], "vocabulary.po translates words no table holds (delete them)"


def _constants_given_to_gettext() -> set[str]:
    """Every text constant of the packages but the English half of an (English, Japanese) pair: a message
    passed to _() through a variable or a table (the agent's MSG_... constants) is one of them."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            halves = {
                id(node.elts[0]) for node in ast.walk(tree)
                if isinstance(node, ast.Tuple) and len(node.elts) == 2
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
                and _CJK.search(node.elts[1].value)  # type: ignore[attr-defined]
            }
            found.update(node.value for node in ast.walk(tree)
                         if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in halves)
    return found


def test_every_translation_is_used() -> None:
    """No .po entry outlives its message: each msgid is an _() string of the sources, a word passed to _() from a
    variable, a text constant of the packages (messages kept in tables), or one of click's and typer's own
    messages (their gettext calls reach custody's catalogue, cli/clitext.py)."""
    import click
    import typer

    used = {msgid for _f, _l, msgid in _source_messages()} | set(DYNAMIC_WORDS) | _constants_given_to_gettext()
    # click's and typer's messages as gettext sees them (Babel's extraction: their messages are split over lines
    # and joined by implicit concatenation in the sources, so the text is not found by a plain search).
    library: set[str] = set()
    for module in (click, typer):
        for path in sorted(Path(module.__file__ or "").parent.glob("*.py")):
            for _line, message, _comments, _context in extract_from_file(
                    "python", str(path), keywords={"_": None, "gettext": None, "ngettext": (1, 2)}):
                library.update([message] if isinstance(message, str) else [m for m in message if m])
    unused = [f"  {path.name}: {msgid!r}" for path in _po_files() for msgid, _msgstr in _read(path)
              if msgid not in used and msgid not in library]
    assert not unused, "translations no code uses any more (delete them):\n" + "\n".join(unused)


def test_extractor_sees_the_core_messages() -> None:
    """Guards the check above against silently finding nothing."""
    found = {msgid for _f, _l, msgid in _source_messages()}
    assert "custody: evidence ledger for outsourced processing of residents' personal data." in found
    assert "no ledger at {path}" in found
    assert "Approve and sign" in found  # a template's
    assert "The desk was stopped before the work finished." in found  # the desk's Python


# --- (c) --help in both languages ---
#
# Command descriptions and the root --lang option are built by build_app(), so
# in-process (CliRunner) they follow set_language().  The help of a command's
# own options is evaluated when its module is first imported (typer.Option
# defaults), i.e. once per process -- the real CLI picks the language before
# that import (cli/main.py) -- so it is checked in a fresh process.


def _help(lang: str, *args: str) -> str:
    i18n.set_language(lang)
    result = CliRunner().invoke(build_app(), [*args, "--help"], env={"CUSTODY_LANG": lang}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return " ".join(result.stdout.split())  # click wraps lines at the terminal width


def _help_in_process(lang: str, *args: str) -> str:
    env = {**os.environ, "CUSTODY_LANG": lang, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "custody.cli.main", *args, "--help"],
        capture_output=True, text=True, env=env, timeout=60, check=False, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return " ".join(proc.stdout.split())


@pytest.mark.usefixtures("restore_language")
def test_help_in_japanese() -> None:
    text = _help("ja")
    assert "住民の個人情報を取り扱う外部委託業務の証跡台帳" in text
    assert "メッセージの言語" in text  # --lang
    assert "証跡一式を検証します" in text  # the verify command in the command list
    assert "ログ署名鍵で台帳のチェックポイントに署名します" in text
    assert "evidence ledger" not in text


@pytest.mark.usefixtures("restore_language")
def test_help_in_english() -> None:
    text = _help("en")
    assert "evidence ledger for outsourced processing of residents' personal data" in text
    assert "Language of messages: ja or en." in text
    assert "Verify an evidence bundle" in text
    assert "証跡" not in text and "メッセージの言語" not in text


def test_option_help_follows_the_language_of_the_process() -> None:
    ja = _help_in_process("ja", "verify")
    assert "証跡一式を検証します" in ja and "自治体の信頼ストア" in ja and "--authority" in ja
    en = _help_in_process("en", "verify")
    assert "The municipality's trust store" in en
    assert not _CJK.search(en), en


def test_parsed_catalogue_is_cached_and_a_bad_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from custody.ledger import i18n

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    i18n._catalog.cache_clear()
    try:
        table = i18n._catalog("ja")
        files = list((tmp_path / "custody").glob("i18n-ja-*.json"))
        assert len(files) == 1 and json.loads(files[0].read_text(encoding="utf-8")) == table
        # A second process reads the cache: prove it by planting a marker in it.
        files[0].write_text(json.dumps({"marker": "目印"}), encoding="utf-8")
        i18n._catalog.cache_clear()
        assert i18n._catalog("ja") == {"marker": "目印"}
        # A damaged cache is ignored and rebuilt from the .po files.
        files[0].write_text("{not json", encoding="utf-8")
        i18n._catalog.cache_clear()
        assert i18n._catalog("ja") == table
    finally:
        i18n._catalog.cache_clear()
