"""custody.ledger.approval: municipality-signed approvals -- opening, coverage, requests, and fuzzing of open_approval."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger import canonical
from custody.ledger.approval import (
    CONTEXT,
    Approval,
    ApprovalBody,
    ApprovalProblem,
    approval_from_request,
    check_covers,
    coverage_problems,
    make_approval_text,
    make_request,
    open_approval,
    request_digest,
    sign_approval,
    strong_enough,
)
from custody.ledger.errors import ApprovalError, FormatError, RuleRefusal, SchemaError
from custody.ledger.note import Note, NoteSignature, Signer, format_note, parse_note, sign_note
from tests.world import APPROVER, ORIGIN, OTHER_APPROVER, RESPONSIBLE, approval_body, signer

PINNED = [APPROVER.verifier().vkey]


def note_for(kind: str = "takeout", **over: Any) -> bytes:
    media = over.pop("media_ids", ["M-001"] if kind != "subcontract" else [])
    return sign_approval(ORIGIN, approval_body(kind, "A-1", media, **over), APPROVER)


def opened(kind: str = "takeout", **over: Any) -> Approval:
    return open_approval(note_for(kind, **over), origin=ORIGIN, approver_vkeys=PINNED, kind=kind)


def refused(note: bytes, *, kind: str | None = "takeout", origin: str = ORIGIN,
            keys: list[str] | None = None) -> ApprovalProblem:
    with pytest.raises(ApprovalProblem) as info:
        open_approval(note, origin=origin, approver_vkeys=PINNED if keys is None else keys, kind=kind)
    return info.value


# --- opening ---


@pytest.mark.parametrize("kind", ["takeout", "copy", "dispose", "subcontract"])
def test_round_trip(kind: str) -> None:
    approval = opened(kind)
    assert approval.kind == kind and approval.id == "A-1"
    assert approval.signed_by == ("city-approver",)
    assert approval.text.startswith(f"{CONTEXT}\n{ORIGIN}\n")
    assert approval.body.approver.title == "市民課長"
    assert approval.body.to_json() == approval_body(kind, "A-1", list(approval.body.media))
    assert len(approval.digest) == 64


@pytest.mark.parametrize("kind", ["takeout", "copy", "dispose", "subcontract"])
def test_an_opened_body_is_what_the_canonical_form_gives(kind: str) -> None:
    """The body opened from a note keeps the value its line parsed to, and ``to_json`` copies it: both are what a
    pass through the canonical form gives (key order and types included), and a copy changed changes nothing."""
    approval = opened(kind)
    through = canonical.loads(canonical.dumps(approval_body(kind, "A-1", list(approval.body.media))))
    for doc in (approval.body.raw, approval.body.to_json(), ApprovalBody.from_json(approval.body.to_json()).raw):
        assert repr(doc) == repr(through)
    changed = approval.body.to_json()
    changed["approver"]["name"] = "someone else"
    changed["conditions"].append("more")
    assert repr(approval.body.to_json()) == repr(through)


def test_text_is_one_canonical_line() -> None:
    body = approval_body("takeout", "A-1", ["M-001"])
    text = make_approval_text(ORIGIN, body)
    context, origin, line, end = text.split("\n")
    assert (context, origin, end) == (CONTEXT, ORIGIN, "")
    assert line.encode() == canonical.dumps(body)
    assert make_approval_text(ORIGIN, ApprovalBody.from_json(body)) == text


def test_typed_views() -> None:
    dispose = opened("dispose").body
    assert dispose.application is not None
    assert dispose.application.category == "destroy" and dispose.application.witness_required
    assert dispose.application.serial_of("M-001") == "SN-001" and dispose.application.serial_of("X") is None
    copy_ = opened("copy").body
    assert copy_.disposal is not None and copy_.disposal.method == "erase" and copy_.use_limit == 1
    sub = opened("subcontract").body.subcontractor
    assert sub is not None and sub.tier == "subcontractor"
    takeout = opened("takeout", return_by="2026-04-10T17:00:00+09:00").body
    assert takeout.deadline == "2026-04-10T17:00:00+09:00"
    assert opened("dispose", evidence_due="2026-05-10T00:00:00+09:00").body.deadline == "2026-05-10T00:00:00+09:00"


def test_signed_by_a_vendor_key() -> None:
    note = sign_approval(ORIGIN, approval_body("takeout", "A-1", ["M-001"]), RESPONSIBLE)
    problem = refused(note)
    assert problem.code == "C2"
    assert "resp-sato" in problem.violations[0].message_en
    assert "custody approve" in problem.violations[0].todo_en
    assert isinstance(problem, ApprovalError) and isinstance(problem, RuleRefusal) and problem.exit_code == 6


@pytest.mark.parametrize(("by", "origin", "says", "todo"), [
    # a registered vendor key: told a vendor key cannot approve
    (RESPONSIBLE, ORIGIN, "not signed by a municipality approver key (signed by: resp-sato)", "a vendor key cannot"),
    # another municipality's approver, for this ledger: a key the contract does not pin for this municipality
    (OTHER_APPROVER, ORIGIN, "other-city-approver is not a key the contract pins for this municipality",
     "approvers it pinned"),
    # another municipality's approval for its own ledger
    (OTHER_APPROVER, "other.example.lg.jp/custody/1", "issued for another ledger (other.example.lg.jp/custody/1)",
     "approvers it pinned"),
])
def test_who_signed_an_unpinned_approval(by: Signer, origin: str, says: str, todo: str) -> None:
    """Item 4 of issue 16: an approval of another municipality is not told "a vendor key cannot approve"."""
    note = sign_approval(origin, approval_body("takeout", "A-1", ["M-001"]), by)
    with pytest.raises(ApprovalProblem) as info:
        open_approval(note, origin=ORIGIN, approver_vkeys=PINNED, kind="takeout", vendor_keys=frozenset({"resp-sato"}))
    v = info.value.violations[0]
    assert says in v.message_en and todo in v.todo_en, (v.message_en, v.todo_en)
    assert ("受託者の鍵では承認できません" in v.todo_ja) == (by is RESPONSIBLE)
    assert v.message_ja and v.todo_ja


def test_vendor_key_with_the_approvers_name() -> None:
    """A key named like the approver but not the pinned one: its key ID differs, so it is unknown."""
    impostor = signer("city-approver-impostor")
    fake = type(impostor)("city-approver", impostor._key)  # same name, another key
    problem = refused(sign_approval(ORIGIN, approval_body("takeout", "A-1", ["M-001"]), fake))
    assert "not signed by a municipality approver key" in problem.violations[0].message_en


def test_forged_body() -> None:
    note = note_for()
    forged = note.replace(b'"max_uses":1', b'"max_uses":9')
    assert forged != note
    problem = refused(forged)
    assert "forged" in problem.violations[0].message_en
    assert "改ざん" in problem.violations[0].message_ja


def test_bad_signature_bytes() -> None:
    parsed = parse_note(note_for())
    sig = parsed.signatures[0]
    broken = NoteSignature(sig.name, sig.key_id, bytes(64))
    problem = refused(format_note(Note(parsed.text, (broken,))))
    assert "does not verify" in problem.violations[0].message_en


def test_other_origin() -> None:
    note = sign_approval("city.example.lg.jp/custody/2026-999/site-1", approval_body("takeout", "A-1", ["M-001"]),
                         APPROVER)
    problem = refused(note)
    assert "another ledger" in problem.violations[0].message_en


@pytest.mark.parametrize(("kind", "asked", "code"), [("takeout", "copy", "C5"), ("copy", "takeout", "C2"),
                                                     ("dispose", "subcontract", "C9"), ("takeout", "dispose", "C7")])
def test_wrong_kind(kind: str, asked: str, code: str) -> None:
    problem = refused(note_for(kind), kind=asked)
    assert problem.code == code
    assert "approval" in problem.violations[0].message_en


def test_code_from_the_body_when_no_kind_is_asked() -> None:
    note = sign_approval(ORIGIN, approval_body("copy", "A-1", ["M-001"]), RESPONSIBLE)
    assert refused(note, kind=None).code == "C5"


def test_second_approver_and_unknown_signatures() -> None:
    text = make_approval_text(ORIGIN, approval_body("takeout", "A-1", ["M-001"]))
    note = sign_note(text, [OTHER_APPROVER, APPROVER])
    approval = open_approval(note, origin=ORIGIN, approver_vkeys=PINNED, kind="takeout")
    assert approval.signed_by == ("city-approver",)
    both = open_approval(note, origin=ORIGIN, approver_vkeys=[*PINNED, OTHER_APPROVER.verifier()], kind="takeout")
    assert set(both.signed_by) == {"city-approver", "other-city-approver"}
    assert both.digest == approval.digest


def _resign(text: str) -> bytes:
    return sign_note(text, [APPROVER])


def _body_line(**over: Any) -> str:
    body = approval_body("takeout", "A-1", ["M-001"])
    for key, value in over.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    return canonical.dumps(body).decode()


MALFORMED: list[tuple[str, bytes]] = [
    ("not a note", b"hello"),
    ("empty", b""),
    ("not utf-8", b"\xff\xfe\n\n\xe2\x80\x94 x AAAA\n"),
    ("no context line", _resign(f"{ORIGIN}\n{_body_line()}\n")),
    ("other context", _resign(f"custody/approval/v2\n{ORIGIN}\n{_body_line()}\n")),
    ("extra line", _resign(f"{CONTEXT}\n{ORIGIN}\n{_body_line()}\nmore\n")),
    ("body on two lines", _resign(f"{CONTEXT}\n{ORIGIN}\n{{\n}}\n")),
    ("not canonical", _resign(f"{CONTEXT}\n{ORIGIN}\n{_body_line().replace(',', ', ', 1)}\n")),
    ("duplicate key", _resign(f"{CONTEXT}\n{ORIGIN}\n{_body_line()[:-1]},\"id\":\"A-2\"}}\n")),
    ("float", _resign(CONTEXT + "\n" + ORIGIN + "\n" + _body_line().replace('"max_uses":1', '"max_uses":1.5') + "\n")),
    ("not an object", _resign(f"{CONTEXT}\n{ORIGIN}\n[1]\n")),
    ("missing approver", _resign(f"{CONTEXT}\n{ORIGIN}\n{_body_line(approver=None)}\n")),
    ("unknown field", _resign(f"{CONTEXT}\n{ORIGIN}\n{_body_line(colour='red')}\n")),
    ("max_uses 0", _resign(f"{CONTEXT}\n{ORIGIN}\n{_body_line(max_uses=0)}\n")),
    ("window reversed", _resign(f"{CONTEXT}\n{ORIGIN}\n{_body_line(valid_until='2026-03-01T00:00:00+09:00')}\n")),
    ("approved after the window", _resign(f"{CONTEXT}\n{ORIGIN}\n{_body_line(approved_at='2027-01-01T00:00:00Z')}\n")),
    ("takeout without carriers", _resign(f"{CONTEXT}\n{ORIGIN}\n{_body_line(carriers=None)}\n")),
    ("takeout without media", _resign(f"{CONTEXT}\n{ORIGIN}\n{_body_line(media=[])}\n")),
    ("bad media id", _resign(f"{CONTEXT}\n{ORIGIN}\n{_body_line(media=['M 1'])}\n")),
    ("bad date", _resign(f"{CONTEXT}\n{ORIGIN}\n{_body_line(valid_from='2026-02-30T00:00:00Z')}\n")),
]


@pytest.mark.parametrize(("name", "note"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed(name: str, note: bytes) -> None:
    problem = refused(note)
    assert problem.code == "C2"
    v = problem.violations[0]
    assert v.message_en and v.message_ja and v.todo_en and v.todo_ja


def test_dispose_media_must_match_the_application() -> None:
    body = approval_body("dispose", "A-1", ["M-001"])
    body["media"] = ["M-001", "M-002"]
    with pytest.raises(SchemaError) as info:
        ApprovalBody.from_json(body)
    assert info.value.field == "media"


def test_copy_targets_not_more_than_copies() -> None:
    body = approval_body("copy", "A-1", ["M-001"], target_media=["C-1", "C-2"])
    with pytest.raises(SchemaError) as info:
        ApprovalBody.from_json(body)
    assert info.value.field == "target_media"


def test_make_approval_text_checks_origin_and_body() -> None:
    with pytest.raises(SchemaError):
        make_approval_text("has space", approval_body("takeout", "A-1", ["M-001"]))
    with pytest.raises(SchemaError) as info:
        make_approval_text(ORIGIN, {**approval_body("takeout", "A-1", ["M-001"]), "kind": "borrow"})
    assert info.value.field == "kind"


# --- coverage ---


AT = "2026-04-02T10:00:00+09:00"
OK_ENCRYPTION = {"method": "software", "algorithm": "AES-256-XTS"}


def covers(approval: Approval, **over: Any) -> list[str]:
    args: dict[str, Any] = {"kind": "takeout", "media_ids": ["M-001"], "at": AT, "uses_so_far": 0,
                            "transport": "by hand in a locked case", "carriers": ["op-tanaka"],
                            "encryption": OK_ENCRYPTION}
    args.update(over)
    return [v.code for v in coverage_problems(approval, **args)]


def test_covers() -> None:
    assert covers(opened()) == []
    assert covers(opened(), transport="  BY HAND in a  locked case ") == []  # spacing and case do not matter


COVER_CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[str]]] = [
    ("other media", {}, {"media_ids": ["M-002"]}, ["C2"]),
    ("one of two media", {}, {"media_ids": ["M-001", "M-002"]}, ["C2"]),
    ("expired", {}, {"at": "2026-07-01T00:00:00+09:00"}, ["C2"]),
    ("not yet valid", {}, {"at": "2026-03-31T23:00:00+09:00"}, ["C2"]),
    ("approved after the act", {"approved_at": "2026-04-03T00:00:00+09:00"}, {}, ["C2"]),
    ("reused", {"max_uses": 2}, {"uses_so_far": 2}, ["C2"]),
    ("wrong transport", {}, {"transport": "courier"}, ["C2"]),
    ("wrong carrier", {}, {"carriers": ["op-tanaka", "someone"]}, ["C2"]),
    ("no carriers", {}, {"carriers": []}, ["C2"]),
    ("no encryption", {}, {"encryption": None}, ["C3"]),
    ("encryption none", {}, {"encryption": {"method": "none"}}, ["C3"]),
    ("no algorithm", {}, {"encryption": {"method": "hardware"}}, ["C3"]),
    ("weak", {}, {"encryption": {"method": "software", "algorithm": "AES-128-CBC"}}, ["C3"]),
    ("not AES", {}, {"encryption": {"method": "software", "algorithm": "ChaCha20"}}, ["C3"]),
    ("wrong kind", {}, {"kind": "copy"}, ["C5"]),
    ("several at once", {}, {"media_ids": ["M-9"], "transport": "post"}, ["C2", "C2"]),
]


@pytest.mark.parametrize(("name", "approval", "act", "expected"), COVER_CASES, ids=[c[0] for c in COVER_CASES])
def test_does_not_cover(name: str, approval: dict[str, Any], act: dict[str, Any], expected: list[str]) -> None:
    assert covers(opened(**approval), **act) == expected


def test_encryption_needed_even_if_the_approval_does_not_ask() -> None:
    approval = opened(encryption_required=False, encryption_min=None)
    assert covers(approval, encryption=None) == []
    assert covers(approval, encryption=None, encryption_needed=True) == ["C3"]


def test_copy_coverage() -> None:
    approval = opened("copy", copies=2, max_uses=3, target_media=["C-1", "C-2"])
    def codes(uses: int, target: str) -> list[str]:
        found = coverage_problems(approval, kind="copy", media_ids=["M-001"], at=AT, uses_so_far=uses,
                                  target_media_id=target)
        return [v.code for v in found]

    assert codes(1, "C-2") == []
    assert codes(2, "C-2") == ["C5"]
    assert codes(0, "C-3") == ["C5"]


def test_check_covers_raises_with_what_is_missing_and_what_to_do() -> None:
    with pytest.raises(ApprovalProblem) as info:
        check_covers(opened(), kind="takeout", media_ids=["M-003"], at=AT, uses_so_far=0)
    problem = info.value
    assert problem.code == "C2"
    v = problem.violations[0]
    assert v.media_id == "M-003"
    assert "M-003" in v.missing_en and "M-003" in v.todo_en and "M-003" in v.todo_ja
    assert "ask the municipality for a new approval covering medium m-003" in v.todo_en.lower()
    assert problem.todo in (v.todo_en, v.todo_ja)
    check_covers(opened(), kind="takeout", media_ids=["M-001"], at=AT, uses_so_far=0,
                 encryption=OK_ENCRYPTION)


@pytest.mark.parametrize(("algorithm", "minimum", "ok"), [
    ("AES-256-XTS", "AES-256", True), ("aes256", "AES-128", True), ("AES_192", "AES-256", False),
    ("AES-128", "", True), ("ChaCha20-Poly1305", "chacha20-poly1305", True), ("Serpent", "AES-128", False),
])
def test_strong_enough(algorithm: str, minimum: str, ok: bool) -> None:
    assert strong_enough(algorithm, minimum) is ok


# --- requests ---


REQUESTS: dict[str, dict[str, Any]] = {
    "takeout": {
        "requester": "resp-sato", "media": ["M-001"], "data_items": [{"name": "住民基本台帳", "records": 1200}],
        "records": 1200, "purpose": "移行データの受け渡し", "origin_place": "本社 第2開発室",
        "destination": "例市役所 情報政策課", "transport": "by hand in a locked case", "carriers": ["op-tanaka"],
        "planned_out": "2026-04-05T09:00:00+09:00", "planned_return": "2026-04-05T17:00:00+09:00",
        "encryption": {"method": "software", "algorithm": "AES-256", "password_channel": "別途電話で連絡"},
        "erasure_plan": "受け渡し後、持ち出し先で暗号鍵消去",
    },
    "copy": {
        "requester": "resp-sato", "media": ["M-001"], "copies": 1, "target_media": ["C-001"],
        "purpose": "検証環境への投入", "data_items": [{"name": "住民基本台帳", "records": 1200}],
        "disposal": {"method": "erase", "by": "2026-06-30T23:59:59+09:00"},
    },
    "dispose": {
        "requester": "resp-sato", "purpose": "契約終了に伴う廃棄",
        "application": approval_body("dispose", "A", ["M-001"])["application"],
    },
    "subcontract": {
        "requester": "resp-sato", "purpose": "入力作業の一部再委託",
        "subcontractor": approval_body("subcontract", "A", [])["subcontractor"],
    },
}


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_request_to_approval(kind: str) -> None:
    request = make_request(kind, REQUESTS[kind])
    assert request["format"] == "custody/request/v1" and request["kind"] == kind
    body = approval_from_request(
        request, id="A-7", valid_from="2026-04-01T00:00:00+09:00", valid_until="2026-06-30T23:59:59+09:00",
        approver={"name": "鈴木 次郎", "title": "市民課長", "organisation": "例市"},
        approved_at="2026-03-31T15:00:00+09:00", conditions=["施錠ケースで運搬"],
    )
    assert body["request_sha256"] == request_digest(request)
    approval = open_approval(sign_approval(ORIGIN, body, APPROVER), origin=ORIGIN, approver_vkeys=PINNED, kind=kind)
    if kind == "takeout":
        check_covers(approval, kind=kind, media_ids=["M-001"], at=AT, uses_so_far=0,
                     transport="by hand in a locked case", carriers=["op-tanaka"], encryption=OK_ENCRYPTION)
        assert approval.body.return_by == "2026-04-05T17:00:00+09:00"
    if kind == "dispose":
        assert approval.body.media == ("M-001",)


REQUEST_MISSING = [
    ("takeout", "carriers"), ("takeout", "encryption"), ("takeout", "erasure_plan"), ("takeout", "planned_return"),
    ("copy", "copies"), ("copy", "disposal"), ("dispose", "application"), ("subcontract", "subcontractor"),
    ("takeout", "requester"), ("copy", "purpose"),
]


@pytest.mark.parametrize(("kind", "field"), REQUEST_MISSING)
def test_request_missing_field(kind: str, field: str) -> None:
    fields = copy.deepcopy(REQUESTS[kind])
    del fields[field]
    with pytest.raises(SchemaError) as info:
        make_request(kind, fields)
    assert info.value.field == field


def test_request_nested_fields_named() -> None:
    fields = copy.deepcopy(REQUESTS["subcontract"])
    del fields["subcontractor"]["supervision"]
    with pytest.raises(SchemaError) as info:
        make_request("subcontract", fields)
    assert info.value.field == "subcontractor.supervision"
    with pytest.raises(SchemaError) as info:
        make_request("borrow", {})
    assert info.value.field == "kind"


# --- fuzzing: only ApprovalError / FormatError, never anything else ---


VALID = note_for()


def _mutations() -> st.SearchStrategy[bytes]:
    flip = st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)).map(
        lambda t: VALID[: t[0]] + bytes([t[1]]) + VALID[t[0] + 1:])
    cut = st.integers(0, len(VALID)).map(lambda n: VALID[:n])
    splice = st.tuples(st.integers(0, len(VALID)), st.binary(max_size=40)).map(
        lambda t: VALID[: t[0]] + t[1] + VALID[t[0]:])
    text = st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass"))
    lines = st.lists(st.sampled_from([CONTEXT, ORIGIN, "{}", _body_line(), "", "— city-approver AAAA"]),
                     max_size=6).map(lambda ls: ("\n".join(ls) + "\n").encode())
    return st.one_of(st.binary(max_size=300), flip, cut, splice, text, lines)


@settings(max_examples=400, deadline=None)
@given(note=_mutations(), kind=st.sampled_from([None, "takeout", "copy", "dispose", "subcontract"]))
def test_fuzz_open_approval(note: bytes, kind: str | None) -> None:
    error: ApprovalError | FormatError | None = None
    try:
        approval = open_approval(note, origin=ORIGIN, approver_vkeys=PINNED, kind=kind)
    except (ApprovalError, FormatError) as exc:  # anything else fails the test
        error = exc
    if error is None:
        assert note == VALID and kind in (None, "takeout")
        assert approval.id == "A-1"
    else:
        assert error.message
        assert not isinstance(error, ApprovalProblem) or error.code in ("C2", "C5", "C7", "C9")
