"""Sealing audit packets with Ed25519, and checking a sealed packet offline.

A sealed packet is the PDF WeasyPrint wrote (with the manifest embedded as the attachment
`manifest.json`), then one PDF comment line and a repeat of the PDF's own end (its `startxref`
offset and end-of-file marker), so PDF readers, which read a file from its end, still find the
cross-reference table:

    %PATCHPROOF-SIGNATURE v1 ed25519 key=<key id> pdf=<sha256> manifest=<sha256> sig=<base64>
    startxref
    <the offset the signed PDF ends with>
    %%EOF

`pdf` is the sha256 of every byte before that line, `manifest` the sha256 of the embedded
manifest, and `sig` the Ed25519 signature of ``b"patchproof-packet-v1\\n<pdf>\\n<manifest>\\n"``.
PDF readers ignore comment lines, so the packet opens as usual; changing any byte of the PDF
or of the manifest, or appending anything, makes `packet_verify` fail and say why. The key id
is the first 16 hex digits of the sha256 of the raw public key.

The private key is PEM (PKCS#8) in `settings.PACKET_SIGNING_KEY_FILE`; at the default path
under var/ it is generated on first use (mode 0600). The public key is served at
/.well-known/patchproof-signing-key.pem and printed on each packet's verification page.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MANIFEST_NAME = "manifest.json"
_MARKER = b"%PATCHPROOF-SIGNATURE v1 "
_LINE = re.compile(
    rb"%PATCHPROOF-SIGNATURE v1 ed25519 key=(?P<key>[0-9a-f]{16}) pdf=(?P<pdf>[0-9a-f]{64}) "
    rb"manifest=(?P<manifest>[0-9a-f]{64}) sig=(?P<sig>[A-Za-z0-9+/=]{1,200})\n"
    rb"startxref\n(?P<xref>\d{1,20})\n%%EOF\n\Z"
)
_STARTXREF = re.compile(rb"startxref\s+(\d{1,20})\s+%%EOF\s*\Z")


def _startxref(pdf: bytes) -> bytes:
    """The cross-reference offset a PDF ends with (b"" if it does not end like a PDF)."""
    match = _STARTXREF.search(pdf[-256:])
    return match.group(1) if match else b""


def _default_key_file() -> Path:
    return Path(settings.VAR_DIR) / "packet-signing-key.pem"


def signing_key() -> Ed25519PrivateKey:
    """The packet signing key; generated at the default path when it does not exist yet."""
    path = Path(settings.PACKET_SIGNING_KEY_FILE)
    if not path.exists():
        if path != _default_key_file():
            raise ImproperlyConfigured(
                f"PACKET_SIGNING_KEY_FILE {path} does not exist (set it to an Ed25519 PEM key)"
            )
        _generate(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"PACKET_SIGNING_KEY_FILE {path} is not an Ed25519 key")
    if not public_path(path).exists():
        # A read-only key folder is fine: verifying processes derive the public key then.
        with contextlib.suppress(OSError):
            _write_public(path)
    return key


def public_path(path: Path) -> Path:
    """Where the public half of the key at `path` is kept: `<name>.pub.pem` beside it."""
    return path.with_name(f"{path.stem}.pub.pem")


def _generate(path: Path) -> None:
    """Write a new key at `path` unless one is there: written to a temporary file and linked
    into place, so two processes starting together end up with the same, complete key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        os.chmod(temporary, 0o600)
        os.link(temporary, path)  # fails if a key is already there: that one is kept
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
    _write_public(path)


def _write_public(path: Path) -> None:
    """The public key beside the private one, for processes (and people) that only verify."""
    public = public_path(path)
    if public.exists():
        return
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if isinstance(key, Ed25519PrivateKey):
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-pub-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        os.chmod(temporary, 0o644)
        os.replace(temporary, public)


def verification_keys() -> list[Ed25519PublicKey]:
    """The public keys packets may be signed with: the current key (from its `.pub.pem`, or
    derived from the private key) first, then every other `*.pub.pem` in the key's folder
    (keys retired by a rotation, kept so that older packets still verify). Never creates a
    key; ImproperlyConfigured when there is none (pass the key to `verify_packet`)."""
    path = Path(settings.PACKET_SIGNING_KEY_FILE)
    keys: list[Ed25519PublicKey] = []
    if public_path(path).exists():
        keys.append(public_key_load(public_path(path).read_bytes()))
    elif path.exists():
        keys.append(signing_key().public_key())
    else:
        raise ImproperlyConfigured(
            f"no packet signing key at {path}: pass the portal's public key (--public-key)"
        )
    if path.parent.is_dir():
        for other in sorted(path.parent.glob("*.pub.pem")):
            if other != public_path(path):
                try:
                    keys.append(public_key_load(other.read_bytes()))
                except ValueError:
                    continue
    return keys


def signing_key_ensure() -> Ed25519PrivateKey:
    """The signing key at PACKET_SIGNING_KEY_FILE, generated there first if it does not exist
    (whatever the path: `manage.py packet_signing_key --create` at deployment)."""
    path = Path(settings.PACKET_SIGNING_KEY_FILE)
    if not path.exists():
        _generate(path)
    return signing_key()


