"""Who is calling: a Wix-signed JWT body, or a direct caller with the API key.

Wix sends the whole body as a compact JWT whose ``data`` claim holds
``{"request", "metadata"}``. Scripts and the demo send plain JSON with
``Authorization: Bearer <CONNECTOR_API_KEY>``. Anything else is refused before
the body is read as a request.
"""

from __future__ import annotations

import hmac
import json
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


@dataclass(frozen=True)
class Verifier:
    """Checks calls against the configured Wix key and API key.

    :param public_key: the Wix app's public key (a loaded ``cryptography`` key), or None.
    :param algorithms: the JWT algorithms that fit that key; nothing else is accepted.
    :param app_id: the expected ``aud`` claim.
    :param api_key: the key direct callers send as a Bearer token, or None.
    :param leeway: seconds of clock skew allowed for ``exp``/``nbf``/``iat``.
    """

    public_key: object | None
    algorithms: tuple[str, ...]
    app_id: str | None
    api_key: str | None
    leeway: int = 60

    @classmethod
    def from_config(cls, config) -> Verifier:
        pem = config.get("WIX_PUBLIC_KEY")
        key, algorithms = load_public_key(pem) if pem else (None, ())
        return cls(
            public_key=key,
            algorithms=algorithms,
            app_id=config.get("WIX_APP_ID"),
            api_key=config.get("CONNECTOR_API_KEY"),
            leeway=int(config.get("CONNECTOR_JWT_LEEWAY", 60)),
        )

    def verify(self, body: bytes, authorization: str | None) -> Envelope:
        """The envelope of an authenticated call, or :class:`Unauthorized`."""
        text = body.strip()
        # A compact JWT always starts with the base64 of '{"': anything else is plain JSON.
        if text.startswith(b"eyJ"):
            return self._signed(text)
        return Envelope(self._direct(text, authorization))

    def _direct(self, body: bytes, authorization: str | None) -> dict:
        if not self.api_key:
            raise Unauthorized("Plain JSON calls need CONNECTOR_API_KEY, which is not configured.")
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self.api_key.encode()
        ):
            raise Unauthorized("A valid 'Authorization: Bearer <API key>' header is required.")
        return parse_json_object(body)

    def _signed(self, token: bytes) -> Envelope:
        if self.public_key is None:
            raise Unauthorized("Signed calls need WIX_PUBLIC_KEY, which is not configured.")
        if not self.app_id:
            raise Unauthorized("Signed calls need WIX_APP_ID, which is not configured.")
        try:
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=list(self.algorithms),
                audience=self.app_id,
                issuer=WIX_ISSUER,
                leeway=self.leeway,
                options={"require": ["iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"The request token is not valid: {exc}.") from None
        except RecursionError:
            raise BadRequest("The request is nested too deeply.") from None
        data = claims.get("data")
        if isinstance(data, str):  # some Wix envelopes carry data as JSON text
            data = parse_json_object(data.encode(), what="token data")
        if not isinstance(data, dict) or not isinstance(data.get("request", {}), dict):
            raise BadRequest("The token's data claim must be an object with a 'request' object.")
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        return Envelope(data.get("request") or {}, metadata)


def load_public_key(pem: str):
    """Load a PEM public key and the only JWT algorithm that fits it."""
    try:
        key = load_pem_public_key(pem.replace("\\n", "\n").strip().encode())
    except ValueError as exc:
        raise ValueError(f"WIX_PUBLIC_KEY is not a PEM public key: {exc}") from None
    if isinstance(key, rsa.RSAPublicKey):
        return key, ("RS256",)
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key, ("ES256",)
    raise ValueError("WIX_PUBLIC_KEY must be an RSA or an EC P-256 public key.")


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
