"""Ed25519 signatures for reports and exported files, verifiable offline.

Why: a compliance export (JSON/PDF/CSV report, audit-chain checkpoint) must be
checkable by a regulator or a platform without calling this service. We publish
the public key (PEM) at a well-known URL; anyone holding it can verify a report
with any Ed25519 implementation. Ed25519 because signatures are deterministic
(no RNG at signing time), small (64 bytes) and the keys are one file.

Formats (all JSON, UTF-8):

* Detached signature (``DetachedSignature.to_json``)::

      {"v": 1, "alg": "Ed25519", "key_id": "<16 hex>", "type": "bytes" | "file" | "json",
       "sig": "<base64 64 bytes>", "signed_at": "<ISO 8601 UTC>", ["sha256": "...", "size": N]}

  ``key_id`` is the first 16 hex characters of SHA-256 over the raw 32-byte
  public key; it names the key (for rotation), it is not a security check.
* ``type: "bytes"``: the signature is over the bytes themselves.
* ``type: "file"``: the file is streamed through SHA-256 and the signature is over
  ``b"media-forensics/file/v1\\0" + digest`` (domain separated, so a file
  signature can never be replayed as a bytes or JSON signature). This keeps
  memory flat for multi-GB videos; ``sha256`` and ``size`` are recorded.
* ``type: "json"``: embedded in the report under ``"signature"``; the signature
  is over ``b"media-forensics/json/v1\\0" + canonical_json(report without the
  signature field)``. Canonical JSON here is ``json.dumps(sort_keys=True,
  separators=(",", ":"), ensure_ascii=False, allow_nan=False)`` in UTF-8; it is
  not full RFC 8785 (JCS): floats are written by Python's repr, so verifiers in
  other languages should re-serialise integers/strings only, or verify the
  exported bytes. Reports should carry scores as strings or fixed decimals.

The ``signed_at`` field is informative and is covered by nothing: a signature
proves who signed the bytes, not when (use a timestamp authority or the audit
chain for time).

No Django imports; pure ``cryptography``.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from provenance.canonical import canonical_json

ALGORITHM = "Ed25519"
FORMAT_VERSION = 1
SIGNATURE_FIELD = "signature"
_FILE_DOMAIN = b"media-forensics/file/v1\x00"
_JSON_DOMAIN = b"media-forensics/json/v1\x00"
_CHUNK = 1 << 20

PathLike = Union[str, "os.PathLike[str]"]
PublicKeys = Ed25519PublicKey | Iterable[Ed25519PublicKey] | Mapping[str, Ed25519PublicKey]


class SignatureFormatError(ValueError):
    """The signature document is malformed (not a verification failure of a well-formed one)."""


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex characters of SHA-256 over the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """SubjectPublicKeyInfo PEM of a key: what we publish at the well-known URL."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key_pem(pem: str | bytes) -> Ed25519PublicKey:
    """Load a published public key; raises ValueError if it is not an Ed25519 key."""
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")  # noqa: TRY004 - bad key data, as load_pem_public_key raises
    return key


