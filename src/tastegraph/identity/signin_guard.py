"""Sign-in that resists password guessing: failure limits per account, per client address and per
known device, counted where every server process sees them (kernel.counters).

The policy (docs/privacy.md, "Signing in"):
- an account takes `per_account` wrong passwords per window (default 10 per 15 minutes) from browsers it
  does not know; then sign-in to it from such browsers answers 429 with Retry-After until the window
  has slid on;
- a browser where the account signed in before carries a device cookie bound to that account; it is
  not held back by the account's lockout (so a guessing flood cannot lock the owner out), only by its
  own limit of `per_account` failures per window;
- a client address takes `per_address` failures per window, whatever accounts it tries.
Unknown emails are counted exactly like known ones (the key is a keyed hash of the normalized email),
so neither the answers nor the lockouts say whether an account exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from tastegraph.kernel import RateLimited
from tastegraph.kernel.counters import Limit, Limiter, Reservation

DEVICE_COOKIE = "tg_device"
WINDOW_SECONDS = 15 * 60


@dataclass
class Attempt:
    """One sign-in attempt: the keys it counts under (the account asked for, or the known device that
    asks; the client's address), and what it holds counted until it turns out right."""

    account: str
    address: str
    device: str | None
    held: list[Reservation] = field(default_factory=list)


class SignInGuard:
    def __init__(
        self, limiter: Limiter, secret: str, *, per_account: int = 10, per_address: int = 100
    ) -> None:
        self.limiter = limiter
        self._secret = hashlib.sha256(b"signin-guard:" + secret.encode()).digest()
        self.account_limit = Limit("signin-account", per_account, WINDOW_SECONDS)
        self.device_limit = Limit("signin-device", per_account, WINDOW_SECONDS)
        self.address_limit = Limit("signin-address", per_address, WINDOW_SECONDS)

    def _mac(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()[:40]

    def begin(self, normalized_email: str, address: str, device_cookie: str | None) -> Attempt:
        """Count the attempt as a failure up front, or raise RateLimited when a limit is reached.

        Counted first, so that parallel guesses cannot pass a limit together; taken back by
        `succeeded`. Over a limit, the answer comes from a read alone: a flood of refused attempts
        costs no password hash and no write."""
        account = self._mac("account:" + normalized_email)
        device = self._device_of(device_cookie, account)
        attempt = Attempt(account, self._mac("address:" + address), device)
        checks = [
            (self.address_limit, attempt.address),
            (self.device_limit, device) if device is not None else (self.account_limit, account),
        ]
        wait = max(self.limiter.retry_after(limit, key) for limit, key in checks)
        for limit, key in checks:
            if wait:
                break
            held = self.limiter.reserve(limit, key)
            if isinstance(held, Reservation):
                attempt.held.append(held)
            else:
                wait = held
        if wait:
            self.succeeded(attempt)  # nothing of a refused attempt stays counted
            minutes = max(1, round(wait / 60))
            raise RateLimited(
                f"too many wrong passwords; try again in about {minutes} minute{'s' if minutes > 1 else ''}",
                wait,
            )
        return attempt

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right (or the attempt was refused): it does not count as a failure."""
        for held in attempt.held:
            self.limiter.release(held)
        attempt.held.clear()

    def device_cookie(self, attempt: Attempt) -> str:
        """The cookie that makes this browser a known device of the account it just signed in to."""
        device = secrets.token_hex(12)
        return f"{device}.{self._mac(f'device:{device}:{attempt.account}')}"

    def _device_of(self, cookie: str | None, account: str) -> str | None:
        if not cookie or len(cookie) > 80 or "." not in cookie:
            return None
        device, mac = cookie.split(".", 1)
        expected = self._mac(f"device:{device}:{account}")
        return device if hmac.compare_digest(mac, expected) else None
