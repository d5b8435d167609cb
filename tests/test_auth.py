"""Authentication and the HTTP envelope of every ``/v3`` call, on every backend.

Wix sends the whole body as a compact JWT (RS256 with an RSA key, ES256 with an
EC P-256 key; ``iss`` "wix.com", ``aud`` the app id); direct callers send plain
JSON with ``Authorization: Bearer <CONNECTOR_API_KEY>``. Anything else is a 401
``UNAUTHORIZED`` with ``data`` {} that reads and writes nothing. Malformed
bodies, unknown collections, wrong methods/paths and oversized bodies answer in
the contract's error format.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
import sqlalchemy as sa
from conftest import API_KEY, APP_ID, TEXT_ID, create_table, sign
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from connector import create_app

QUERY_PATH = "/v3/items/query"
QUERY = {"collectionId": "people", "query": {}}
ROWS = [{"_id": "a", "name": "Ada"}, {"_id": "b", "name": "Bob"}]
ERROR_KEYS = {"errorCode", "errorMessage", "data"}


# --- helpers ----------------------------------------------------------------


@pytest.fixture
def people(engine):
    """A small collection, so that accepted requests reach a real table."""
    return create_table(
        engine,
        "people",
        sa.Column("_id", TEXT_ID, primary_key=True),
        sa.Column("name", sa.String(50)),
        rows=ROWS,
    )


def rows_of(engine, table):
    with engine.connect() as conn:
        result = conn.execute(sa.select(table.c._id, table.c.name).order_by(table.c._id))
        return [dict(row._mapping) for row in result]


@contextlib.contextmanager
def make_app(config):
    """A connector app of our own, its engine disposed afterwards."""
    application = create_app(config)
    try:
        yield application
    finally:
        application.extensions["connector.engine"].dispose()


def post_raw(app, body, *, path=QUERY_PATH, content_type="text/plain", headers=None):
    """POST ``body`` as is; returns ``(status, json or None)``."""
    response = app.test_client().post(
        path, data=body, content_type=content_type, headers=headers or {}
    )
    return response.status_code, response.get_json(silent=True)


def post_json(app, request, *, path=QUERY_PATH, key=API_KEY):
    """POST ``request`` as plain JSON, with the API key unless ``key`` is None."""
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return post_raw(
        app, json.dumps(request), path=path, content_type="application/json", headers=headers
    )


def assert_error(status, body, expected_status, code=None):
    """``body`` is an error in the contract's format with ``expected_status``."""
    assert status == expected_status, body
    assert isinstance(body, dict), body
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["errorMessage"], str) and body["errorMessage"], body
    assert isinstance(body["data"], dict), body
    if code is not None:
        assert body["errorCode"] == code, body


def assert_unauthorized(status, body):
    assert_error(status, body, 401, "UNAUTHORIZED")
    assert body["data"] == {}, body


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(request, **override):
    """The claims of a valid Wix token for ``request``; None values are dropped."""
    now = int(time.time())
    payload = {
        "iss": "wix.com",
        "aud": APP_ID,
        "iat": now,
        "exp": now + 300,
        "data": {
            "request": request,
            "metadata": {"requestId": str(uuid.uuid4()), "instanceId": "instance-1"},
        },
    }
    payload.update(override)
    return {k: v for k, v in payload.items() if v is not None}