def load_or_create_private_key(path: PathLike) -> Ed25519PrivateKey:
    """Load the signing key from ``path`` (PKCS#8 PEM), creating it with mode 0600 if missing.

    Creation is atomic and exclusive (O_CREAT | O_EXCL), so two workers starting
    at once cannot end up with different keys: the loser of the race loads the
    winner's key. An existing key file readable by group or others is refused,
    because a leaked signing key silently voids every report signed with it.
    """
    target = Path(path)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race; load its key below
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            return key
    mode = target.stat().st_mode & 0o777
    if mode & 0o077:
        raise PermissionError(f"signing key {target} has mode {oct(mode)}; it must be 0600 (chmod 600)")
    loaded = serialization.load_pem_private_key(target.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{target} does not hold an Ed25519 private key")  # noqa: TRY004 - bad file content
    return loaded


@dataclass(frozen=True)
class DetachedSignature:
    """A signature plus what a verifier needs to pick the key and the message form."""

    alg: str
    key_id: str
    sig: str  # base64 of the 64 signature bytes
    type: str  # "bytes" | "file" | "json"
    signed_at: str
    v: int = FORMAT_VERSION
    sha256: str | None = None
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DetachedSignature:
        try:
            sig = cls(
                alg=str(data["alg"]),
                key_id=str(data["key_id"]),
                sig=str(data["sig"]),
                type=str(data["type"]),
                signed_at=str(data.get("signed_at", "")),
                v=int(data.get("v", FORMAT_VERSION)),
                sha256=data.get("sha256"),
                size=data.get("size"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SignatureFormatError(f"malformed signature: {exc}") from exc
        if sig.v != FORMAT_VERSION:
            raise SignatureFormatError(f"unsupported signature format version {sig.v}")
        return sig

    @classmethod
    def from_json(cls, text: str | bytes) -> DetachedSignature:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SignatureFormatError(f"signature is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise SignatureFormatError("signature JSON must be an object")
        return cls.from_dict(data)

    @property
    def signature_bytes(self) -> bytes:
        try:
            raw = base64.b64decode(self.sig, validate=True)
        except (ValueError, TypeError) as exc:
            raise SignatureFormatError("signature is not base64") from exc
        if len(raw) != 64:
            raise SignatureFormatError("an Ed25519 signature is 64 bytes")
        return raw


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _make(private_key: Ed25519PrivateKey, message: bytes, kind: str, **extra: Any) -> DetachedSignature:
    return DetachedSignature(
        alg=ALGORITHM,
        key_id=key_id(private_key.public_key()),
        sig=base64.b64encode(private_key.sign(message)).decode("ascii"),
        type=kind,
        signed_at=_now(),
        **extra,
    )


def _select_key(signature: DetachedSignature, public_keys: PublicKeys) -> Ed25519PublicKey | None:
    if isinstance(public_keys, Ed25519PublicKey):
        candidates: Iterable[Ed25519PublicKey] = [public_keys]
    elif isinstance(public_keys, Mapping):
        candidates = public_keys.values()
    else:
        candidates = public_keys
    for key in candidates:
        if key_id(key) == signature.key_id:
            return key
    return None


def _check(signature: DetachedSignature, message: bytes, public_keys: PublicKeys, kind: str) -> bool:
    if signature.alg != ALGORITHM or signature.type != kind:
        return False
    key = _select_key(signature, public_keys)
    if key is None:
        return False
    try:
        key.verify(signature.signature_bytes, message)
    except (InvalidSignature, SignatureFormatError):
        return False
    return True


# -- arbitrary bytes ------------------------------------------------------------------------------
def sign_bytes(data: bytes, private_key: Ed25519PrivateKey) -> DetachedSignature:
    """Sign ``data`` as is (for small payloads held in memory)."""
    return _make(private_key, bytes(data), "bytes")


SignatureLike = DetachedSignature | str | bytes | Mapping[str, Any]


def verify_bytes(data: bytes, signature: SignatureLike, public_keys: PublicKeys) -> bool:
    """True only if ``signature`` is a valid Ed25519 signature over ``data`` by one of ``public_keys``.

    The key is chosen by ``key_id``; an unknown key, a wrong algorithm or type, or a
    malformed signature all verify as False (malformed JSON raises SignatureFormatError).
    """
    return _check(_coerce(signature), bytes(data), public_keys, "bytes")


# -- files ----------------------------------------------------------------------------------------
def _file_digest(source: PathLike | BinaryIO) -> tuple[bytes, int]:
    digest = hashlib.sha256()
    size = 0
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            return _file_digest(handle)
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.digest(), size


def sign_file(path: PathLike, private_key: Ed25519PrivateKey, *, write_sig: bool = True) -> DetachedSignature:
    """Sign a file by its streamed SHA-256; writes ``<path>.sig`` (JSON) unless ``write_sig`` is False."""
    digest, size = _file_digest(path)
    signature = _make(private_key, _FILE_DOMAIN + digest, "file", sha256=digest.hex(), size=size)
    if write_sig:
        Path(f"{os.fspath(path)}.sig").write_text(signature.to_json(), encoding="utf-8")
    return signature


def verify_file(
    path: PathLike,
    public_keys: PublicKeys,
    signature: SignatureLike | None = None,
) -> bool:
    """Verify a file against its detached signature (default: ``<path>.sig`` beside it)."""
    if signature is None:
        signature = Path(f"{os.fspath(path)}.sig").read_text(encoding="utf-8")
    sig = _coerce(signature)
    digest, size = _file_digest(path)
    if sig.sha256 is not None and sig.sha256 != digest.hex():
        return False
    if sig.size is not None and sig.size != size:
        return False
    return _check(sig, _FILE_DOMAIN + digest, public_keys, "file")


# -- JSON reports ---------------------------------------------------------------------------------
def sign_json(
    report: Mapping[str, Any], private_key: Ed25519PrivateKey, *, field: str = SIGNATURE_FIELD
) -> dict[str, Any]:
    """Return a copy of ``report`` with a signature over its canonical JSON embedded under ``field``.

    Any existing ``field`` is dropped first, so re-signing a report replaces its signature.
    """
    body = {k: v for k, v in report.items() if k != field}
    signature = _make(private_key, _JSON_DOMAIN + canonical_json(body), "json")
    signed = dict(body)
    signed[field] = signature.to_dict()
    return signed


def verify_json(report: Mapping[str, Any], public_keys: PublicKeys, *, field: str = SIGNATURE_FIELD) -> bool:
    """True only if ``report[field]`` signs the canonical JSON of the rest of ``report``."""
    if field not in report or not isinstance(report[field], Mapping):
        return False
    try:
        sig = DetachedSignature.from_dict(report[field])
        body = canonical_json({k: v for k, v in report.items() if k != field})
    except (SignatureFormatError, ValueError, TypeError):
        return False
    return _check(sig, _JSON_DOMAIN + body, public_keys, "json")


def _coerce(signature: SignatureLike) -> DetachedSignature:
    if isinstance(signature, DetachedSignature):
        return signature
    if isinstance(signature, (str, bytes)):
        return DetachedSignature.from_json(signature)
    return DetachedSignature.from_dict(signature)


__all__ = [
    "ALGORITHM",
    "DetachedSignature",
    "SignatureFormatError",
    "canonical_json",
    "key_id",
    "load_or_create_private_key",
    "load_public_key_pem",
    "public_key_pem",
    "sign_bytes",
    "sign_file",
    "sign_json",
    "verify_bytes",
    "verify_file",
    "verify_json",
]
