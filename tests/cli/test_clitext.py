"""typer's own words in Japanese (cli/clitext.py): usage errors, help headings, the help option.

Real commands in fresh processes, as an operator runs them: the patches
``clitext.install`` makes are process-wide, so running them in the test
process would change what other tests see.  English output must stay
typer's, byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.core
from babel.messages.extract import extract_from_file

from custody.cli import clitext
from custody.ledger import i18n
from tests.cli.conftest import Custody

# (arguments, what the Japanese error says, what typer's English says): each exits 2 (usage).
USAGE_ERRORS = [
    (["media", "checkout"], "エラー: オプション '--media-id' / '-m' が指定されていません。",
     "Error: Missing option '--media-id' / '-m'."),
    (["media", "checkout", "--media-id"], "エラー: オプション '--media-id' には値が必要です。",
     "Error: Option '--media-id' requires an argument."),
    (["media", "checkout", "-m", "M-001", "--bogus"], "エラー: そのようなオプションはありません: --bogus",
     "Error: No such option: --bogus"),
    (["medai"], "エラー: そのようなコマンドはありません: 'medai'。もしかして 'media' ですか？",
     "Error: No such command 'medai'. Did you mean 'media'?"),
    (["verify"], "エラー: 引数 'bundle' が指定されていません。", "Error: Missing argument 'bundle'."),
    (["media", "checkout", "-m", "M-001", "--purpose", "p", "extra"], "エラー: 余分な引数があります（extra）",
     "Error: Got unexpected extra argument(s) (extra)"),
    (["verify", "--workers", "x", "b"], "エラー: '--workers' の値が正しくありません: 整数を指定してください。",
     "Error: Invalid value for '--workers': Input should be a valid integer"),
    (["verify", "--workers", "0", "b"], "エラー: '--workers' の値が正しくありません: 1 以上を指定してください。",
     "Error: Invalid value for '--workers': Input should be greater than or equal to 1"),
]


@pytest.mark.parametrize(("args", "ja", "en"), USAGE_ERRORS, ids=[" ".join(a) for a, _j, _e in USAGE_ERRORS])
def test_usage_errors_in_japanese_and_in_typers_english(tmp_path: Path, args: list[str], ja: str, en: str) -> None:
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
        "詳しくは 'custody media checkout -h' でヘルプを表示してください。",
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


def test_help_in_english_is_typers(tmp_path: Path) -> None:
    run = Custody(tmp_path, lang="en").process("media", "checkout", "-h")
    assert run.stdout.startswith("Usage: custody media checkout [OPTIONS]")
    assert "Options:" in run.stdout.splitlines() and "Show this message and exit." in run.stdout
    assert "[required]" in run.stdout and "[env var:" in run.stdout and "default: .]" in run.stdout


# The English forms typer 0.29 and click build into messages, and custody's Japanese for each.
DETAILS = [
    ("Got unexpected extra argument(s) (a b)", "余分な引数があります（a b）"),
    ("Option '--x' does not take a value.", "オプション '--x' は値をとりません。"),
    ("Option '--x' requires an argument.", "オプション '--x' には値が必要です。"),
    ("Option '--x' requires 2 arguments.", "オプション '--x' には 2 個の値が必要です。"),
    ("Argument 'files' takes 2 values.", "引数 'files' には 2 個の値が必要です。"),
    ("Value 'x' is not a valid int.", "'x' は int として正しくありません。"),
    ("'pdf2' is not one of 'pdf', 'html', 'json'.", "'pdf2' は 'pdf', 'html', 'json' のいずれでもありません。"),
    ("そのようなコマンドはありません: 'x'. Did you mean 'y'?", "そのようなコマンドはありません: 'x'。もしかして 'y' ですか？"),
    ("Input should be a valid integer, unable to parse string as an integer", "整数を指定してください。"),
    ("Input should be greater than or equal to 1", "1 以上を指定してください。"),
    ("Input should be less than or equal to 64", "64 以下を指定してください。"),
    ("Choose from:\n\tpdf,\n\thtml", "次から選んでください:\n\tpdf,\n\thtml"),
    ("a message custody does not know", "a message custody does not know"),
]


@pytest.mark.parametrize(("english", "japanese"), DETAILS, ids=[e for e, _j in DETAILS])
def test_known_english_details_are_translated(english: str, japanese: str) -> None:
    before = i18n.language()
    try:
        i18n.set_language("ja")
        assert clitext.detail(english) == japanese
    finally:
        i18n.set_language(before)


def test_every_message_typer_translates_has_a_japanese_translation() -> None:
    """typer.core's own gettext messages, which clitext sends to custody's catalogue: a new typer may add some."""
    before = i18n.language()
    try:
        i18n.set_language("ja")
        messages = [m for _line, m, _c, _x in extract_from_file("python", typer.core.__file__, keywords={"_": None})
                    if isinstance(m, str)]
        assert "Options" in messages
        missing = [m for m in messages if i18n._(m) == m]
        assert not missing, missing
    finally:
        i18n.set_language(before)


def test_install_for_english_puts_typers_own_back() -> None:
    import typer._click.core as click_core
    import typer._click.exceptions as click_exceptions

    before = i18n.language()
    original = (typer.core._, click_core.Context.formatter_class, click_exceptions.UsageError.show)  # type: ignore[attr-defined]
    try:
        i18n.set_language("ja")
        clitext.install()
        assert click_core.Context.formatter_class is not original[1]
        i18n.set_language("en")
        clitext.install()
        assert (typer.core._, click_core.Context.formatter_class, click_exceptions.UsageError.show) == original  # type: ignore[attr-defined]
    finally:
        i18n.set_language("en")
        clitext.install()
        i18n.set_language(before)
