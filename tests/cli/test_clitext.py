"""click's and typer's own words in Japanese (cli/clitext.py): usage errors, help headings, the help option.

Real commands in fresh processes, as an operator runs them: ``clitext.install`` binds gettext's global
domain and sets LANGUAGE for the whole process.  English output is click's own.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

import click
import pytest
import typer.core
from babel.messages.extract import extract_from_file

from custody.cli import clitext
from custody.ledger import i18n
from tests.cli.conftest import Custody

# (arguments, what the Japanese error says, what the English says: click's, custody's for numbers): each exits 2.
USAGE_ERRORS = [
    (["media", "checkout"], "エラー: オプション '--media-id' / '-m' が指定されていません。",
     "Error: Missing option '--media-id' / '-m'."),
    (["media", "checkout", "--media-id"], "エラー: オプション '--media-id' には値が必要です。",
     "Error: Option '--media-id' requires an argument."),
    (["media", "checkout", "-m", "M-001", "--bogus"], "エラー: そのようなオプションはありません: '--bogus'",
     "Error: No such option '--bogus'."),
    (["medai"], "エラー: そのようなコマンドはありません: 'medai'。 もしかして 'media' ですか？",
     "Error: No such command 'medai'. Did you mean 'media'?"),
    (["verify"], "エラー: 引数 'BUNDLE' が指定されていません。", "Error: Missing argument 'BUNDLE'."),
    (["media", "checkout", "-m", "M-001", "--purpose", "p", "extra"], "エラー: 余分な引数があります（extra）",
     "Error: Got unexpected extra argument (extra)"),
    (["verify", "--workers", "x", "b"], "エラー: '--workers' の値が正しくありません: 整数を指定してください。",
     "Error: Invalid value for '--workers': Enter a whole number."),
    (["verify", "--workers", "0", "b"], "エラー: '--workers' の値が正しくありません: 1 以上を指定してください。",
     "Error: Invalid value for '--workers': Enter 1 or more."),
    (["witness", "serve", "--authority", ".", "--max-connections", "0"],
     "エラー: '--max-connections' の値が正しくありません: 1 以上を指定してください。",
     "Error: Invalid value for '--max-connections': Enter 1 or more."),
    (["witness", "serve", "--authority", ".", "--timeout", "0"],
     "エラー: '--timeout' の値が正しくありません: 0.1 以上を指定してください。",
     "Error: Invalid value for '--timeout': Enter 0.1 or more."),
    (["agent", "run", "--heartbeat", "0.01"], "エラー: '--heartbeat' の値が正しくありません: 0.1 以上を指定してください。",
     "Error: Invalid value for '--heartbeat': Enter 0.1 or more."),
    (["desk", "--authority", ".", "--max-upload-mb", "0", "--no-browser"],
     "エラー: '--max-upload-mb' の値が正しくありません: 1 以上を指定してください。",
     "Error: Invalid value for '--max-upload-mb': Enter 1 or more."),
]


@pytest.mark.parametrize(("args", "ja", "en"), USAGE_ERRORS, ids=[" ".join(a) for a, _j, _e in USAGE_ERRORS])
def test_usage_errors_in_japanese_and_in_clicks_english(tmp_path: Path, args: list[str], ja: str, en: str) -> None:
    japanese = Custody(tmp_path, lang="ja").process(*args)
    assert japanese.code == 2, japanese.stderr
    assert ja in japanese.stderr.splitlines(), japanese.stderr
    assert "Error" not in japanese.stderr and "Traceback" not in japanese.stderr
    english = Custody(tmp_path, lang="en").process(*args)
    assert english.code == 2, english.stderr
    assert english.stderr.startswith(("Usage: custody", en)) and en in english.stderr, english.stderr


def test_a_usage_error_shows_the_usage_and_where_help_is(tmp_path: Path) -> None:
    run = Custody(tmp_path, lang="ja").process("media", "checkout")
    assert run.stderr.splitlines()[:3] == [
        "使い方: custody media checkout [OPTIONS]",
        "詳しくは 'custody media checkout --help' でヘルプを表示してください。",
        "",
    ]


def test_help_headings_and_markers_in_japanese(tmp_path: Path) -> None:
    run = Custody(tmp_path, lang="ja").process("media", "checkout", "-h")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "使い方: custody media checkout [OPTIONS]"
    assert "オプション:" in lines
    assert "[必須]" in run.stdout and "[環境変数:" in run.stdout and "既定値: ." in run.stdout
    assert "このヘルプを表示して終了します。" in run.stdout
    for english in ("Usage:", "Options", "required", "env var", "default:", "Show this message"):
        assert english not in run.stdout, english
    group = Custody(tmp_path, lang="ja").process("media", "-h")
    assert "コマンド:" in group.stdout.splitlines(), group.stdout


def test_help_in_english_is_clicks(tmp_path: Path) -> None:
    run = Custody(tmp_path, lang="en").process("media", "checkout", "-h")
    assert run.stdout.startswith("Usage: custody media checkout [OPTIONS]")
    assert "Options:" in run.stdout.splitlines() and "Show this message and exit." in run.stdout
    assert "[required]" in run.stdout and "[env var:" in run.stdout and "default: .]" in run.stdout


# The modules whose gettext messages an operator can meet: click's parsing, errors, help, types and prompts, and
# typer.core's help.
_SOURCES = [*(Path(click.__file__).parent / name for name in (
    "core.py", "exceptions.py", "parser.py", "formatting.py", "decorators.py", "types.py", "termui.py")),
    Path(typer.core.__file__)]


@pytest.fixture(scope="module")
def messages() -> list[str | tuple[str, str]]:
    """Every gettext message of ``_SOURCES`` (msgid, or singular and plural), as Babel extracts them."""
    found: list[str | tuple[str, str]] = []
    for source in _SOURCES:
        for _line, message, _comments, _context in extract_from_file(
                "python", str(source), keywords={"_": None, "gettext": None, "ngettext": (1, 2)}):
            if message not in found:
                found.append(message if isinstance(message, str) else (message[0], message[1]))
    return found


@pytest.fixture(scope="module")
def japanese() -> gettext.GNUTranslations:
    """click.po compiled as clitext compiles it, read by gettext itself."""
    folder = clitext.catalogue_dir("ja")
    assert folder is not None
    with (folder / "ja" / "LC_MESSAGES" / f"{clitext.DOMAIN}.mo").open("rb") as handle:
        return gettext.GNUTranslations(handle)


def test_every_message_click_and_typer_write_has_a_japanese_translation(
        japanese: gettext.GNUTranslations, messages: list[str | tuple[str, str]]) -> None:
    """A new click or typer may add messages: they would be shown in English."""
    assert "Usage:" in messages and "Options" in messages and len(messages) > 50
    missing = [m for m in messages if (japanese.gettext(m) if isinstance(m, str) else
                                       japanese.ngettext(m[0], m[1], 2)) == (m if isinstance(m, str) else m[1])]
    assert not missing, missing


def test_plural_messages_say_one_and_many_apart(japanese: gettext.GNUTranslations) -> None:
    one, many = "Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."
    assert japanese.ngettext(one, many, 1).format(name="--x") == "オプション '--x' には値が必要です。"
    assert japanese.ngettext(one, many, 2).format(name="--x", nargs=2) == "オプション '--x' には 2 個の値が必要です。"


def test_translations_keep_the_placeholders_click_fills(
        japanese: gettext.GNUTranslations, messages: list[str | tuple[str, str]]) -> None:
    """A translation naming a placeholder the msgid does not have would fail with KeyError when shown."""
    import string

    def names(text: str) -> set[str]:
        return {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field}

    for message in messages:
        if isinstance(message, str):
            assert names(japanese.gettext(message)) <= names(message), message
        else:
            assert names(japanese.ngettext(*message, 2)) <= names(message[0]) | names(message[1]), message


def test_install_binds_the_domain_for_japanese_and_leaves_english_to_click() -> None:
    before, domain, env = i18n.language(), gettext.textdomain(), os.environ.get("LANGUAGE")
    try:
        i18n.set_language("ja")
        clitext.install()
        assert gettext.textdomain() == clitext.DOMAIN and os.environ["LANGUAGE"] == "ja"
        assert gettext.gettext("Usage:") == "使い方:"
        i18n.set_language("en")
        clitext.install()
        assert gettext.gettext("Usage:") == "Usage:" and os.environ.get("LANGUAGE") == env
    finally:
        i18n.set_language("en")
        clitext.install()
        gettext.textdomain(domain)
        i18n.set_language(before)


def test_the_catalogue_is_made_in_a_temporary_folder_when_the_cache_cannot_be_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    folder = clitext.catalogue_dir("ja")
    assert folder is not None and not folder.is_relative_to(blocked)
    assert (folder / "ja" / "LC_MESSAGES" / f"{clitext.DOMAIN}.mo").is_file()
    assert clitext.catalogue_dir("xx") is None


def test_japanese_whatever_the_locale_says(tmp_path: Path) -> None:
    run = Custody(tmp_path, lang="ja").process("media", "checkout", env={"LANG": "C.UTF-8", "LANGUAGE": "en_US"})
    assert "エラー: オプション '--media-id' / '-m' が指定されていません。" in run.stderr.splitlines(), run.stderr
