"""What a command uses to have the key agent sign (docs/spec.md §6.7).

``person_signer`` and ``log_signer`` give a :class:`AgentSigner` when a key
agent of this user is running and holds the key, else None, and the command
opens the key file as it always did.  An ``AgentSigner`` is a
:class:`~custody.ledger.note.Signer` whose ``sign`` asks the agent: the name,
the type and the public key are known here, the private key never is.

The client checks the agent as the agent checks it: the socket's folder must
be this user's alone (``paths``) and the process answering must be this
user's (``SO_PEERCRED``).  ``CUSTODY_AGENT=off`` makes every command ignore a
running agent.  Nothing here imports ``cryptography``: a command whose
signatures the agent makes never loads OpenSSL's bindings for them.
"""

from __future__ import annotations

import _socket  # see custody.ledger.keyagent.protocol
import base64
import os
from pathlib import Path
from typing import Any

from custody.ledger.errors import KeyAgentError, RuleRefusal
from custody.ledger.i18n import _
from custody.ledger.keyagent import paths, protocol
from custody.ledger.keyagent.protocol import LOG_KEY, PERSON_KEY
from custody.ledger.note import ALG_ED25519, Signer

#: How long a command waits for one answer of a running agent.
TIMEOUT_SECONDS = 30.0


def disabled() -> bool:
    return os.environ.get("CUSTODY_AGENT", "").lower() in ("off", "0", "no")


class AgentClient:
    """One connection to the agent at ``path`` (the agent checked to be this user's process)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        self._sock.settimeout(TIMEOUT_SECONDS)
        try:
            self._sock.connect(str(path))
            theirs = protocol.peer_uid(self._sock)
        except BaseException:
            self._sock.close()
            raise
        if theirs != os.getuid():
            self._sock.close()
            raise KeyAgentError(
                _("The process listening at {path} is not yours; custody does not use it.").format(path=path))
        self._hello: dict[str, Any] | None = None

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            protocol.send(self._sock, message)
            return protocol.receive(self._sock)
        except (OSError, protocol.ProtocolError) as exc:
            raise KeyAgentError(
                _("The key agent did not answer: {why}").format(why=exc),
                hint=_("Run 'custody unlock' again, or set CUSTODY_AGENT=off to open the key file instead."),
            ) from None

    def hello(self) -> dict[str, Any]:
        if self._hello is None:
            reply = self.request({"op": "hello"})
            if not reply.get("ok"):
                raise refusal(reply)
            self._hello = reply
        return self._hello

    def fits(self, schema: str, document: object) -> bool:
        """Whether the agent finds ``document`` fits ``schema`` (``custody.ledger.validation``'s acceptor in the
        agent, compiled once for the shift).  False also when it cannot tell: the caller then judges the document
        itself, as without an agent, and gives the same verdict and message."""
        from custody import schemas

        try:
            reply = self.request({"op": "fits", "schema": schema, "document": document, "schemas": schemas.location()})
        except (KeyAgentError, TypeError, ValueError):  # no answer; a document that is not JSON
            return False
        return reply.get("ok") is True and reply.get("fits") is True

    def lock(self) -> dict[str, Any]:
        return self.request({"op": "lock"})

    def close(self) -> None:
        self._sock.close()


_client: AgentClient | None = None


def connect(*, fresh: bool = False) -> AgentClient | None:
    """The running agent of this user, or None when there is none (or agents are off or unsupported)."""
    global _client  # noqa: PLW0603 - one connection per process, reused by every signature
    if _client is not None:
        if not fresh:
            return _client
        forget()
    if disabled() or not paths.SUPPORTED:
        return None
    path = paths.socket_path()
    if not os.path.exists(path):
        return None
    problem = paths.private_problem(path.parent)
    if problem is not None:
        raise KeyAgentError(
            _("The key agent's folder {path} is not private: {why}.").format(path=path.parent, why=problem),
            hint=_("custody does not use an agent there. Remove the folder, or set CUSTODY_AGENT=off."),
        )
    try:
        client = AgentClient(path)
    except (ConnectionRefusedError, FileNotFoundError):
        return None  # a socket left behind by an agent that ended
    except OSError as exc:
        raise KeyAgentError(_("Cannot reach the key agent at {path}: {why}").format(
            path=path, why=exc.strerror or exc)) from None
    _client = client
    return client


def forget() -> None:
    """Close this process's connection (tests, and ``custody lock``)."""
    global _client  # noqa: PLW0603
    if _client is not None:
        _client.close()
        _client = None


