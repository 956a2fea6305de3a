"""Trust never comes from the bundle itself (docs/spec.md §11.3, §13.2).

A forger rebuilds the whole ledger with keys of their own -- responsible
person, approver, log key and a witness that cosigns it -- under the real
origin, and exports a bundle that is perfectly consistent in itself.  Checked
against its own keys it is as intact as the real one, so:

* without ``--authority`` and without ``--integrity-only``, ``custody verify``
  and ``custody report`` refuse to run (exit 2) and say which option to give;
* with ``--integrity-only`` they run (exit 0 for an intact bundle), but every
  output -- the verdict line, the JSON, every report -- says 未確認 / UNCHECKED
  and none says 合格 / OK / passed;
* with the municipality's trust store the forged bundle fails (exit 3, I5),
  and the real one passes -- the control that the checks above can fail.

Everything runs through the real commands on real ledgers; the PDFs are read
back with pypdf.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.cli.conftest import Custody, Run
from tests.helpers import ORIGIN, contract_text

WITNESS = "city.example.lg.jp/witness"  # the forger copies every name; only the keys differ


@dataclass(frozen=True)
class Site:
    authority: Path  # this party's trust store (the municipality's, or the forger's own witness)
    ledger: Path
    bundle: Path


def _ok(run: Run) -> Run:
    assert run.code == 0, run.stderr
    return run


def _site(custody: Custody, root: Path) -> Site:
    """Keys, a trust store with its witness key, a ledger pinned and cosigned there, and its bundle."""
    root.mkdir()
    authority, ledger, bundle = root / "authority", root / "ledger", root / "bundle"
    witness = json.loads(_ok(custody("authority", "init", str(authority), "--name", WITNESS, "--json")).stdout)
    vkeys = {}
    for name in ("resp-sato", "city-approver"):
        vkeys[name] = json.loads(_ok(custody("key", "new", name, "-o", str(root / f"{name}.key"), "--json")).stdout)
    (root / "contract.toml").write_text(contract_text(approver_vkey=vkeys["city-approver"]["vkey"],
                                                      witness_vkey=witness["witness_vkey"]), encoding="utf-8")
    _ok(custody("init", str(ledger), "--contract", str(root / "contract.toml"), "--key", str(root / "resp-sato.key")))
    _ok(custody("note", "作業開始。施錠保管庫の封印を確認した。", "-l", str(ledger), "-k", str(root / "resp-sato.key")))
    _ok(custody("checkpoint", "-l", str(ledger)))
    _ok(custody("authority", "trust", "-a", str(authority), "-l", str(ledger), "--yes"))
    for _round in ("size 1", "latest"):  # a new witness cosigns the tree of size 1 first (docs/spec.md §8.1)
        for name in ("req", "resp"):
            (root / name).unlink(missing_ok=True)
        _ok(custody("witness-request", "-l", str(ledger), "-o", str(root / "req")))
        _ok(custody("witness", "cosign", str(root / "req"), "--authority", str(authority), "-o", str(root / "resp")))
        _ok(custody("witness", "import", str(root / "resp"), "-l", str(ledger)))
    _ok(custody("export", str(bundle), "-l", str(ledger)))
    return Site(authority, ledger, bundle)


@dataclass(frozen=True)
class World:
    real: Site
    forged: Site


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("trust")
    custody = Custody(root)
    return World(_site(custody, root / "real"), _site(custody, root / "forged"))


def _bundle(world: World, which: str) -> Path:
    return world.real.bundle if which == "real" else world.forged.bundle


def _pdf_pages(path: Path) -> list[str]:
    return ["".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(path.read_bytes())).pages]


def test_the_forged_bundle_is_a_full_rebuild(world: World) -> None:
    """The premise: same origin, every key different, and cosigned by the forger's own witness."""
    real = (world.real.bundle / "entries.jsonl").read_bytes().split(b"\n")[0]
    forged = (world.forged.bundle / "entries.jsonl").read_bytes().split(b"\n")[0]
    assert json.loads(real)["origin"] == json.loads(forged)["origin"] == ORIGIN
    assert (world.real.bundle / "log.vkey").read_bytes() != (world.forged.bundle / "log.vkey").read_bytes()
    assert json.loads(real)["body"]["witness_vkeys"] != json.loads(forged)["body"]["witness_vkeys"]
    assert list((world.forged.bundle / "checkpoints").iterdir())


