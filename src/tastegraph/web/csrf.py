"""CSRF protection for the HTML forms.

A form carries a token that is an HMAC (keyed with `settings.secret_key`) of what authenticates the
browser: the session cookie when there is one, otherwise a random `tg_csrf` cookie that the pages set for
signed-out browsers. A cross-site page can make a browser submit a form, but it can neither read the
cookie nor compute the HMAC, so it cannot supply a matching token. Tokens are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from tastegraph.kernel import CsrfFailed
from tastegraph.usecases.callers import SESSION_COOKIE

CSRF_COOKIE = "tg_csrf"
FIELD = "csrf_token"
_COOKIE_MAX_AGE = 365 * 86400


def _binding(request: Request, issued: str | None = None) -> str | None:
    """What the token is bound to: the session token when signed in, else the CSRF cookie."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return "session:" + session
    anon = issued or request.cookies.get(CSRF_COOKIE)
    return "anon:" + anon if anon else None


def _sign(secret_key: str, binding: str) -> str:
    return hmac.new(secret_key.encode(), binding.encode(), hashlib.sha256).hexdigest()


class CsrfTokens:
    """Issues and checks form tokens for one secret key."""

    def __init__(self, secret_key: str, *, secure_cookie: bool = False) -> None:
        self._key = secret_key
        self._secure = secure_cookie

    def token(self, request: Request) -> tuple[str, str | None]:
        """The token for forms on this page, and a new CSRF cookie value to set (None if none is needed)."""
        issued: str | None = None
        binding = _binding(request)
        if binding is None:
            issued = secrets.token_hex(16)
            binding = _binding(request, issued)
            assert binding is not None
        return _sign(self._key, binding), issued

    def set_cookie(self, request: Request, response: Response, value: str) -> None:
        response.set_cookie(
            CSRF_COOKIE,
            value,
            max_age=_COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=self._secure or request.url.scheme == "https",
            path="/",
        )

    def check(self, request: Request, submitted: object) -> None:
        """Raise CsrfFailed unless `submitted` is the token for this browser."""
        binding = _binding(request)
        if binding is None or not isinstance(submitted, str) or not submitted:
            raise CsrfFailed("this form has expired or did not come from Tastegraph; reload and try again")
        expected = _sign(self._key, binding)
        if not hmac.compare_digest(expected.encode(), submitted.encode()):
            raise CsrfFailed("this form has expired or did not come from Tastegraph; reload and try again")
