"""The municipality's trust store (verify.authority) and ``custody authority init|trust|show``."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from custody.ledger.bundle import export_bundle
from custody.ledger.cosignature import cosign
from custody.ledger.errors import RuleRefusal, StoreCorruptError, StoreError
from custody.ledger.note import add_signatures, parse_note
from custody.verify.authority import AUTHORITY_FILE, Authority, NotPinnedError, Pin, origin_key
from tests.cli.conftest import Custody
from tests.helpers import contract_text
from tests.verify.witness_fixtures import (
    WITNESS_NAME,
    WITNESS_PASSPHRASE,
    World,
    checkpoint_of,
    fork_ledger,
    make_world,
)

TS = 1_790_000_000


@pytest.fixture
def custody(tmp_path: Path) -> Custody:
    return Custody(tmp_path)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path / "w")
    yield w
    w.close()


# --- the store ------------------------------------------------------------------------------------


def test_create_and_open(tmp_path: Path) -> None:
    authority = Authority.create(tmp_path / "A", WITNESS_NAME, b"pw", kdf_n=2**15)
    assert (tmp_path / "A" / AUTHORITY_FILE).is_file()
    key_mode = stat.S_IMODE(os.stat(tmp_path / "A" / "witness.key").st_mode)
    assert key_mode == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "A").st_mode) == 0o700
    again = Authority.open(tmp_path / "A")
    assert again.witness_vkey == authority.witness_vkey
    assert again.witness_vkey.startswith(WITNESS_NAME + "+")
    assert again.witness_verifier().alg == 0x04
    assert again.witness_signer(b"pw").verifier().vkey == authority.witness_vkey
    assert again.origins() == []


def test_create_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / "something").write_text("x")
    with pytest.raises(StoreError, match="not an empty directory"):
        Authority.create(tmp_path / "A", WITNESS_NAME, b"pw", kdf_n=2**15)


def test_open_a_directory_that_is_no_trust_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a municipality trust store") as info:
        Authority.open(tmp_path)
    assert info.value.exit_code == 4 and "custody authority init" in (info.value.hint or "")


def test_pin_and_trust_anchor(world: World) -> None:
    anchor = world.authority.trust_anchor(world.ledger.origin)
    assert anchor.pinned
    assert anchor.origin == world.ledger.origin
    assert anchor.log_vkey == world.ledger.log_verifier().vkey
    assert anchor.genesis_leaf_hash == world.ledger.genesis().leaf_hash
    assert anchor.approver_vkeys == (world.parties.approver.verifier().vkey,)
    assert world.witness.verifier().vkey in anchor.witness_vkeys
    assert anchor.held_checkpoints == ()
    pin = world.authority.get_pin(world.ledger.origin)
    assert pin.contract["title"] == "住民記録システム改修業務"
    assert pin.contract["municipality"]["name"] == "例市"
    assert pin.pinned_at
    assert world.authority.origins() == [world.ledger.origin]


def test_unpinned_origin_is_a_clear_error(world: World) -> None:
    with pytest.raises(NotPinnedError) as info:
        world.authority.trust_anchor("city.example.lg.jp/custody/other")
    err = info.value
    assert err.exit_code == 3
    assert "city.example.lg.jp/custody/other" in err.message
    assert "custody authority trust" in (err.hint or "")
    assert world.ledger.origin in (err.hint or "")  # says which origins are pinned


def test_repin_same_is_a_no_op_and_other_is_refused(world: World, tmp_path: Path) -> None:
    pin = Pin.from_genesis(world.ledger.store.leaf(0), log_vkey=world.ledger.log_verifier().vkey)
    assert world.authority.pin(pin) is False
    # Same origin, another genesis (a rebuilt ledger): refused, rule I5, exit 6.
    other = make_world(tmp_path / "other", pin=False)
    try:
        rebuilt = Pin.from_genesis(other.ledger.store.leaf(0))
        assert rebuilt.origin == pin.origin
        with pytest.raises(RuleRefusal) as info:
            world.authority.pin(rebuilt)
        assert info.value.code == "I5" and info.value.exit_code == 6
        assert world.authority.get_pin(pin.origin).genesis_leaf_hash == pin.genesis_leaf_hash
    finally:
        other.close()


def test_pin_checks_the_genesis(world: World) -> None:
    from custody.ledger.errors import VerificationError

    with pytest.raises(VerificationError, match="genesis"):
        Pin.from_genesis(world.ledger.store.leaf(0), log_vkey=world.parties.approver.verifier().vkey)
    with pytest.raises(VerificationError, match="genesis"):
        Pin.from_genesis(world.ledger.store.leaf(0), log_vkey="not a vkey")
    world.note(1)
    with pytest.raises(VerificationError, match="genesis"):
        Pin.from_genesis(world.ledger.store.leaf(1))
    leaf = world.ledger.store.leaf(0).replace("例市".encode(), "別市".encode())
    with pytest.raises(VerificationError):
        Pin.from_genesis(leaf)


def test_origin_keys_are_safe_file_names() -> None:
    origins = [
        "city.example.lg.jp/custody/2026-017/site-1",
        "City.Example.lg.jp/custody/2026-017/site-1",
        "../../etc",
        "..",
        "go.sum database tree",
        "例市/台帳",
        "a" * 500,
    ]
    keys = [origin_key(o) for o in origins]
    assert len(set(keys)) == len(keys)
    assert len({k.lower() for k in keys}) == len(keys)  # case-insensitive file systems
    for key in keys:
        assert "/" not in key and key not in (".", "..") and not key.startswith(".")
        assert len(key) <= 80
        assert key == key.lower()


def test_add_checkpoint_persists_before_answering(world: World) -> None:
    size = world.grow(2)
    world.seed(TS - 1)
    d = world.authority.add_checkpoint(world.request(size, old=1), world.witness, TS)
    assert d.status == 200
    head = world.authority.latest(world.ledger.origin)
    assert head is not None and head.size == size and head.timestamp == TS
    anchor = world.authority.trust_anchor(world.ledger.origin)
    assert [checkpoint_of(note).size for note in anchor.held_checkpoints] == [1, size]
    assert anchor.record_problems == ()
    assert [(h.size, h.root_hash, h.timestamp) for h in anchor.recorded_heads] == [
        (1, world.ledger.store.root(1), TS - 1), (size, head.root_hash, TS)]
    assert world.authority.journal(world.ledger.origin)[-1] == {
        "size": size, "root_hash": json.loads(json.dumps(_b64(head.root_hash))), "timestamp": TS}
    # A reopened store sees the same state.
    again = Authority.open(world.authority.path)
    assert again.latest(world.ledger.origin) == head
    # The next request must start from there.
    size2 = world.grow(1)
    assert again.add_checkpoint(world.request(size2, old=0), world.witness, TS + 1).status == 409
    assert again.add_checkpoint(world.request(size2, old=size), world.witness, TS + 1).status == 200


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def test_two_forks_from_a_common_state_only_one_is_cosigned(world: World, tmp_path: Path) -> None:
    common = world.grow(2)
    world.seed(TS - 1)
    assert world.authority.add_checkpoint(world.request(common, old=1), world.witness, TS).status == 200
    forked = fork_ledger(world, tmp_path / "fork")
    try:
        forked.append("note.recorded", {"text": "fork"}, world.parties.responsible)
        fork_size = forked.checkpoint(world.log).size
        honest = world.grow(1)
        assert fork_size == honest
        first = world.authority.add_checkpoint(world.request(honest, old=common), world.witness, TS + 1)
        assert first.status == 200
        second = world.authority.add_checkpoint(
            world.request(fork_size, old=common, ledger=forked), world.witness, TS + 2)
        assert second.status == 409  # the witness moved on
        third = world.authority.add_checkpoint(
            world.request(fork_size, old=honest, ledger=forked), world.witness, TS + 3)
        assert third.status == 409 and third.evidence  # same size, other root
        assert len(world.authority.evidence(world.ledger.origin)) == 1
        head = world.authority.latest(world.ledger.origin)
        assert head is not None and head.root_hash == world.ledger.store.root(honest)
    finally:
        forked.close()


def test_unpinned_origin_gets_404_and_nothing_is_written(world: World, tmp_path: Path) -> None:
    other = make_world(tmp_path / "other", pin=False, origin="city.example.lg.jp/custody/2026-018/site-1")
    try:
        d = world.authority.add_checkpoint(other.request(), world.witness, TS)
        assert d.status == 404
        assert world.authority.origins() == [world.ledger.origin]
    finally:
        other.close()


def test_record_cosigned_never_records_a_rollback(world: World) -> None:
    small = world.grow(1)
    big = world.grow(1)
    world.seed(TS - 1)
    assert world.authority.add_checkpoint(world.request(big, old=1), world.witness, TS).status == 200
    note = world.ledger.store.checkpoint(small) or b""
    cosigned = add_signatures(note, [cosign(parse_note(note).text, TS, world.witness)])
    with pytest.raises(StoreError, match="already cosigned"):
        world.authority.record_cosigned(world.ledger.origin, cosigned)
    # Not cosigned by this witness: refused too.
    with pytest.raises(StoreError):
        world.authority.record_cosigned(world.ledger.origin, world.ledger.store.checkpoint(big) or b"")


def test_lost_state_is_not_guessed(world: World) -> None:
    size = world.grow(1)
    world.seed(TS - 1)
    assert world.authority.add_checkpoint(world.request(size, old=1), world.witness, TS).status == 200
    latest = world.authority.path / "logs" / origin_key(world.ledger.origin) / "latest.json"
    latest.unlink()
    with pytest.raises(StoreCorruptError, match="missing"):
        world.authority.latest(world.ledger.origin)
    latest.write_text("{ not json")
    with pytest.raises(StoreCorruptError):
        world.authority.add_checkpoint(world.request(size, old=size), world.witness, TS)


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("damage", [
    pytest.param(lambda doc: {**doc, "size": float("inf")}, id="size Infinity"),
    pytest.param(lambda doc: {**doc, "size": float("nan")}, id="size NaN"),
    pytest.param(lambda doc: {**doc, "timestamp": -float("inf")}, id="timestamp -Infinity"),
    pytest.param(lambda doc: {**doc, "origin": json.loads(_deep(50))}, id="origin nested"),
    pytest.param(lambda doc: _deep(100_000), id="nested too deeply"),
])
def test_a_damaged_witness_state_is_a_store_error(world: World, damage: object) -> None:
    # make fuzz (authority-latest) found Infinity in latest.json ending in OverflowError: every damaged
    # state is StoreCorruptError (exit 4) in every reader, and the verifier's record check reports it.
    size = world.grow(1)
    world.seed(TS - 1)
    assert world.authority.add_checkpoint(world.request(size, old=1), world.witness, TS).status == 200
    latest = world.authority.path / "logs" / origin_key(world.ledger.origin) / "latest.json"
    damaged = damage(json.loads(latest.read_text()))  # type: ignore[operator]
    latest.write_text(damaged if isinstance(damaged, str) else json.dumps(damaged))
    with pytest.raises(StoreCorruptError):
        world.authority.latest(world.ledger.origin)
    with pytest.raises(StoreCorruptError):
        world.authority.log_state(world.ledger.origin)
    assert world.authority.trust_anchor(world.ledger.origin).record_problems


def test_a_damaged_journal_line_is_reported_not_raised(world: World) -> None:
    size = world.grow(1)
    world.seed(TS - 1)
    assert world.authority.add_checkpoint(world.request(size, old=1), world.witness, TS).status == 200
    journal = world.authority.path / "logs" / origin_key(world.ledger.origin) / "cosigned.jsonl"
    before = world.authority.journal(world.ledger.origin)
    assert not world.authority.trust_anchor(world.ledger.origin).record_problems
    journal.write_text(journal.read_text() + _deep(100_000) + "\n" + '{"size": Infinity}\n')
    assert world.authority.journal(world.ledger.origin) == before
    assert world.authority.trust_anchor(world.ledger.origin).record_problems


def test_a_pin_of_another_origin_is_quoted_short(world: World) -> None:
    # make fuzz (authority-pin) saw an 877,646-character message: the pin's own origin, quoted whole.
    pin_path = world.authority.path / "logs" / origin_key(world.ledger.origin) / "pin.json"
    doc = json.loads(pin_path.read_text())
    pin_path.write_text(json.dumps({**doc, "origin": "x" * 1_000_000}))
    with pytest.raises(StoreCorruptError) as caught:
        world.authority.get_pin(world.ledger.origin)
    assert len(caught.value.message) < 1_000


def test_wrong_witness_key_is_refused(world: World, tmp_path: Path) -> None:
    from custody.ledger.errors import KeyFileError

    other = Authority.create(tmp_path / "B", WITNESS_NAME, WITNESS_PASSPHRASE, kdf_n=2**15)
    with pytest.raises(KeyFileError):
        world.authority.add_checkpoint(world.request(), other.witness_signer(WITNESS_PASSPHRASE), TS)


# --- the commands ---------------------------------------------------------------------------------



ORIGIN = "city.example.lg.jp/custody/2026-017/site-1"


# cli_setup's files as first made, by (origin, foreign_witness), for this test process.
_MADE: dict[tuple[str, bool], Path] = {}
_MADE_FILES = ("A", "L", "contract.toml", "resp-sato.key", "city-approver.key", "w.key")


def cli_setup(custody: Custody, tmp: Path, *, origin: str = ORIGIN, foreign_witness: bool = False,
              fresh: bool = False) -> tuple[Path, Path]:
    """An authority (A) and a ledger (L) made with the commands; returns their paths.

    Made once per test process and arguments, then copied (the same keys and ledger, as the first test got);
    ``fresh`` makes new ones, for a test that needs a second, different contract."""
    made = (origin, foreign_witness)
    pristine = None if fresh else _MADE.get(made)
    if pristine is not None:
        for name in _MADE_FILES:
            if (pristine / name).is_dir():
                shutil.copytree(pristine / name, tmp / name)
            elif (pristine / name).exists():
                shutil.copy2(pristine / name, tmp / name)
        return tmp / "A", tmp / "L"
    run = custody("authority", "init", str(tmp / "A"), "--name", WITNESS_NAME, "--json")
    assert run.code == 0, run.stderr
    witness = json.loads(run.stdout)["witness_vkey"]
    if foreign_witness:
        run = custody("key", "new", "other-witness", "-o", str(tmp / "w.key"), "--witness", "--json")
        witness = json.loads(run.stdout)["vkey"]
    keys = {}
    for name in ("resp-sato", "city-approver"):
        run = custody("key", "new", name, "-o", str(tmp / f"{name}.key"), "--json")
        assert run.code == 0, run.stderr
        keys[name] = json.loads(run.stdout)["vkey"]
    (tmp / "contract.toml").write_text(
        contract_text(origin=origin, approver_vkey=keys["city-approver"], witness_vkey=witness), encoding="utf-8")
    run = custody("init", str(tmp / "L"), "--contract", str(tmp / "contract.toml"),
                  "--key", str(tmp / "resp-sato.key"), "--json")
    assert run.code == 0, run.stderr
    if not fresh:  # kept beside tmp, in pytest's temporary folder, for the session
        pristine = _MADE[made] = tmp.with_name(f"{tmp.name}-cli-setup")
        pristine.mkdir()
        for name in _MADE_FILES:
            if (tmp / name).is_dir():
                shutil.copytree(tmp / name, pristine / name)
            elif (tmp / name).exists():
                shutil.copy2(tmp / name, pristine / name)
    return tmp / "A", tmp / "L"


def test_trust_needs_confirmation(custody: Custody, tmp_path: Path) -> None:
    authority, ledger = cli_setup(custody, tmp_path)
    run = custody("authority", "trust", "--authority", str(authority), "--ledger", str(ledger))
    assert run.code == 2
    assert "--yes" in run.stderr
    # The details were shown before refusing, and nothing was pinned.
    assert "住民記録システム改修業務" in run.stdout and "例市" in run.stdout
    assert Authority.open(authority).origins() == []


def test_trust_with_yes_pins(custody: Custody, tmp_path: Path) -> None:
    authority, ledger = cli_setup(custody, tmp_path)
    run = custody("authority", "trust", "--authority", str(authority), "--ledger", str(ledger), "--yes", "--json")
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["origin"] == ORIGIN and doc["created"] and doc["witness_key_matches"]
    assert doc["contract"]["vendor"]["name"] == "株式会社サンプル"
    assert Authority.open(authority).origins() == [ORIGIN]
    # Again: nothing changes, no confirmation needed.
    run = custody("authority", "trust", "--authority", str(authority), "--ledger", str(ledger), "--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["created"] is False


def test_trust_from_bundle_and_genesis_file_agree(custody: Custody, tmp_path: Path) -> None:
    authority, ledger = cli_setup(custody, tmp_path)
    assert custody("export", str(tmp_path / "B"), "--ledger", str(ledger)).code == 0
    run = custody("authority", "trust", "-a", str(authority), "--bundle", str(tmp_path / "B"), "--yes", "--json")
    assert run.code == 0, run.stderr
    by_bundle = json.loads(run.stdout)
    first = (tmp_path / "B" / "entries.jsonl").read_bytes().split(b"\n")[0]
    (tmp_path / "genesis.json").write_bytes(first + b"\n")
    run = custody("authority", "trust", "-a", str(authority), "--genesis", str(tmp_path / "genesis.json"), "--json")
    assert run.code == 0, run.stderr
    by_file = json.loads(run.stdout)
    assert by_file["created"] is False
    assert by_file["genesis_leaf_hash"] == by_bundle["genesis_leaf_hash"]


def test_trust_wrong_origin_is_refused(custody: Custody, tmp_path: Path) -> None:
    authority, ledger = cli_setup(custody, tmp_path)
    run = custody("authority", "trust", "-a", str(authority), "-l", str(ledger), "--yes",
                  "--origin", "city.example.lg.jp/custody/2026-999/site-1")
    assert run.code == 2
    assert "2026-999" in run.stderr and "nothing was pinned" in run.stderr
    assert Authority.open(authority).origins() == []


def test_trust_needs_exactly_one_source(custody: Custody, tmp_path: Path) -> None:
    authority, ledger = cli_setup(custody, tmp_path)
    assert custody("authority", "trust", "-a", str(authority), "--yes").code == 2
    run = custody("authority", "trust", "-a", str(authority), "-l", str(ledger), "--genesis", str(ledger), "--yes")
    assert run.code == 2


def test_trust_warns_about_a_foreign_witness_key(custody: Custody, tmp_path: Path) -> None:
    authority, ledger = cli_setup(custody, tmp_path, foreign_witness=True)
    run = custody("authority", "trust", "-a", str(authority), "-l", str(ledger), "--yes", "--json")
    assert run.code == 0
    assert "warning" in run.stderr and "other-witness" in run.stderr
    assert json.loads(run.stdout)["witness_key_matches"] is False


def test_verify_against_an_unpinned_origin_says_what_to_do(custody: Custody, tmp_path: Path) -> None:
    authority, ledger = cli_setup(custody, tmp_path)
    assert custody("export", str(tmp_path / "B"), "--ledger", str(ledger)).code == 0
    run = custody("verify", str(tmp_path / "B"), "--authority", str(authority), "--json")
    assert run.code == 3
    assert "not pinned" in run.stderr and "custody authority trust" in run.stderr


def test_verify_with_a_missing_trust_store(custody: Custody, tmp_path: Path) -> None:
    _authority, ledger = cli_setup(custody, tmp_path)
    assert custody("export", str(tmp_path / "B"), "--ledger", str(ledger)).code == 0
    run = custody("verify", str(tmp_path / "B"), "--authority", str(tmp_path / "nowhere"))
    assert run.code == 4
    assert "authority init" in run.stderr


def test_authority_init_refuses_existing_and_bad_names(custody: Custody, tmp_path: Path) -> None:
    assert custody("authority", "init", str(tmp_path / "A"), "--name", "bad name").code == 2
    assert custody("authority", "init", str(tmp_path / "A"), "--name", WITNESS_NAME).code == 0
    run = custody("authority", "init", str(tmp_path / "A"), "--name", WITNESS_NAME)
    assert run.code == 4


def test_authority_show(custody: Custody, tmp_path: Path) -> None:
    authority, ledger = cli_setup(custody, tmp_path)
    run = custody("authority", "show", "-a", str(authority), "--json")
    assert run.code == 0 and json.loads(run.stdout)["logs"] == []
    assert custody("authority", "trust", "-a", str(authority), "-l", str(ledger), "--yes").code == 0
    run = custody("authority", "show", "-a", str(authority), "--json")
    doc = json.loads(run.stdout)
    assert doc["witness_vkey"].startswith(WITNESS_NAME)
    [log] = doc["logs"]
    assert log["origin"] == ORIGIN and log["cosigned_size"] == 0 and log["witness_key_in_contract"]
    run = custody("authority", "show", "-a", str(authority))
    assert run.code == 0 and ORIGIN in run.stdout


def test_japanese_messages(tmp_path: Path) -> None:
    custody = Custody(tmp_path, lang="ja")
    authority, ledger = cli_setup(custody, tmp_path)
    run = custody("authority", "trust", "--authority", str(authority), "--ledger", str(ledger))
    assert run.code == 2
    assert "委託" in run.stdout or "件名" in run.stdout
    assert "--yes" in run.stderr
    # Help texts are built when the command module is imported: ask a fresh process.
    help_text = custody.process("authority", "trust", "--help").stdout
    assert "確認せずに登録します" in help_text and "起点記録" in help_text


def test_export_holds_what_the_authority_trusts(world: World, tmp_path: Path) -> None:
    # A bundle exported from the ledger pins the same values as the ledger itself.
    export_bundle(world.ledger.store, world.ledger.log_verifier().vkey, tmp_path / "B")
    from custody.ledger.bundle import Bundle

    with Bundle(tmp_path / "B") as b:
        first = next(iter(b.iter_lines()))
        pin = Pin.from_genesis(first, log_vkey=b.log_vkey())
    assert pin.same_trust(world.authority.get_pin(world.ledger.origin))


@pytest.mark.parametrize(("answer", "code", "pinned"), [("y\n", 0, True), ("n\n", 6, False), ("\n", 6, False)])
def test_trust_asks_when_someone_can_answer(
    custody: Custody, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str, code: int, pinned: bool
) -> None:
    from typer.testing import CliRunner

    import custody.cli.municipality as municipality
    from custody.cli.main import build_app

    authority, ledger = cli_setup(custody, tmp_path)
    monkeypatch.setattr(municipality, "interactive", lambda: True)
    result = CliRunner().invoke(
        build_app(), ["authority", "trust", "-a", str(authority), "-l", str(ledger)],
        input=answer, env=custody.env, catch_exceptions=False,
    )
    assert result.exit_code == code, result.stderr
    assert "Pin this contract" in result.stderr
    assert (Authority.open(authority).origins() == [ORIGIN]) is pinned


def test_init_with_an_existing_witness_key(custody: Custody, tmp_path: Path) -> None:
    run = custody("key", "new", WITNESS_NAME, "-o", str(tmp_path / "w.key"), "--witness", "--json")
    assert run.code == 0
    vkey = json.loads(run.stdout)["vkey"]
    run = custody("authority", "init", str(tmp_path / "A"), "--witness-key", str(tmp_path / "w.key"), "--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["witness_vkey"] == vkey
    assert Authority.open(tmp_path / "A").witness_signer(b"operator pass").verifier().vkey == vkey
    run = custody("authority", "init", str(tmp_path / "B"), "--witness-key", str(tmp_path / "w.key"),
                  "--name", "other/witness")
    assert run.code == 2
    assert custody("authority", "init", str(tmp_path / "C")).code == 2


def test_a_file_given_for_the_trust_store_says_what_to_give(tmp_path: Path) -> None:
    """--authority naming a file (contract.toml, say) is told it is not a trust store and what to give, not
    "Not a directory"."""
    given = tmp_path / "contract.toml"
    given.write_text("[contract]\n")
    with pytest.raises(StoreError) as caught:
        Authority.open(given)
    assert "authority.json" in caught.value.message and caught.value.hint