# --- neither --authority nor --integrity-only: a usage error, nothing read, nothing written -----------------------

COMMANDS = [
    pytest.param(["verify"], id="verify"),
    pytest.param(["verify", "--json"], id="verify --json"),
    pytest.param(["report", "completion"], id="report completion"),
    pytest.param(["report", "all", "--json", "-f", "all"], id="report all --json"),
]


@pytest.mark.parametrize("which", ["real", "forged"])
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_no_trust_option_is_a_usage_error(world: World, tmp_path: Path, command: list[str], which: str,
                                          lang: str) -> None:
    out = tmp_path / "out"
    extra = ["-o", str(out)] if command[0] == "report" else []
    run = Custody(tmp_path, lang=lang)(command[0], *command[1:2], str(_bundle(world, which)), *command[2:], *extra)
    assert run.code == 2, (run.code, run.stdout, run.stderr)
    assert run.stdout == ""
    assert "--authority" in run.stderr and "--integrity-only" in run.stderr
    if lang == "ja":
        assert "信頼ストアが指定されていません" in run.stderr and "未確認" in run.stderr
    else:
        assert "No trust store given" in run.stderr and "not checked against the municipality's pinned keys" in run.stderr
    assert not out.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_authority_and_integrity_only_together_is_a_usage_error(world: World, custody: Custody, tmp_path: Path,
                                                               command: list[str]) -> None:
    extra = ["-o", str(tmp_path / "out")] if command[0] == "report" else []
    args = [command[0], *command[1:2], str(world.forged.bundle), *command[2:], *extra, "--integrity-only"]
    for trust in (["--authority", str(world.real.authority)], []):
        env = {} if trust else {"CUSTODY_AUTHORITY": str(world.real.authority)}  # the variable counts too
        run = custody(*args, *trust, env=env)
        assert run.code == 2, (run.code, run.stderr)
        assert "exclude each other" in run.stderr and run.stdout == ""
    assert not (tmp_path / "out").exists()


# --- --integrity-only: runs, exits 0 for an intact bundle, and never reads as a pass ------------------------------


@pytest.mark.parametrize("which", ["real", "forged"])
@pytest.mark.parametrize(
    ("lang", "label", "words", "never"),
    [
        ("ja", "未確認", ["自治体の信頼ストアで未確認", "合否の判定ではありません"], ["合格"]),
        ("en", "UNCHECKED", ["not checked against the municipality's pinned keys", "This is not a pass."],
         ["OK", "passed"]),
    ],
)
def test_integrity_only_verdict_line(world: World, tmp_path: Path, which: str, lang: str, label: str,
                                     words: list[str], never: list[str]) -> None:
    run = Custody(tmp_path, lang=lang)("verify", str(_bundle(world, which)), "--integrity-only")
    assert run.code == 0, run.stderr
    first = run.stdout.splitlines()[0]
    assert first.startswith(f"{label} {ORIGIN}"), first
    for word in words:
        assert word in " ".join(run.stdout.split()), run.stdout
    for word in never:
        assert word not in run.stdout, run.stdout


@pytest.mark.parametrize("which", ["real", "forged"])
def test_integrity_only_json(world: World, custody: Custody, which: str) -> None:
    run = custody("verify", str(_bundle(world, which)), "--integrity-only", "--json")
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["trust"] == "unchecked" and doc["pinned"] is False
    assert doc["ok"] is True  # intact -- which is all it says
    assert [(f["code"], f["severity"]) for f in doc["findings"]] == [("I5", "warning")]