def held_keys(client: AgentClient) -> list[tuple[str, str, bytes]]:
    """(name, role, public key) of every key the agent holds."""
    return [(k["name"], k["role"], base64.b64decode(k["public"])) for k in client.hello().get("keys", [])]


def person_signer(name: str | None = None, public: bytes | None = None) -> AgentSigner | None:
    """The agent's signer for the person key ``name`` with ``public``; without them, its only person key."""
    client = connect()
    if client is None:
        return None
    keys = [(n, p) for n, role, p in held_keys(client) if role == PERSON_KEY]
    if name is None:
        return AgentSigner(client, *keys[0], PERSON_KEY) if len(keys) == 1 else None
    if (name, public) in keys:
        return AgentSigner(client, name, public, PERSON_KEY)  # type: ignore[arg-type]
    return None


def log_signer(origin: str, public: bytes) -> AgentSigner | None:
    """The agent's signer for the log key of the ledger ``origin`` (named after it, with ``public``)."""
    client = connect()
    if client is None or client.hello().get("origin") != origin:
        return None
    if (origin, LOG_KEY, public) in held_keys(client):
        return AgentSigner(client, origin, public, LOG_KEY)
    return None


class AgentSigner(Signer):
    """A signer whose private key is the agent's: ``sign`` sends the signing input and gets the signature."""

    __slots__ = ("_client", "_role")

    def __init__(self, client: AgentClient, name: str, public: bytes, role: str) -> None:
        self._set_public(name, ALG_ED25519, public)
        self._client = client
        self._role = role

    def __repr__(self) -> str:
        return f"AgentSigner({self.name!r}, role={self._role}, key_id={self.key_id.hex()})"

    def fits(self, schema: str, document: object) -> bool:
        """The agent's judgement whether ``document`` fits ``schema`` (``AgentClient.fits``)."""
        return self._client.fits(schema, document)

    def sign(self, message: bytes) -> bytes:
        reply = self._client.request({
            "op": "sign", "role": self._role,
            "public": base64.b64encode(self._public).decode("ascii"),
            "message": base64.b64encode(message).decode("ascii"),
        })
        if not reply.get("ok"):
            raise refusal(reply, name=self.name, key_id=self.key_id.hex())
        try:
            signature = base64.b64decode(reply["signature"], validate=True)
        except (KeyError, TypeError, ValueError):
            signature = b""
        if len(signature) != 64:
            raise KeyAgentError(_("The key agent answered without a signature."))
        return signature


def refusal(reply: dict[str, Any], *, name: str = "", key_id: str = "") -> KeyAgentError | RuleRefusal:
    """The error a command reports for the agent's refusal ``reply``."""
    code, detail = reply.get("error"), str(reply.get("message", ""))
    again = _("Run 'custody unlock' again, or set CUSTODY_AGENT=off to open the key file instead.")
    if code == protocol.REVOKED:
        return RuleRefusal(
            "C9", _("The ledger no longer lets the key {key_id} of {name} sign ({why}); the key agent refused "
                    "it and forgot it.").format(key_id=key_id, name=name, why=detail),
            missing=_("a registered, unrevoked key of {name}").format(name=name),
            todo=_("Sign with {name}'s current key.").format(name=name),
        )
    if code == protocol.OTHER_LEDGER:
        other = reply.get("origin")
        message = (_("The key agent was unlocked for the ledger {origin}, not this one.").format(origin=other)
                   if other else _("The key agent was unlocked without a ledger: it signs only approvals."))
        return KeyAgentError(message, hint=_("Run 'custody lock', then 'custody unlock --ledger DIR' for this "
                                             "ledger, or set CUSTODY_AGENT=off to open the key file instead."))
    if code == protocol.NO_KEY:
        return KeyAgentError(_("The key agent no longer holds the key of {name}.").format(name=name), hint=again)
    if code == protocol.OTHER_USER:
        return KeyAgentError(_("The key agent refused this process: it serves its own user only."))
    return KeyAgentError(_("The key agent refused to sign: {why}").format(why=detail), hint=again)
