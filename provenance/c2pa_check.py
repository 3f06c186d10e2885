"""Read and validate C2PA Content Credentials, and sign media with them.

Why: EU AI Act Art. 50(2) expects machine-readable marks on synthetic media and
C2PA manifests are the main such mark; a report must say whether one was found,
whether it validated, who signed it, and whether it declares AI generation. The
result is an explicit state with the library's status codes, never a bare bool
(the C2PA spec and c2patool report the same way).

States (``C2paResult.state``):

* ``absent``    no manifest store in the asset (stripped, or never signed).
* ``invalid``   a manifest exists but fails validation: the asset bytes changed
                after signing (``assertion.dataHash.mismatch``), the claim signature
                is broken (``claimSignature.mismatch``), etc. Strong tamper evidence.
* ``untrusted`` cryptographically intact, but the signing certificate chains to no
                configured trust anchor (``signingCredential.untrusted``): anyone
                can make such a manifest with a self-made CA, so the claims in it
                are only as good as the unknown signer.
* ``trusted``   intact and the signer chains to a trust anchor (the library's
                built-in list or ``trust_anchors`` passed here).
* ``valid``     intact, trust not evaluated (``check_trust=False``) or not decided.
* ``error``     the asset could not be evaluated (unsupported or unreadable file);
                ``error`` holds the message. Not evidence either way.

Built on ``c2pa-python`` 0.38.x (``Reader``, ``Builder``, ``Signer``,
``C2paSignerInfo``, ``Settings``/``Context``). Verification is offline: OCSP and
remote-manifest fetching are switched off (a worker must not make network calls
chosen by an uploaded file). No Django imports.
"""
from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Union

C2paSource = Union[str, "os.PathLike[str]", bytes, BinaryIO]

STATES = ("absent", "valid", "trusted", "invalid", "untrusted", "error")
IPTC_DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
#: IPTC digital source types that declare generative-AI output (the Art. 50 signal).
AI_SOURCE_TYPES = frozenset({"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"})
UNTRUSTED_CODE = "signingCredential.untrusted"


@dataclass(frozen=True)
class C2paAction:
    """One entry of a ``c2pa.actions`` assertion."""

    action: str
    digital_source_type: str | None = None
    software_agent: str | None = None
    when: str | None = None

    @property
    def ai_generated(self) -> bool:
        return _source_type_name(self.digital_source_type) in AI_SOURCE_TYPES


@dataclass(frozen=True)
class C2paIngredient:
    """An ingredient (parent or component asset) declared by the active manifest."""

    title: str | None
    format: str | None
    relationship: str | None
    active_manifest: str | None
    validation_codes: tuple[str, ...] = ()