def current_public_key() -> Ed25519PublicKey:
    """The current signing key's public half; at the default path the key is created on first
    use (as the worker would when signing); ImproperlyConfigured when a configured key file is
    missing."""
    try:
        return verification_keys()[0]
    except ImproperlyConfigured:
        if Path(settings.PACKET_SIGNING_KEY_FILE) != _default_key_file():
            raise
        return signing_key().public_key()


def public_key_pem(key: Ed25519PublicKey | None = None) -> str:
    """PEM of `key`, by default the current signing key's public half."""
    key = key or current_public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the sha256 of the raw public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _message(pdf_sha256: str, manifest_sha256: str) -> bytes:
    return f"patchproof-packet-v1\n{pdf_sha256}\n{manifest_sha256}\n".encode()


@dataclass(frozen=True)
class Seal:
    data: bytes  # the sealed packet, as stored and downloaded
    pdf_sha256: str  # of the signed part
    manifest_sha256: str
    signature: str  # base64
    key_id: str


def packet_seal(pdf: bytes, manifest: bytes) -> Seal:
    """Append the signature line to a rendered packet whose embedded manifest is `manifest`."""
    body = pdf if pdf.endswith(b"\n") else pdf + b"\n"
    key = signing_key()
    pdf_sha = hashlib.sha256(body).hexdigest()
    manifest_sha = hashlib.sha256(manifest).hexdigest()
    signature = base64.b64encode(key.sign(_message(pdf_sha, manifest_sha))).decode()
    kid = key_id(key.public_key())
    xref = _startxref(body)
    if not xref:
        raise ValueError("not a complete PDF: no startxref / %%EOF at its end")
    line = (
        f"%PATCHPROOF-SIGNATURE v1 ed25519 key={kid} pdf={pdf_sha} manifest={manifest_sha} "
        f"sig={signature}\nstartxref\n{xref.decode()}\n%%EOF\n"
    )
    return Seal(body + line.encode(), pdf_sha, manifest_sha, signature, kid)


@dataclass
class Verification:
    ok: bool
    reason: str
    key_id: str = ""
    pdf_sha256: str = ""
    manifest_sha256: str = ""
    manifest: dict[str, Any] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        packet = (self.manifest or {}).get("packet", {})
        return {
            "valid": self.ok,
            "reason": self.reason,
            "key_id": self.key_id,
            "signed_sha256": self.pdf_sha256,  # of the bytes before the signature line
            "manifest_sha256": self.manifest_sha256,
            "packet": packet.get("id"),
        }


def embedded_manifest(body: bytes) -> bytes | None:
    """The bytes of the PDF's `manifest.json` attachment, or None."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        attachments = PdfReader(io.BytesIO(body)).attachments
    except (PyPdfError, ValueError, KeyError, TypeError):
        return None
    found = attachments.get(MANIFEST_NAME)
    return found[0] if found else None


def packet_verify(data: bytes, public_keys: list[Ed25519PublicKey] | None = None) -> Verification:
    """Check a sealed packet: the signed bytes, the embedded manifest and the signature.
    `public_keys` default to this portal's key; the reason says what failed and where."""
    marker = data.rfind(_MARKER)
    if marker < 0:
        return Verification(False, "no Patchproof signature line found: not a sealed packet")
    body, line = data[:marker], data[marker:]
    match = _LINE.match(line)
    if match is None:
        if b"%%EOF\n" in line and not line.endswith(b"%%EOF\n"):
            return Verification(False, "bytes were appended after the signature")
        return Verification(False, "the signature line is malformed (edited?)")
    kid, pdf_sha, manifest_sha = (match.group(n).decode() for n in ("key", "pdf", "manifest"))
    result = Verification(False, "", kid, pdf_sha, manifest_sha)
    if match.group("xref") != _startxref(body):
        result.reason = "the end of the file was changed (its startxref does not match the PDF)"
        return result
    actual = hashlib.sha256(body).hexdigest()
    if actual != pdf_sha:
        result.reason = (
            f"the PDF was changed after signing: its sha256 is {actual}, the signature covers "
            f"{pdf_sha}"
        )
        return result
    manifest = embedded_manifest(body)
    if manifest is None:
        result.reason = f"the PDF has no embedded {MANIFEST_NAME}"
        return result
    if hashlib.sha256(manifest).hexdigest() != manifest_sha:
        result.reason = "the embedded manifest does not match the signed manifest sha256"
        return result
    keys = public_keys if public_keys is not None else verification_keys()
    key = next((k for k in keys if key_id(k) == kid), None)
    if key is None:
        known = ", ".join(key_id(k) for k in keys) or "none"
        result.reason = f"signed with key {kid}, which is not a known key ({known})"
        return result
    try:
        key.verify(
            base64.b64decode(match.group("sig"), validate=True), _message(pdf_sha, manifest_sha)
        )
    except (InvalidSignature, binascii.Error, ValueError):
        result.reason = "the signature does not match the PDF and manifest digests"
        return result
    try:
        result.manifest = json.loads(manifest)
    except ValueError:
        result.reason = "the embedded manifest is not JSON"
        return result
    result.ok = True
    result.reason = "valid: signature, PDF bytes and manifest all check out"
    return result


def public_key_load(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; ValueError otherwise."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key