def compact(header: dict, payload: dict, signer=None) -> str:
    """A compact JWS built by hand; ``signer(signing_input)`` gives the signature."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    signature = signer(signing_input.encode()) if signer else b""
    return f"{signing_input}.{b64url(signature)}"


def pem_of(private_key) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def other_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


# --- signed calls that are accepted -----------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/jwt"])
def test_rs256_token_is_accepted_whatever_the_content_type(app, rsa_key, people, content_type):
    status, body = post_raw(app, sign(rsa_key, QUERY), content_type=content_type)
    assert status == 200, body
    assert body["items"] == ROWS


def test_wix_client_signs_rs256(wix, people):
    assert wix.items("people") == ROWS


def test_expiry_within_the_leeway_is_accepted(app, rsa_key, people):
    now = int(time.time())
    token = sign(rsa_key, QUERY, iat=now - 300, exp=now - 30)
    status, body = post_raw(app, token)
    assert status == 200, body
    assert body["items"] == ROWS


def test_token_without_time_claims_is_accepted(app, rsa_key, people):
    token = sign(rsa_key, QUERY, iat=None, exp=None)
    status, body = post_raw(app, token)
    assert status == 200, body
    assert body["items"] == ROWS


def test_public_key_with_escaped_newlines_is_accepted(app_config, rsa_key, public_pem, people):
    escaped = public_pem.strip().replace("\n", "\\n")
    assert "\n" not in escaped
    with make_app({**app_config, "WIX_PUBLIC_KEY": escaped}) as application:
        status, body = post_raw(application, sign(rsa_key, QUERY))
    assert status == 200, body
    assert body["items"] == ROWS


@pytest.fixture
def ec_app(app_config, ec_key):
    with make_app({**app_config, "WIX_PUBLIC_KEY": pem_of(ec_key)}) as application:
        yield application


def test_es256_token_is_accepted_with_an_ec_key(ec_app, ec_key, people):
    status, body = post_raw(ec_app, sign(ec_key, QUERY, algorithm="ES256"))
    assert status == 200, body
    assert body["items"] == ROWS


def test_rs256_token_is_refused_when_the_key_is_ec(ec_app, rsa_key, people):
    assert_unauthorized(*post_raw(ec_app, sign(rsa_key, QUERY)))


def test_es256_token_with_another_ec_key_is_refused(ec_app, people):
    stranger = ec.generate_private_key(ec.SECP256R1())
    assert_unauthorized(*post_raw(ec_app, sign(stranger, QUERY, algorithm="ES256")))


# --- several keys and audiences (rotation, per-site connections) ------------


@pytest.fixture
def rotated_app(app_config, rsa_key, public_pem, other_rsa_key, ec_key):
    """Three keys (two RSA, one EC, escaped newlines in one) and two app ids."""
    pems = "\n".join([pem_of(other_rsa_key).replace("\n", "\\n"), public_pem, pem_of(ec_key)])
    config = {**app_config, "WIX_PUBLIC_KEY": pems, "WIX_APP_ID": f"{APP_ID}, site-connection-2"}
    with make_app(config) as application:
        yield application


@pytest.mark.parametrize("signer", ["rsa", "other_rsa", "ec"])
@pytest.mark.parametrize("audience", [APP_ID, "site-connection-2", [APP_ID, "x"]])
def test_any_configured_key_and_audience_is_accepted(
    rotated_app, rsa_key, other_rsa_key, ec_key, people, signer, audience
):
    key = {"rsa": rsa_key, "other_rsa": other_rsa_key, "ec": ec_key}[signer]
    token = sign(key, QUERY, algorithm="ES256" if signer == "ec" else "RS256", aud=audience)
    status, body = post_raw(rotated_app, token)
    assert status == 200, body
    assert body["items"] == ROWS


def _hs256_with_each_pem(keys):
    pem = pem_of(keys["other_rsa"])

    def signer(message):
        return hmac.new(pem.encode(), message, hashlib.sha256).digest()

    return compact({"alg": "HS256", "typ": "JWT"}, claims(QUERY), signer)


ROTATION_REFUSED = {
    "a-fourth-key": lambda k: sign(rsa.generate_private_key(65537, 2048), QUERY),
    "an-audience-not-configured": lambda k: sign(k["other_rsa"], QUERY, aud="site-3"),
    "es256-signed-by-an-rsa-key-s-owner": lambda k: sign(
        ec.generate_private_key(ec.SECP256R1()), QUERY, algorithm="ES256"
    ),
    "hs256-with-a-configured-pem": _hs256_with_each_pem,
    "alg-none": lambda k: compact({"alg": "none"}, claims(QUERY)),
    "expired-with-a-second-key": lambda k: sign(
        k["other_rsa"], QUERY, iat=_now() - 600, exp=_now() - 120
    ),
    "not-yet-valid-with-a-second-key": lambda k: sign(
        k["ec"], QUERY, algorithm="ES256", nbf=_now() + 3600
    ),
    "wrong-issuer-with-a-second-key": lambda k: sign(k["other_rsa"], QUERY, iss="wix.com.evil"),
}


@pytest.mark.parametrize("case", list(ROTATION_REFUSED))
def test_tokens_outside_the_configured_keys_are_refused(
    rotated_app, other_rsa_key, ec_key, people, case
):
    token = ROTATION_REFUSED[case]({"other_rsa": other_rsa_key, "ec": ec_key})
    assert_unauthorized(*post_raw(rotated_app, token))


@pytest.mark.parametrize(
    "pem, reason",
    [
        ("no key here", "holds no PEM public key"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "not a PEM public key"),
        ("p384", "RSA or EC P-256"),
    ],
)
def test_a_bad_public_key_setting_stops_the_app_at_start(app_config, pem, reason):
    if pem == "p384":
        pem = pem_of(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(ValueError, match=reason):
        create_app({**app_config, "WIX_PUBLIC_KEY": pem})


# --- signed calls that are refused ------------------------------------------


def _tampered(keys):
    header, _, signature = sign(keys["rsa"], QUERY).split(".")
    payload = claims({"collectionId": "people", "query": {"filter": {"_id": "a"}}})
    return f"{header}.{b64url(json.dumps(payload).encode())}.{signature}"


def _hs256_with_public_pem(keys):
    def signer(message):
        return hmac.new(keys["pem"].encode(), message, hashlib.sha256).digest()

    return compact({"alg": "HS256", "typ": "JWT"}, claims(QUERY), signer)


def _now():
    return int(time.time())


REFUSED_TOKENS = {
    "wrong-signature": lambda k: sign(k["other_rsa"], QUERY),
    "tampered-payload": _tampered,
    "alg-none": lambda k: compact({"alg": "none", "typ": "JWT"}, claims(QUERY)),
    "hs256-with-public-pem-as-secret": _hs256_with_public_pem,
    "es256-when-key-is-rsa": lambda k: sign(k["ec"], QUERY, algorithm="ES256"),
    "rs512-with-the-right-key": lambda k: sign(k["rsa"], QUERY, algorithm="RS512"),
    "ps256-with-the-right-key": lambda k: sign(k["rsa"], QUERY, algorithm="PS256"),
    "wrong-issuer": lambda k: sign(k["rsa"], QUERY, iss="evil.example"),
    "missing-issuer": lambda k: sign(k["rsa"], QUERY, iss=None),
    "wrong-audience": lambda k: sign(k["rsa"], QUERY, aud="another-app"),
    "missing-audience": lambda k: sign(k["rsa"], QUERY, aud=None),
    "expired": lambda k: sign(k["rsa"], QUERY, iat=_now() - 600, exp=_now() - 120),
    "not-yet-valid": lambda k: sign(k["rsa"], QUERY, nbf=_now() + 3600),
    "issued-in-the-future": lambda k: sign(k["rsa"], QUERY, iat=_now() + 3600, exp=_now() + 7200),
    "garbage": lambda k: "this is not a token",
    "garbage-segments": lambda k: "abc.def.ghi",
    "empty-body": lambda k: "",
}


@pytest.mark.parametrize("case", list(REFUSED_TOKENS))
def test_invalid_signed_call_is_unauthorized(
    app, rsa_key, public_pem, other_rsa_key, ec_key, people, case
):
    keys = {"rsa": rsa_key, "pem": public_pem, "other_rsa": other_rsa_key, "ec": ec_key}
    token = REFUSED_TOKENS[case](keys)
    assert_unauthorized(*post_raw(app, token))


def test_alg_none_token_is_really_unsigned():
    """Guard for the alg-none case above: the token has an empty signature."""
    token = REFUSED_TOKENS["alg-none"]({})
    header, payload, signature = token.split(".")
    assert signature == ""
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "none", "typ": "JWT"}
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == "wix.com"


# --- direct callers with the API key ----------------------------------------


def test_api_key_is_accepted(api, people):
    assert api.items("people") == ROWS


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": f"Bearer {API_KEY}x"},
        {"Authorization": f"Bearer {API_KEY[:-1]}"},
        {"Authorization": "Bearer "},
        {"Authorization": API_KEY},
        {"Authorization": f"Basic {API_KEY}"},
    ],
    ids=["missing", "wrong", "extra-chars", "prefix", "empty", "no-scheme", "basic-scheme"],
)
def test_plain_json_without_the_right_key_is_unauthorized(app, people, headers):
    status, body = post_raw(
        app, json.dumps(QUERY), content_type="application/json", headers=headers
    )
    assert_unauthorized(status, body)


def test_neither_key_configured_refuses_everything(app_config, rsa_key, people, monkeypatch):
    monkeypatch.delenv("WIX_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("CONNECTOR_API_KEY", raising=False)
    config = {
        k: v for k, v in app_config.items() if k not in ("WIX_PUBLIC_KEY", "CONNECTOR_API_KEY")
    }
    with make_app(config) as application:
        assert_unauthorized(*post_raw(application, sign(rsa_key, QUERY)))
        assert_unauthorized(*post_json(application, QUERY))
        assert_unauthorized(*post_json(application, QUERY, key=None))
        assert_unauthorized(*post_json(application, QUERY, key=""))
        assert_unauthorized(*post_raw(application, ""))
        assert_unauthorized(*post_raw(application, "", headers={"Authorization": "Bearer "}))


def test_only_the_wix_key_configured_refuses_plain_json(app_config, rsa_key, people, monkeypatch):
    monkeypatch.delenv("CONNECTOR_API_KEY", raising=False)
    config = {k: v for k, v in app_config.items() if k != "CONNECTOR_API_KEY"}
    with make_app(config) as application:
        status, body = post_raw(application, sign(rsa_key, QUERY))
        assert status == 200, body
        assert body["items"] == ROWS
        assert_unauthorized(*post_json(application, QUERY))
        assert_unauthorized(*post_json(application, QUERY, key=""))


def test_only_the_api_key_configured_refuses_tokens(app_config, rsa_key, people, monkeypatch):
    monkeypatch.delenv("WIX_PUBLIC_KEY", raising=False)
    config = {k: v for k, v in app_config.items() if k != "WIX_PUBLIC_KEY"}
    with make_app(config) as application:
        status, body = post_json(application, QUERY)
        assert status == 200, body
        assert body["items"] == ROWS
        assert_unauthorized(*post_raw(application, sign(rsa_key, QUERY)))


# --- a refused call touches nothing -----------------------------------------

WRITES = {
    "insert": {"collectionId": "people", "items": [{"_id": "c", "name": "Cy"}]},
    "update": {"collectionId": "people", "items": [{"_id": "a", "name": "Changed"}]},
    "remove": {"collectionId": "people", "itemIds": ["a"]},
    "truncate": {"collectionId": "people"},
}


@pytest.mark.parametrize("endpoint", list(WRITES))
def test_unauthorized_write_changes_nothing(app, engine, people, other_rsa_key, endpoint):
    path = f"/v3/items/{endpoint}"
    request = WRITES[endpoint]
    assert_unauthorized(*post_raw(app, sign(other_rsa_key, request), path=path))
    assert_unauthorized(*post_json(app, request, path=path, key="wrong-key"))
    assert_unauthorized(*post_json(app, request, path=path, key=None))
    assert rows_of(engine, people) == ROWS


def test_authorized_write_does_change_the_table(api, engine, people):
    """Counterpart of the test above: the same insert with the key is written."""
    status, body = api.post("/v3/items/insert", WRITES["insert"])
    assert status == 200, body
    assert rows_of(engine, people) == [*ROWS, {"_id": "c", "name": "Cy"}]


# --- malformed requests -----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ['{"collectionId": "people", "query": {', '{"collectionId": }', "{"],
    ids=["truncated", "invalid-value", "lone-brace"],
)
def test_malformed_json_with_the_key_is_bad_request(app, people, body):
    status, response = post_raw(
        app,
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert_error(status, response, 400, "BAD_REQUEST")
    assert response["data"] == {}


def test_json_array_with_the_key_is_bad_request(app, people):
    status, body = post_json(app, [QUERY])
    assert_error(status, body, 400, "BAD_REQUEST")
    assert body["data"] == {}


def test_token_whose_request_is_an_array_is_bad_request(app, rsa_key, people):
    status, body = post_raw(app, sign(rsa_key, [QUERY]))
    assert_error(status, body, 400, "BAD_REQUEST")
    assert body["data"] == {}


@pytest.mark.parametrize("path", ["/v3/items/query", "/v3/items/count"])
def test_unknown_collection_is_not_found(wix, people, path):
    status, body = wix.post(path, {"collectionId": "nope", "query": {}, "filter": {}})
    assert_error(status, body, 404, "COLLECTION_NOT_FOUND")
    assert body["data"] == {"collectionId": "nope"}


@pytest.mark.parametrize(
    ("request_", "rejected"),
    [({"query": {}}, None), ({"collectionId": 123, "query": {}}, 123)],
    ids=["missing", "not-a-string"],
)
def test_bad_collection_id_is_a_validation_error(wix, people, request_, rejected):
    status, body = wix.post(QUERY_PATH, request_)
    assert_error(status, body, 400, "VALIDATION_ERROR")
    violations = body["data"]["violations"]
    assert [(v["fieldPath"], v["rejectedValue"]) for v in violations] == [
        ("collectionId", rejected)
    ]


# --- methods, paths and sizes -----------------------------------------------


def test_get_is_method_not_allowed_in_the_error_format(app, people):
    response = app.test_client().get(QUERY_PATH, headers={"Authorization": f"Bearer {API_KEY}"})
    assert_error(response.status_code, response.get_json(silent=True), 405)
    assert "Traceback" not in response.get_data(as_text=True)


def test_unknown_path_is_not_found_in_the_error_format(app, people):
    status, body = post_json(app, QUERY, path="/v3/nope")
    assert_error(status, body, 404)


@pytest.fixture
def small_app(app_config):
    with make_app({**app_config, "CONNECTOR_MAX_BODY": 1000}) as application:
        yield application


def _padded_query(size):
    """A valid query request whose JSON is exactly ``size`` bytes.

    The padding is a ``$nin`` list of short strings none of the rows hold, so
    the query still selects every row.
    """
    words = []
    request = {"collectionId": "people", "query": {"filter": {"name": {"$nin": words}}}}
    while len(json.dumps(request)) < size - 40:
        words.append("x" * 30)
    words.append("")
    words[-1] = "y" * (size - len(json.dumps(request)))
    assert len(json.dumps(request)) == size
    return request


def test_body_under_the_limit_is_served(small_app, people):
    status, body = post_json(small_app, _padded_query(900))
    assert status == 200, body
    assert body["items"] == ROWS


@pytest.mark.parametrize("signed", [False, True], ids=["plain-json", "signed-token"])
def test_body_over_the_limit_is_413_without_a_stack_trace(small_app, rsa_key, people, signed):
    request = _padded_query(2000)
    if signed:
        body, content_type, headers = sign(rsa_key, request), "text/plain", {}
    else:
        body, content_type = json.dumps(request), "application/json"
        headers = {"Authorization": f"Bearer {API_KEY}"}
    assert len(body) > 1000
    response = small_app.test_client().post(
        QUERY_PATH, data=body, content_type=content_type, headers=headers
    )
    assert_error(response.status_code, response.get_json(silent=True), 413)
    assert "Traceback" not in response.get_data(as_text=True)


def test_deeply_nested_body_is_a_bad_request(api):
    body = '{"collectionId": "people", "query": {"filter": ' + "[" * 100000 + "]" * 100000 + "}}"
    response = api.http.post(
        "/v3/items/query",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 400
    assert response.get_json()["errorCode"] == "BAD_REQUEST"