@dataclass
class C2paResult:
    """Outcome of reading an asset's Content Credentials. ``state`` is one of ``STATES``."""

    state: str
    failure_codes: list[str] = field(default_factory=list)
    success_codes: list[str] = field(default_factory=list)
    informational_codes: list[str] = field(default_factory=list)
    validation_state: str | None = None  # the library's own word: Invalid / Valid / Trusted
    active_manifest: str | None = None
    claim_generator: str | None = None
    title: str | None = None
    signer: str | None = None  # certificate common name
    issuer: str | None = None  # certificate issuer organisation
    signing_alg: str | None = None
    signing_time: str | None = None  # only present when the claim was time-stamped
    cert_serial_number: str | None = None
    actions: list[C2paAction] = field(default_factory=list)
    ingredients: list[C2paIngredient] = field(default_factory=list)
    manifest_count: int = 0
    error: str | None = None

    @property
    def ai_generated(self) -> bool:
        """True when an action in the active manifest declares a generative-AI digital source type.

        Only meaningful together with ``state``: an ``untrusted`` manifest's claim
        is the signer's word; an ``invalid`` one may have been tampered with.
        """
        return any(a.ai_generated for a in self.actions)

    @property
    def digital_source_types(self) -> list[str]:
        return sorted({name for a in self.actions if (name := _source_type_name(a.digital_source_type))})

    @property
    def codes(self) -> list[str]:
        """Failure codes (what a report must show first)."""
        return list(self.failure_codes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ai_generated"] = self.ai_generated
        data["digital_source_types"] = self.digital_source_types
        return data


def _source_type_name(value: str | None) -> str | None:
    if not value:
        return None
    return value.rstrip("/").rsplit("/", 1)[-1]


def _source_type_url(value: str) -> str:
    return value if "://" in value else IPTC_DIGITAL_SOURCE_TYPE + value


def _read_pem(trust_anchors: str | os.PathLike[str] | None, trust_anchors_pem: str | None) -> str | None:
    parts = []
    if trust_anchors is not None:
        parts.append(Path(trust_anchors).read_text(encoding="ascii"))
    if trust_anchors_pem:
        parts.append(trust_anchors_pem)
    pem = "\n".join(p.strip() for p in parts if p.strip())
    return pem + "\n" if pem else None


def _make_context(check_trust: bool, anchors_pem: str | None) -> Any:  # c2pa ships no type information
    import c2pa

    settings: dict[str, Any] = {
        "verify": {"verify_trust": check_trust, "ocsp_fetch": False, "remote_manifest_fetch": False},
    }
    if anchors_pem:
        # user_anchors adds to the library's built-in anchors; trust_anchors would replace them.
        settings["trust"] = {"user_anchors": anchors_pem}
    return c2pa.Context(settings=c2pa.Settings.from_dict(settings))


def check_c2pa(
    source: C2paSource,
    *,
    mime_type: str | None = None,
    trust_anchors: str | os.PathLike[str] | None = None,
    trust_anchors_pem: str | None = None,
    check_trust: bool = True,
) -> C2paResult:
    """Read and validate the C2PA manifest store of an asset.

    ``source`` is a path, the bytes, or a binary stream. ``mime_type`` helps for
    extensionless paths (content-addressed storage) and streams; without it the
    library detects the container from the bytes. ``trust_anchors`` is a PEM
    bundle path of root certificates to trust in addition to the library's own;
    ``trust_anchors_pem`` the same as text. Never raises for a bad asset: the
    problem is reported as ``state="error"``.
    """
    try:
        import c2pa
    except ImportError as exc:  # pragma: no cover - dependency missing in a slim deploy
        return C2paResult(state="error", error=f"c2pa-python not installed: {exc}")

    handle: BinaryIO | None = None
    try:
        context = _make_context(check_trust, _read_pem(trust_anchors, trust_anchors_pem))
        if isinstance(source, (bytes, bytearray, memoryview)):
            handle = io.BytesIO(bytes(source))
        elif isinstance(source, (str, os.PathLike)):
            handle = open(source, "rb")  # noqa: SIM115 - closed in the finally below
            if mime_type is None:
                mime_type = _mime_from_suffix(Path(source).suffix)
        else:
            handle = source
        reader = c2pa.Reader.try_create(mime_type, handle, None, context)
        if reader is None:
            return C2paResult(state="absent")
        with reader:
            store = json.loads(reader.json())
        return _parse_store(store, check_trust)
    except Exception as exc:  # noqa: BLE001 - the native library raises C2paError subclasses and OSError
        if type(exc).__name__.endswith("ManifestNotFound"):
            return C2paResult(state="absent")
        return C2paResult(state="error", error=f"{type(exc).__name__}: {exc}")
    finally:
        if handle is not None and handle is not source:
            handle.close()


_SUFFIX_MIME = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
    ".gif": "image/gif", ".tif": "image/tiff", ".tiff": "image/tiff", ".heic": "image/heic",
    ".heif": "image/heif", ".avif": "image/avif", ".mp4": "video/mp4", ".mov": "video/quicktime",
    ".m4a": "audio/mp4", ".mp3": "audio/mpeg", ".wav": "audio/wav", ".pdf": "application/pdf",
    ".svg": "image/svg+xml", ".dng": "image/x-adobe-dng",
}


def _mime_from_suffix(suffix: str) -> str | None:
    return _SUFFIX_MIME.get(suffix.lower())


def _codes(entries: Iterable[Mapping[str, Any]] | None) -> list[str]:
    seen: list[str] = []
    for entry in entries or []:
        code = entry.get("code")
        if code and code not in seen:
            seen.append(str(code))
    return seen


def _parse_store(store: Mapping[str, Any], check_trust: bool) -> C2paResult:
    label = store.get("active_manifest")
    manifests = store.get("manifests") or {}
    manifest = manifests.get(label) or {}
    results = store.get("validation_results") or {}
    active = results.get("activeManifest") or {}
    failures = _codes(active.get("failure"))
    for code in _codes(store.get("validation_status")):
        if code not in failures:
            failures.append(code)
    for delta in results.get("ingredientDeltas") or []:
        for code in _codes((delta.get("validationDeltas") or {}).get("failure")):
            if code not in failures:
                failures.append(code)
    validation_state = store.get("validation_state")

    if validation_state == "Invalid":
        state = "invalid"
    elif validation_state == "Trusted":
        state = "trusted"
    elif UNTRUSTED_CODE in failures and check_trust:
        state = "untrusted"
    elif validation_state == "Valid":
        # A failure code other than untrusted under "Valid" should not happen; be conservative.
        state = "invalid" if any(c != UNTRUSTED_CODE for c in failures) else "valid"
    else:
        state = "invalid" if failures else "valid"

    info = manifest.get("signature_info") or {}
    return C2paResult(
        state=state,
        failure_codes=failures,
        success_codes=_codes(active.get("success")),
        informational_codes=_codes(active.get("informational")),
        validation_state=validation_state,
        active_manifest=label,
        claim_generator=_claim_generator(manifest),
        title=manifest.get("title"),
        signer=info.get("common_name"),
        issuer=info.get("issuer"),
        signing_alg=info.get("alg"),
        signing_time=info.get("time"),
        cert_serial_number=info.get("cert_serial_number"),
        actions=_actions(manifest),
        ingredients=_ingredients(manifest),
        manifest_count=len(manifests),
    )


