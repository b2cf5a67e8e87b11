"""Bearer tokens: JWTs minted by `handinhand token`, checked on every write endpoint."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shared.tokenkeys import TokenKey, TokenKeys
from shared.web.auth import (
    Caller,
    ForbiddenError,
    InvalidTokenError,
    Role,
    caller_from_header,
    mint_token,
    read_token,
)
from shared.web.revocations import Revocations

OLD = TokenKey(kid="2026-06", secret="o" * 64)  # long enough to sign HS512 too
NEW = TokenKey(kid="2026-12", secret="n" * 40)
KEYS = TokenKeys((OLD,))
NOW = datetime(2026, 12, 1, tzinfo=UTC)
COORDINATOR = Caller(sub="lan", role=Role.COORDINATOR, scope=("15835",), volunteer_id="v-1")


def read(token: str, keys: TokenKeys = KEYS, at: datetime = NOW) -> Caller:
    return read_token(keys, Revocations(), token, at)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_minted_token_is_a_standard_jwt_that_reads_back_as_the_same_caller() -> None:
    token = mint_token(KEYS, COORDINATOR, NOW, timedelta(hours=1))

    caller = read(token, at=NOW + timedelta(minutes=59))
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, OLD.secret, algorithms=["HS256"], options={"verify_exp": False})

    assert (caller.sub, caller.role, caller.scope) == ("lan", Role.COORDINATOR, ("15835",))
    assert caller.volunteer_id == "v-1"
    assert (header["alg"], header["kid"]) == ("HS256", "2026-06")
    assert claims["iss"] == "handinhand"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["nbf"] == claims["iat"] == int(NOW.timestamp())
    assert caller.jti == claims["jti"]
    assert mint_token(KEYS, COORDINATOR, NOW, timedelta(hours=1)) != token  # a jti each


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "", "e30.e30.e30"])
def test_rejects_malformed_tokens(token: str) -> None:
    with pytest.raises(InvalidTokenError):
        read(token)


def test_rejects_an_expired_token_past_the_leeway() -> None:
    token = mint_token(KEYS, COORDINATOR, NOW, timedelta(hours=1))

    read(token, at=NOW + timedelta(hours=1, seconds=10))  # clock drift between instances
    with pytest.raises(InvalidTokenError, match="expired"):
        read(token, at=NOW + timedelta(hours=1, minutes=1))


def test_rejects_a_token_not_valid_yet() -> None:
    token = mint_token(KEYS, COORDINATOR, NOW + timedelta(minutes=5), timedelta(hours=1))
    with pytest.raises(InvalidTokenError, match="not valid yet"):
        read(token)


def test_rejects_a_token_signed_with_another_key_under_the_same_kid() -> None:
    forged = TokenKeys((TokenKey(kid=OLD.kid, secret="t" * 40),))
    token = mint_token(forged, COORDINATOR, NOW, timedelta(hours=1))
    with pytest.raises(InvalidTokenError, match="signature"):
        read(token)


def test_rejects_a_token_whose_kid_the_ring_does_not_hold() -> None:
    token = mint_token(TokenKeys((NEW,)), COORDINATOR, NOW, timedelta(hours=1))
    with pytest.raises(InvalidTokenError, match="unknown key"):
        read(token)


def test_a_rotated_ring_signs_with_the_new_key_and_still_verifies_the_old() -> None:
    before = mint_token(KEYS, COORDINATOR, NOW, timedelta(hours=1))
    rotated = TokenKeys((NEW, OLD))

    after = mint_token(rotated, COORDINATOR, NOW, timedelta(hours=1))

    assert jwt.get_unverified_header(after)["kid"] == NEW.kid
    assert read(before, rotated).sub == read(after, rotated).sub == "lan"
    with pytest.raises(InvalidTokenError, match="unknown key"):
        read(after)  # an instance not yet given the new key refuses it


def test_refuses_alg_none_and_other_algorithms() -> None:
    claims = jwt.decode(
        mint_token(KEYS, COORDINATOR, NOW, timedelta(hours=1)),
        options={"verify_signature": False},
    )
    # "" is pyjwt's "no key" for alg none (its key type admits no None once cryptography is in)
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": OLD.kid})
    stronger = jwt.encode(claims, OLD.secret, algorithm="HS512", headers={"kid": OLD.kid})

    for token in (unsigned, stronger):
        with pytest.raises(InvalidTokenError, match="malformed"):
            read(token)


def test_refuses_a_token_whose_payload_was_changed_after_signing() -> None:
    header, payload, signature = mint_token(KEYS, COORDINATOR, NOW, timedelta(hours=1)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"], claims["scope"] = "admin", []
    tampered = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"

    with pytest.raises(InvalidTokenError, match="signature"):
        read(tampered)


@pytest.mark.parametrize("missing", ["exp", "jti", "nbf", "role", "iss"])
def test_refuses_a_signed_token_lacking_a_required_claim(missing: str) -> None:
    claims = jwt.decode(
        mint_token(KEYS, COORDINATOR, NOW, timedelta(hours=1)),
        options={"verify_signature": False},
    )
    del claims[missing]
    token = jwt.encode(claims, OLD.secret, algorithm="HS256", headers={"kid": OLD.kid})
    with pytest.raises(InvalidTokenError, match="malformed"):
        read(token)


def test_refuses_a_signed_token_of_another_issuer_or_an_unknown_role() -> None:
    claims = jwt.decode(
        mint_token(KEYS, COORDINATOR, NOW, timedelta(hours=1)),
        options={"verify_signature": False},
    )
    for changed in ({"iss": "elsewhere"}, {"role": "mayor"}):
        token = jwt.encode(
            claims | changed, OLD.secret, algorithm="HS256", headers={"kid": OLD.kid}
        )
        with pytest.raises(InvalidTokenError, match="malformed"):
            read(token)


def test_a_revoked_token_is_refused_and_others_still_pass() -> None:
    revocations = Revocations()
    token = mint_token(KEYS, COORDINATOR, NOW, timedelta(hours=1))
    other = mint_token(KEYS, COORDINATOR, NOW, timedelta(hours=1))
    caller = read_token(KEYS, revocations, token, NOW)

    revocations.revoke(caller.jti, until=datetime.fromtimestamp(caller.exp, UTC))

    with pytest.raises(InvalidTokenError, match="revoked"):
        read_token(KEYS, revocations, token, NOW)
    assert read_token(KEYS, revocations, other, NOW).sub == "lan"


def test_a_revocation_is_forgotten_once_its_token_has_expired() -> None:
    revocations = Revocations()
    revocations.revoke("jti-1", until=NOW + timedelta(hours=1))

    revocations.forget_expired(NOW + timedelta(minutes=30))
    assert revocations.is_revoked("jti-1")
    revocations.forget_expired(NOW + timedelta(hours=2))
    assert not revocations.is_revoked("jti-1")


def test_the_header_must_be_a_bearer_token() -> None:
    with pytest.raises(InvalidTokenError, match="needs a bearer token"):
        caller_from_header(KEYS, Revocations(), None, NOW)
    with pytest.raises(InvalidTokenError, match="Bearer"):
        caller_from_header(KEYS, Revocations(), "Basic abc", NOW)


def test_a_coordinator_touches_only_communes_in_scope() -> None:
    COORDINATOR.require_commune("15835")
    with pytest.raises(ForbiddenError, match="outside"):
        COORDINATOR.require_commune("15772")


def test_a_province_scope_covers_its_communes() -> None:
    provincial = Caller(sub="tinh", role=Role.COORDINATOR, scope=("38",))
    assert provincial.covers("15772", "38")
    assert not provincial.covers("15772", "40")


def test_roles_gate_actions_and_admins_pass_every_gate() -> None:
    volunteer = Caller(sub="v", role=Role.VOLUNTEER)
    with pytest.raises(ForbiddenError):
        volunteer.require(Role.COORDINATOR)
    Caller(sub="a", role=Role.ADMIN).require(Role.COORDINATOR)
    assert Caller(sub="a", role=Role.ADMIN).covers("99999")


def test_an_admin_of_a_province_is_held_to_it_on_every_service() -> None:
    provincial = Caller(sub="tinh", role=Role.ADMIN, scope=("38",))
    assert not provincial.everywhere
    assert provincial.covers("15835")  # Thiệu Trung, Thanh Hóa: the province found from the code
    assert not provincial.covers("00070")  # Hoàn Kiếm, Hà Nội
    with pytest.raises(ForbiddenError):
        provincial.require_commune("00070")
    assert Caller(sub="a", role=Role.ADMIN).everywhere
