"""The signed token a served Promoted Pin carries: it round-trips, and anything else is refused cleanly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tastegraph.ads.tokens import (
    TOKEN_LIFETIME,
    AdToken,
    TokenRefused,
    TokenSigner,
    new_token_id,
    subject_key,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SIGNER = TokenSigner("test secret")


def token(**changes: object) -> AdToken:
    fields: dict[str, object] = {
        "id": new_token_id(),
        "ad_id": 7,
        "ad_group_id": 3,
        "ad_account_id": 2,
        "pin_id": 41,
        "price_micro": 1_250,
        "billable_event": "impression",
        "subject": subject_key(5, None),
        "placement": "home_feed",
        "position": 3,
        "issued_at": NOW,
        "expires_at": NOW + TOKEN_LIFETIME,
    }
    fields.update(changes)
    return AdToken(**fields)  # type: ignore[arg-type]


def test_a_signed_token_round_trips() -> None:
    t = token()
    back = SIGNER.verify(SIGNER.sign(t), NOW + timedelta(minutes=5))
    assert back == t and back.user_id == 5


def test_a_browser_subject_is_a_hash_not_the_cookie() -> None:
    key = subject_key(None, "browser-cookie-value")
    assert key is not None and key.startswith("b:") and "browser-cookie-value" not in key
    assert token(subject=key).user_id is None


def test_an_expired_token_is_refused_unless_only_following_the_link() -> None:
    signed = SIGNER.sign(token())
    with pytest.raises(TokenRefused) as refused:
        SIGNER.verify(signed, NOW + TOKEN_LIFETIME)
    assert refused.value.why == "expired"
    assert SIGNER.verify(signed, NOW + TOKEN_LIFETIME, check_expiry=False).ad_id == 7


def test_another_deployments_key_does_not_verify() -> None:
    signed = TokenSigner("another secret").sign(token())
    with pytest.raises(TokenRefused) as refused:
        SIGNER.verify(signed, NOW)
    assert refused.value.why == "forged"


def test_a_changed_price_breaks_the_signature() -> None:
    payload, mac = SIGNER.sign(token(price_micro=1)).split(".")
    other_payload = SIGNER.sign(token(price_micro=1_000_000)).split(".")[0]
    with pytest.raises(TokenRefused):
        SIGNER.verify(f"{other_payload}.{mac}", NOW)
    assert SIGNER.verify(f"{payload}.{mac}", NOW).price_micro == 1


@given(st.text(max_size=700))
def test_any_text_is_refused_as_forged_and_nothing_else_escapes(text: str) -> None:
    """Fuzzed input (non-ASCII, many dots, huge) gets TokenRefused, never an encoding error."""
    with pytest.raises(TokenRefused) as refused:
        SIGNER.verify(text, NOW)
    assert refused.value.why == "forged"


@given(st.text(max_size=200), st.text(max_size=60))
def test_a_payload_and_mac_of_any_text_is_refused(payload: str, mac: str) -> None:
    with pytest.raises(TokenRefused):
        SIGNER.verify(f"{payload.replace('.', '')}.{mac.replace('.', '')}", NOW)
