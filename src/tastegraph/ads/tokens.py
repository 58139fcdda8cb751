"""The token a served Promoted Pin carries: which ad, at what auction price, for which request, person
or browser, and when — signed by the server (HMAC-SHA256), valid for an hour.

Impressions and clicks are reported with it; its id is the reservation id of the price it holds
(ads.spend), so each token is charged at most once. The person is named by user id, a signed-out
browser only by a hash of its cookie id (a token can end up in a URL and so in logs).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TOKEN_LIFETIME = timedelta(hours=1)
MAX_TOKEN_LENGTH = 600


class TokenRefused(Exception):
    """A token that is not ours (`forged`), malformed, or too old (`expired`)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why  # forged | expired


def subject_key(user_id: int | None, browser_id: str | None) -> str | None:
    """Whom a token is for: "u:ID" for a signed-in person, "b:HASH" for a signed-out browser."""
    if user_id is not None:
        return f"u:{user_id}"
    if browser_id:
        return "b:" + hashlib.sha256(browser_id.encode()).hexdigest()[:32]
    return None


@dataclass(frozen=True)
class AdToken:
    id: str  # random; the reservation's id too
    ad_id: int
    ad_group_id: int
    ad_account_id: int
    pin_id: int
    price_micro: int  # what one billable event of it costs (per impression, or per click)
    billable_event: str  # impression | click
    subject: str | None  # subject_key of whom it was served to
    placement: str
    position: int
    issued_at: datetime
    expires_at: datetime

    @property
    def user_id(self) -> int | None:
        return int(self.subject[2:]) if self.subject and self.subject.startswith("u:") else None


def new_token_id() -> str:
    return secrets.token_urlsafe(12)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret_key: str) -> None:
        # A key of its own, derived from the deployment's secret: a token can never pass as a cookie.
        self._key = hashlib.sha256(b"tastegraph ad token\x00" + secret_key.encode()).digest()

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def sign(self, t: AdToken) -> str:
        body = {
            "v": 1,
            "id": t.id,
            "ad": t.ad_id,
            "g": t.ad_group_id,
            "a": t.ad_account_id,
            "p": t.pin_id,
            "pr": t.price_micro,
            "b": t.billable_event,
            "s": t.subject,
            "pl": t.placement,
            "pos": t.position,
            "t": int(t.issued_at.timestamp()),
            "x": int(t.expires_at.timestamp()),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: datetime, *, check_expiry: bool = True) -> AdToken:
        """The token's contents, or TokenRefused("forged" | "expired"). `check_expiry=False` only for
        sending a person on to an expired ad's destination (nothing is counted then)."""
        if (
            not isinstance(token, str)
            or len(token) > MAX_TOKEN_LENGTH
            or token.count(".") != 1
            or not token.isascii()  # a signed token is base64url text; anything else is not ours
        ):
            raise TokenRefused("forged")
        payload, mac = token.split(".")
        if not hmac.compare_digest(mac.encode("ascii"), self._mac(payload).encode()):
            raise TokenRefused("forged")
        try:
            body = json.loads(_unb64(payload))
            parsed = AdToken(
                id=str(body["id"]),
                ad_id=int(body["ad"]),
                ad_group_id=int(body["g"]),
                ad_account_id=int(body["a"]),
                pin_id=int(body["p"]),
                price_micro=int(body["pr"]),
                billable_event=str(body["b"]),
                subject=None if body["s"] is None else str(body["s"]),
                placement=str(body["pl"]),
                position=int(body["pos"]),
                issued_at=datetime.fromtimestamp(int(body["t"]), UTC),
                expires_at=datetime.fromtimestamp(int(body["x"]), UTC),
            )
        except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise TokenRefused("forged") from None  # signed by us yet unreadable: never expected
        if check_expiry and now >= parsed.expires_at:
            raise TokenRefused("expired")
        return parsed
