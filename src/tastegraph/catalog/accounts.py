"""People's accounts: sign-up with a hashed password, and sign-in checks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TypedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from tastegraph.catalog.tables import users
from tastegraph.kernel import Conflict, InvalidInput, NotFound, Unauthenticated

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256

# argon2id with the library's defaults (RFC 9106 low-memory profile). A fixed dummy hash keeps
# sign-in timing the same whether or not the email exists.
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def normalize_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > 320 or not _EMAIL.match(value):
        raise InvalidInput("enter an email address like name@example.com", field="email")
    return value


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must have at least {MIN_PASSWORD} characters", field="password")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"the password must have at most {MAX_PASSWORD} characters", field="password")
    return _hasher.hash(password)


def create_user(
    conn: Connection,
    email: str,
    password: str,
    now: datetime,
    display_name: str | None = None,
    *,
    password_hash: str | None = None,
    is_demo: bool = False,
) -> int:
    """Create an account; raise Conflict if the email is taken. Nothing is written on any error."""
    normalized = normalize_email(email)
    hashed = password_hash if password_hash is not None else hash_password(password)
    name = (display_name or normalized.split("@", 1)[0])[:80]
    if conn.execute(select(users.c.id).where(users.c.email == normalized)).first() is not None:
        raise Conflict("an account with this email already exists", field="email")
    try:
        with conn.begin_nested():
            result = conn.execute(
                insert(users).values(
                    email=normalized, password_hash=hashed, display_name=name, created_at=now, is_demo=is_demo
                )
            )
    except IntegrityError as exc:  # a concurrent sign-up with the same email
        raise Conflict("an account with this email already exists", field="email") from exc
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def normalized_or_empty(email: str) -> str:
    """The normalized email, or "" for one that cannot be an account's (it then matches nobody)."""
    try:
        return normalize_email(email)
    except InvalidInput:
        return ""


def stored_password(conn: Connection, email: str) -> tuple[int | None, str]:
    """(user id, password hash) for the email; (None, a dummy hash) when there is no such account, so
    that checking it costs the same."""
    row = conn.execute(
        select(users.c.id, users.c.password_hash).where(users.c.email == normalized_or_empty(email))
    ).first()
    return (None, _DUMMY_HASH) if row is None else (int(row.id), row.password_hash)


def check_password(stored: tuple[int | None, str], password: str) -> int:
    """The user id if `password` matches, else raise Unauthenticated. Touches no database: the hash
    (tens of milliseconds of CPU) must never run inside a transaction."""
    user_id, password_hash = stored
    try:
        _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        user_id = None
    if user_id is None:
        raise Unauthenticated("the email or password is not right")
    return user_id


def authenticate(conn: Connection, email: str, password: str) -> int:
    """Return the user id for a correct email and password, else raise Unauthenticated."""
    return check_password(stored_password(conn, email), password)


class User(TypedDict):
    """A person's account, as they may see it (never the password hash)."""

    id: int
    email: str
    display_name: str
    created_at: datetime


def get_user(conn: Connection, user_id: int) -> User:
    row = (
        conn.execute(
            select(users.c.id, users.c.email, users.c.display_name, users.c.created_at).where(
                users.c.id == user_id
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no user {user_id}", field="user_id")
    return {
        "id": row["id"],
        "email": row["email"],
        "display_name": row["display_name"],
        "created_at": row["created_at"],
    }
