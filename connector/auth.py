"""Who is calling: a Wix-signed JWT body, or a direct caller with the API key.

Wix sends the whole body as a compact JWT whose ``data`` claim holds
``{"request", "metadata"}``. Scripts and the demo send plain JSON with
``Authorization: Bearer <CONNECTOR_API_KEY>``. Anything else is refused before
the body is read as a request.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from .errors import BadRequest, Unauthorized

WIX_ISSUER = "wix.com"


@dataclass(frozen=True)
class Envelope:
    """An authenticated call: the endpoint's request and Wix's metadata."""

    request: dict
    metadata: dict = field(default_factory=dict)
    signed: bool = True  # False: a direct caller with the API key


@dataclass(frozen=True)
class Verifier:
    """Checks calls against the configured Wix keys and API key.

    :param public_keys: ``(key, algorithm)`` pairs: each Wix public key (a loaded
        ``cryptography`` key) with the one JWT algorithm that fits it. Several
        keys let a key be rotated, and one connector serve a Wix app and
        per-site connections, each with its own key.
    :param app_ids: the accepted ``aud`` claims (one per Wix app or connection).
    :param api_key: the key direct callers send as a Bearer token, or None.
    :param leeway: seconds of clock skew allowed for ``exp``/``nbf``/``iat``.
    """

    public_keys: tuple[tuple[object, str], ...]
    app_ids: tuple[str, ...]
    api_key: str | None
    leeway: int = 60

    @classmethod
    def from_config(cls, config) -> Verifier:
        pem = config.get("WIX_PUBLIC_KEY")
        return cls(
            public_keys=load_public_keys(pem) if pem else (),
            app_ids=split_list(config.get("WIX_APP_ID")),
            api_key=config.get("CONNECTOR_API_KEY"),
            leeway=int(config.get("CONNECTOR_JWT_LEEWAY", 60)),
        )

    def verify(self, body: bytes, authorization: str | None) -> Envelope:
        """The envelope of an authenticated call, or :class:`Unauthorized`."""
        text = body.strip()
        # A compact JWT always starts with the base64 of '{"': anything else is plain JSON.
        if text.startswith(b"eyJ"):
            return self._signed(text)
        return Envelope(self._direct(text, authorization), signed=False)

    def has_api_key(self, authorization: str | None) -> bool:
        """Whether ``authorization`` is ``Bearer <CONNECTOR_API_KEY>`` (compared in
        constant time; never true when no API key is configured)."""
        scheme, _, token = (authorization or "").partition(" ")
        return bool(self.api_key) and (
            scheme.lower() == "bearer"
            and hmac.compare_digest(token.strip().encode(), self.api_key.encode())
        )

    def _direct(self, body: bytes, authorization: str | None) -> dict:
        if not self.api_key:
            raise Unauthorized("Plain JSON calls need CONNECTOR_API_KEY, which is not configured.")
        if not self.has_api_key(authorization):
            raise Unauthorized("A valid 'Authorization: Bearer <API key>' header is required.")
        return parse_json_object(body)

    def _signed(self, token: bytes) -> Envelope:
        if not self.public_keys:
            raise Unauthorized("Signed calls need WIX_PUBLIC_KEY, which is not configured.")
        if not self.app_ids:
            raise Unauthorized("Signed calls need WIX_APP_ID, which is not configured.")
        claims = self._claims(token)
        data = claims.get("data")
        if isinstance(data, str):  # some Wix envelopes carry data as JSON text
            data = parse_json_object(data.encode(), what="token data")
        if not isinstance(data, dict) or not isinstance(data.get("request", {}), dict):
            raise BadRequest("The token's data claim must be an object with a 'request' object.")
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        return Envelope(data.get("request") or {}, metadata)

    def _claims(self, token: bytes) -> dict:
        """The verified claims: the first configured key whose algorithm the token
        names and whose signature holds. The header's ``alg`` only picks among
        our keys; it never chooses a key kind (no ``none``, no HMAC)."""
        try:
            alg = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"The request token is not valid: {exc}.") from None
        error: Exception = jwt.InvalidAlgorithmError(
            f"the algorithm {alg!r} fits none of the configured keys"
        )
        for key, algorithm in self.public_keys:
            if algorithm != alg:
                continue
            try:
                return jwt.decode(
                    token,
                    key,
                    algorithms=[algorithm],
                    audience=list(self.app_ids),
                    issuer=WIX_ISSUER,
                    leeway=self.leeway,
                    options={"require": ["iss", "aud"]},
                )
            except jwt.InvalidSignatureError as exc:
                error = exc  # maybe the next key (a rotation, another connection)
            except jwt.PyJWTError as exc:  # claims are the same whichever key signed
                raise Unauthorized(f"The request token is not valid: {exc}.") from None
            except RecursionError:
                raise BadRequest("The request is nested too deeply.") from None
        raise Unauthorized(f"The request token is not valid: {error}.")


_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----", re.DOTALL)


def load_public_keys(pem: str) -> tuple[tuple[object, str], ...]:
    """Every PEM public key in ``pem`` (one or more blocks, newlines may be
    written ``\\n``), each with the only JWT algorithm that fits it."""
    text = pem.replace("\\n", "\n").strip()
    blocks = _PEM_BLOCK.findall(text)
    if not blocks:
        raise ValueError("WIX_PUBLIC_KEY holds no PEM public key.")
    return tuple(load_public_key(block) for block in blocks)


def load_public_key(pem: str) -> tuple[object, str]:
    """Load one PEM public key and the only JWT algorithm that fits it."""
    try:
        key = load_pem_public_key(pem.strip().encode())
    except ValueError as exc:
        raise ValueError(f"WIX_PUBLIC_KEY is not a PEM public key: {exc}") from None
    if isinstance(key, rsa.RSAPublicKey):
        return key, "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key, "ES256"
    raise ValueError("WIX_PUBLIC_KEY must hold RSA or EC P-256 public keys.")


def split_list(value) -> tuple[str, ...]:
    """A setting that may hold several values: a list, or text split on commas."""
    if not value:
        return ()
    values = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return tuple(v.strip() for v in values if v.strip())


def parse_json_object(body: bytes, *, what: str = "request body") -> dict:
    """Parse JSON that must be an object; anything else is a BAD_REQUEST."""
    try:
        value = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The {what} is not valid JSON: {exc}.") from None
    except RecursionError:
        raise BadRequest(f"The {what} is nested too deeply.") from None
    if not isinstance(value, dict):
        raise BadRequest(f"The {what} must be a JSON object.")
    return value
