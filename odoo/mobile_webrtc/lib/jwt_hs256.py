# Part of mobile_webrtc. License LGPL-3.
"""Minimal HS256 JSON Web Tokens (RFC 7519 / RFC 7515) with the standard library.

Only what the gateway needs: a compact JWS with header
``{"alg": "HS256", "typ": "JWT"}`` signed with HMAC-SHA256 (RFC 7518 section 3.2).
"""
import base64
import hashlib
import hmac
import json

HEADER = {"alg": "HS256", "typ": "JWT"}


class TokenError(ValueError):
    """A token that is malformed, badly signed or expired."""


def b64url_encode(data):
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Inverse of :func:`b64url_encode`; raises :class:`TokenError` on bad input."""
    if not isinstance(text, str) or not text or any(
        c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text
    ):
        raise TokenError("invalid base64url segment")
    if len(text) % 4 == 1:
        raise TokenError("invalid base64url length")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret):
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes) or not secret:
        raise TokenError("empty secret")
    return secret


def _dump(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode("utf-8")


def encode(claims, secret):
    """Return the compact HS256 JWT of ``claims`` (a dict) signed with ``secret``."""
    signing_input = b64url_encode(_dump(HEADER)) + "." + b64url_encode(_dump(claims))
    sig = hmac.new(_key(secret), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url_encode(sig)


def decode(token, secret, now):
    """Verify ``token`` with ``secret`` at unix time ``now`` and return its claims.

    Raises :class:`TokenError` when the token is malformed, not HS256, badly
    signed, or when ``exp`` is missing or not after ``now``.
    """
    if not isinstance(token, str):
        raise TokenError("token is not a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("token must have three segments")
    try:
        header = json.loads(b64url_decode(parts[0]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("invalid header") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenError("unsupported algorithm")
    expected = hmac.new(_key(secret), (parts[0] + "." + parts[1]).encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, b64url_decode(parts[2])):
        raise TokenError("bad signature")
    try:
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("invalid claims") from exc
    if not isinstance(claims, dict):
        raise TokenError("claims are not an object")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int):
        raise TokenError("missing exp")
    if exp <= now:
        raise TokenError("expired")
    return claims