def _claim_generator(manifest: Mapping[str, Any]) -> str | None:
    if manifest.get("claim_generator"):
        return str(manifest["claim_generator"])
    infos = manifest.get("claim_generator_info") or []
    if infos and isinstance(infos[0], Mapping):
        name = infos[0].get("name")
        version = infos[0].get("version")
        if name:
            return f"{name}/{version}" if version else str(name)
    return None


def _actions(manifest: Mapping[str, Any]) -> list[C2paAction]:
    found: list[C2paAction] = []
    for assertion in manifest.get("assertions") or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            agent = action.get("softwareAgent")
            if isinstance(agent, Mapping):
                agent = agent.get("name")
            found.append(
                C2paAction(
                    action=str(action.get("action", "")),
                    digital_source_type=action.get("digitalSourceType"),
                    software_agent=str(agent) if agent else None,
                    when=action.get("when"),
                )
            )
    return found


def _ingredients(manifest: Mapping[str, Any]) -> list[C2paIngredient]:
    return [
        C2paIngredient(
            title=item.get("title"),
            format=item.get("format"),
            relationship=item.get("relationship"),
            active_manifest=item.get("active_manifest"),
            validation_codes=tuple(_codes(item.get("validation_status"))),
        )
        for item in manifest.get("ingredients") or []
    ]


def sign_with_c2pa(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    cert_chain_pem: str | bytes,
    key_pem: str | bytes,
    *,
    digital_source_type: str | None = "trainedAlgorithmicMedia",
    actions: list[Mapping[str, Any]] | None = None,
    alg: str = "es256",
    title: str | None = None,
    claim_generator: tuple[str, str] = ("media-forensics", "0.1.0"),
    ta_url: str | None = None,
    mime_type: str | None = None,
) -> bytes:
    """Embed a signed C2PA manifest in a copy of ``src`` written to ``dst``; returns the manifest bytes.

    For tenants marking their generated media (Art. 50(2)) and for tests. Default:
    one ``c2pa.created`` action with IPTC ``trainedAlgorithmicMedia``.
    ``digital_source_type`` takes the IPTC short name or full URL; ``actions``
    replaces the default list entirely. ``cert_chain_pem`` is the leaf first, then
    intermediates (the root may be omitted); ``alg`` is one of es256, es384,
    es512, ps256, ps384, ps512, ed25519 and must match the key. ``ta_url`` is an
    RFC 3161 time-stamp authority (network); without one the manifest has no
    trusted signing time.
    """
    import c2pa

    src_path, dst_path = Path(src), Path(dst)
    if src_path.resolve() == dst_path.resolve():
        raise ValueError("src and dst must differ")
    mime = mime_type or _mime_from_suffix(src_path.suffix)
    if mime is None:
        raise ValueError(f"cannot tell the media type of {src_path.name}; pass mime_type")
    if actions is None:
        action: dict[str, Any] = {"action": "c2pa.created"}
        if digital_source_type:
            action["digitalSourceType"] = _source_type_url(digital_source_type)
        actions = [action]
    manifest = {
        "claim_generator_info": [{"name": claim_generator[0], "version": claim_generator[1]}],
        "title": title or src_path.name,
        "format": mime,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [dict(a) for a in actions]}}],
    }
    chain = cert_chain_pem.encode() if isinstance(cert_chain_pem, str) else cert_chain_pem
    key = key_pem.encode() if isinstance(key_pem, str) else key_pem
    info = c2pa.C2paSignerInfo(alg.lower(), chain, key, ta_url)
    tmp = dst_path.with_name(dst_path.name + ".partial")
    try:
        with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder, \
                open(src_path, "rb") as source, open(tmp, "w+b") as dest:
            manifest_bytes = builder.sign(signer, mime, source, dest)
        os.replace(tmp, dst_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return manifest_bytes


__all__ = [
    "AI_SOURCE_TYPES",
    "STATES",
    "C2paAction",
    "C2paIngredient",
    "C2paResult",
    "check_c2pa",
    "sign_with_c2pa",
]