@pytest.mark.parametrize("which", ["real", "forged"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_integrity_only_completion_report_pdf(world: World, tmp_path: Path, which: str, lang: str) -> None:
    """The completion report: 未確認 boxed on the first page and atop every page; 合格 / passed nowhere."""
    out = tmp_path / "out"
    run = Custody(tmp_path)("report", "completion", str(_bundle(world, which)), "--integrity-only", "--lang", lang,
                            "-o", str(out))
    assert run.code == 0, run.stderr
    assert "UNCHECKED" in run.stderr
    pages = _pdf_pages(out / f"completion.{lang}.pdf")
    never: tuple[str, ...]
    if lang == "ja":
        head, never = "未確認:自治体の信頼ストアで未確認です。", ("合格",)
        assert "証跡の検証未確認(エラー0件、警告1件)。自治体の信頼ストアで未確認" in pages[0]
    else:
        head, never = "UNCHECKED:notcheckedagainstthemunicipality'spinnedkeys.", ("passed", "Pass")
        assert "UNCHECKED:0errors,1warnings;notcheckedagainstthemunicipality'spinnedkeys" in pages[0]
    assert "--integrity-only" in pages[0]
    for page in pages:
        assert head in page
        for word in never:
            assert word not in page


def test_integrity_only_every_report_carries_the_banner(world: World, custody: Custody, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = custody("report", "all", str(world.forged.bundle), "--integrity-only", "-f", "all", "--json",
                  "-o", str(out))
    assert run.code == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["trust"] == "unchecked" and summary["ok"] is True
    documents = sorted(out.glob("*.ja.json"))
    assert [p.name for p in documents] == ["completion.ja.json", "findings.ja.json", "incident.ja.json",
                                           "inspection-record.ja.json", "inspection.ja.json", "periodic.ja.json",
                                           "register.ja.json", "staff.ja.json"]
    for path in documents:
        doc = json.loads(path.read_bytes())["document"]
        assert doc["banner"].startswith("未確認: 自治体の信頼ストアで未確認です。"), path.name
        assert "合格" not in json.dumps(doc, ensure_ascii=False), path.name
        html = path.with_suffix(".html").read_text(encoding="utf-8")
        assert '<p class="banner" role="alert">未確認: 自治体の信頼ストアで未確認です。' in html, path.name
        assert _pdf_pages(path.with_suffix(".pdf"))[0].count("未確認") >= 2, path.name


# --- --authority: the forged bundle fails as before, the real one passes ----------------------------------------


@pytest.mark.parametrize("via", ["option", "environment"])
def test_against_the_trust_store_the_forgery_fails_and_the_real_bundle_passes(
    world: World, custody: Custody, tmp_path: Path, via: str
) -> None:
    trust = ["--authority", str(world.real.authority)] if via == "option" else []
    env = {"CUSTODY_AUTHORITY": str(world.real.authority)} if via == "environment" else {}
    forged = custody("verify", str(world.forged.bundle), *trust, "--json", env=env)
    assert forged.code == 3, forged.stderr
    doc = json.loads(forged.stdout)
    assert doc["trust"] == "pinned" and doc["ok"] is False
    assert ("I5", "error") in {(f["code"], f["severity"]) for f in doc["findings"]}
    real = custody("verify", str(world.real.bundle), *trust, env=env)
    assert real.code == 0, real.stdout + real.stderr
    assert real.stdout.startswith(f"OK {ORIGIN}") and "UNCHECKED" not in real.stdout

    run = custody("report", "completion", str(world.forged.bundle), *trust, "--lang", "ja", "-o",
                  str(tmp_path / "forged"), env=env)
    assert run.code == 3
    page = _pdf_pages(tmp_path / "forged" / "completion.ja.pdf")[0]
    assert "不合格" in page and "未確認" not in page
    run = custody("report", "completion", str(world.real.bundle), *trust, "--lang", "ja", "-o",
                  str(tmp_path / "real"), env=env)
    assert run.code == 0, run.stderr
    page = _pdf_pages(tmp_path / "real" / "completion.ja.pdf")[0]
    assert "証跡の検証合格(エラー0件、警告0件)" in page and "未確認" not in page
