# Part of mobile_webrtc. License LGPL-3.
import base64
import hashlib
import hmac
import json
import time

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import SECRET, WebRTCCase


def b64url_decode(segment):
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify(token, secret, now):
    """Independent stdlib HS256 check (RFC 7515 section 5.2); returns the claims or raises."""
    header_b64, claims_b64, sig_b64 = token.split(".")
    expected = hmac.new(secret.encode(), (header_b64 + "." + claims_b64).encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, b64url_decode(sig_b64)):
        raise ValueError("bad signature")
    header = json.loads(b64url_decode(header_b64))
    if header != {"alg": "HS256", "typ": "JWT"}:
        raise ValueError("bad header")
    claims = json.loads(b64url_decode(claims_b64))
    if claims["exp"] <= now:
        raise ValueError("expired")
    return claims


@tagged("post_install", "-at_install")
class TestToken(WebRTCCase):

    def test_claims_and_signature(self):
        """The token is HS256 with sub (string id), login, extension, iat and exp = iat + 300."""
        before = int(time.time())
        token = self.env["res.users"].with_user(self.alice).webrtc_gateway_token()
        after = int(time.time())
        self.assertNotIn("=", token)
        claims = verify(token, SECRET, now=after)
        self.assertEqual(claims["sub"], str(self.alice.id))
        self.assertEqual(claims["login"], "webrtc_alice")
        self.assertEqual(claims["extension"], "1001")
        self.assertTrue(before <= claims["iat"] <= after)
        self.assertEqual(claims["exp"] - claims["iat"], 300)
        self.assertEqual(set(claims), {"sub", "login", "extension", "iat", "exp"})

    def test_token_expires_after_five_minutes(self):
        """At iat + 300 s the token no longer verifies."""
        token = self.env["res.users"].with_user(self.alice).webrtc_gateway_token()
        claims = verify(token, SECRET, now=int(time.time()))
        with self.assertRaises(ValueError):
            verify(token, SECRET, now=claims["iat"] + 300)

    def test_other_secret_and_tampering_fail(self):
        """A different secret or a changed claim breaks the signature."""
        token = self.env["res.users"].with_user(self.alice).webrtc_gateway_token()
        now = int(time.time())
        with self.assertRaises(ValueError):
            verify(token, SECRET + "x", now)
        header_b64, claims_b64, sig_b64 = token.split(".")
        claims = json.loads(b64url_decode(claims_b64))
        claims["sub"] = str(self.bob.id)
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        with self.assertRaises(ValueError):
            verify("%s.%s.%s" % (header_b64, forged, sig_b64), SECRET, now)

    def test_token_is_for_the_current_user_only(self):
        """Calling on another user's record still gives a token for the caller."""
        token = self.bob.with_user(self.alice).webrtc_gateway_token()
        self.assertEqual(verify(token, SECRET, int(time.time()))["sub"], str(self.alice.id))
        token = self.env["res.users"].with_user(self.bob).webrtc_gateway_token()
        claims = verify(token, SECRET, int(time.time()))
        self.assertEqual(claims["sub"], str(self.bob.id))
        self.assertIsNone(claims["extension"])

    def test_portal_user_gets_no_token(self):
        """Only WebRTC users get a token."""
        with self.assertRaises(AccessError):
            self.env["res.users"].with_user(self.portal).webrtc_gateway_token()

    def test_secret_generated_when_missing(self):
        """A missing secret is generated (long enough) and then reused."""
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("mobile_webrtc.token_secret", False)
        token = self.env["res.users"].with_user(self.alice).webrtc_gateway_token()
        secret = params.get_param("mobile_webrtc.token_secret")
        self.assertGreaterEqual(len(secret), 32)
        self.assertEqual(verify(token, secret, int(time.time()))["sub"], str(self.alice.id))
        self.env["res.users"].with_user(self.alice).webrtc_gateway_token()
        self.assertEqual(params.get_param("mobile_webrtc.token_secret"), secret)
