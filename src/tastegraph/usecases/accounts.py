"""Accounts and sessions: sign up, sign in, sign out, change settings, delete the account.

The adapters set or clear the cookies these results name (edge.cookies, for the API and the pages);
nothing here knows about HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tastegraph.bootstrap import System
from tastegraph.catalog import accounts
from tastegraph.catalog.accounts import User as User  # a profile
from tastegraph.consent import ConsentDefaults

# The longest email, password, display name and phone number an account takes (the API's schema says the
# same; the pages check with `too_long`).
MAX_EMAIL, MAX_PASSWORD, MAX_DISPLAY_NAME, MAX_PHONE = 320, 256, 80, 40


def too_long(email: str, password: str, display_name: str | None = None) -> bool:
    return (
        len(email) > MAX_EMAIL or len(password) > MAX_PASSWORD or len(display_name or "") > MAX_DISPLAY_NAME
    )


@dataclass(frozen=True)
class SignedIn:
    """A new session: what the adapter sets as cookies."""

    user_id: int
    session_token: str
    browser_id: str  # the browser id now tied to the account (may be new: identity.IdentityService.link)
    device_cookie: str  # makes this browser a known device of the account (identity.signin_guard)


def consent_is_opt_in(system: System) -> bool:
    """Whether this deployment's consent defaults are opt-in (TASTEGRAPH_CONSENT_DEFAULTS=opt_in)."""
    return system.consent.policy.defaults is ConsentDefaults.OPT_IN


def signup_defaults(system: System) -> dict[str, bool]:
    """The settings as sign-up offers them before the person ticks anything: on where consent defaults
    are opt-out, off where they are opt-in."""
    return dict(system.consent.defaults)


def sign_up(
    system: System,
    email: str,
    password: str,
    display_name: str | None = None,
    phone: str | None = None,
    choices: Mapping[str, bool] | None = None,
) -> int:
    """Create the account with its hashed identifiers and its settings: `choices` (what the person
    ticked at sign-up, by setting name) and the deployment's defaults for the rest, each logged in the
    consent ledger. The password is hashed before the transaction opens: tens of milliseconds of CPU
    must not hold the database's write lock."""
    password_hash = accounts.hash_password(password)
    with system.write() as conn:
        now = system.clock.now()
        user_id = accounts.create_user(conn, email, password, now, display_name, password_hash=password_hash)
        system.consent.initialize(conn, user_id, now, choices)
        system.identity.set_identifiers(conn, user_id, now, email=email, phone=phone)
    return user_id


def sign_in(
    system: System,
    email: str,
    password: str,
    *,
    browser_id: str | None,
    address: str,
    device_cookie: str | None,
) -> SignedIn:
    """Check the limits and the password, open a session, and tie this browser to the account.

    Raises RateLimited over a limit (before any password check) and Unauthenticated for a wrong email
    or password (which stays counted). The hash is checked outside any transaction."""
    guard = system.signin_guard
    attempt = guard.begin(accounts.normalized_or_empty(email), address, device_cookie)
    with system.read() as conn:
        stored = accounts.stored_password(conn, email)
    user_id = accounts.check_password(stored, password)
    guard.succeeded(attempt)
    with system.write() as conn:
        now = system.clock.now()
        token = system.identity.start_session(conn, user_id, now)
        tied = system.identity.link(conn, browser_id, user_id, now)
    return SignedIn(user_id, token, tied, guard.device_cookie(attempt))


def sign_out(system: System, session_token: str | None, browser_id: str | None) -> None:
    """End the session and untie the browser: what it reports from now on is nobody's until someone
    signs in on it, and then under a new browser id. The adapter deletes both cookies."""
    if session_token or browser_id:
        with system.write() as conn:
            if session_token:
                system.identity.end_session(conn, session_token)
            if browser_id:
                system.identity.unlink(conn, browser_id, system.clock.now())


def change_settings(
    system: System, user_id: int, changes: dict[str, object], source: str, browser_id: str | None
) -> dict[str, bool]:
    """Apply setting changes (logged in the consent ledger; turning one off deletes what it allowed)."""
    with system.write() as conn:
        now = system.clock.now()
        return system.consent.change(conn, user_id, changes, source, now, browser_id=browser_id)


def delete_account(system: System, user_id: int) -> dict[str, int]:
    """Erase everything about the person, in one transaction; rows removed per store. The adapter
    forgets the session and the browser id, so nothing later is tied to the deleted account."""
    with system.write() as conn:
        return system.privacy.erase(conn, user_id)


def profile(system: System, user_id: int) -> User:
    """The person's id, email, display name and creation time (NotFound once deleted)."""
    with system.read() as conn:
        return accounts.get_user(conn, user_id)
