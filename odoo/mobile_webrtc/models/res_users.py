# Part of mobile_webrtc. License LGPL-3.
import logging
import secrets
import time

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..lib import jwt_hs256

_logger = logging.getLogger(__name__)

TOKEN_SECRET_PARAM = "mobile_webrtc.token_secret"
GATEWAY_URL_PARAM = "mobile_webrtc.gateway_url"
#: Lifetime of a gateway token, in seconds.
TOKEN_TTL = 300
#: Shortest accepted secret (bytes of its UTF-8 form): 256 bits for HMAC-SHA256.
MIN_SECRET_LEN = 32
GATEWAY_GROUP = "mobile_webrtc.group_webrtc_gateway"
USER_GROUP = "mobile_webrtc.group_webrtc_user"
# Readable only by the gateway's technical user and administrators.
CREDENTIAL_GROUPS = "mobile_webrtc.group_webrtc_gateway,base.group_system"


class ResUsers(models.Model):
    _inherit = "res.users"

    webrtc_extension = fields.Char(
        "WebRTC Extension", groups=CREDENTIAL_GROUPS, copy=False,
        help="Extension (dial plan number) of this user on Asterisk.",
    )
    webrtc_sip_username = fields.Char(
        "SIP Username", groups=CREDENTIAL_GROUPS, copy=False,
        help="Username the gateway registers/authenticates with on Asterisk for this user.",
    )
    webrtc_sip_password = fields.Char(
        "SIP Password", groups=CREDENTIAL_GROUPS, copy=False,
        help="SIP digest password; stored reversibly because the gateway must answer challenges.",
    )

    _sql_constraints = [
        ("webrtc_sip_username_unique", "unique(webrtc_sip_username)",
         "Another user already has this SIP username."),
        ("webrtc_extension_unique", "unique(webrtc_extension)",
         "Another user already has this WebRTC extension."),
    ]

    @api.model
    def _webrtc_token_secret(self):
        """Return the token secret, generating and storing one when missing."""
        params = self.env["ir.config_parameter"].sudo()
        secret = params.get_param(TOKEN_SECRET_PARAM)
        if not secret:
            secret = secrets.token_urlsafe(48)
            params.set_param(TOKEN_SECRET_PARAM, secret)
            _logger.info("mobile_webrtc: generated a new gateway token secret")
        return secret

    @api.model
    def webrtc_gateway_token(self):
        """Return a 5-minute HS256 JWT for the current user, for the gateway's ``/ws``.

        Claims: ``sub`` (user id as a string), ``login``, ``extension`` (or
        ``null``), ``iat`` and ``exp`` (unix seconds). Whatever the ids given,
        the token is always for ``self.env.user``.
        """
        user = self.env.user
        if not user.has_group(USER_GROUP):
            raise AccessError(_("You are not allowed to place WebRTC calls."))
        secret = self._webrtc_token_secret()
        if len(secret.encode("utf-8")) < MIN_SECRET_LEN:
            raise UserError(_("The WebRTC token secret is too short (at least %s bytes).", MIN_SECRET_LEN))
        now = int(time.time())
        claims = {
            "sub": str(user.id),
            "login": user.login,
            "extension": user.sudo().webrtc_extension or None,
            "iat": now,
            "exp": now + TOKEN_TTL,
        }
        return jwt_hs256.encode(claims, secret)

    @api.model
    def webrtc_gateway_credentials(self, user):
        """Return the SIP credentials of ``user`` (id or login) for the gateway.

        Only the gateway group may call this. Returns ``False`` when the user
        does not exist, is inactive, may not use WebRTC or has no SIP username.
        """
        if not self.env.user.has_group(GATEWAY_GROUP):
            raise AccessError(_("Only the WebRTC gateway may fetch SIP credentials."))
        users = self.sudo()
        if isinstance(user, int) and not isinstance(user, bool):
            target = users.browse(user).exists() if 0 < user < 2**31 else users.browse()
        elif isinstance(user, str) and user:
            target = users.search([("login", "=", user)], limit=1)
        else:
            return False
        if (not target or not target.active or not target.has_group(USER_GROUP)
                or not target.webrtc_sip_username):
            return False
        return {
            "user_id": target.id,
            "login": target.login,
            "name": target.name,
            "extension": target.webrtc_extension or False,
            "sip_username": target.webrtc_sip_username,
            "sip_password": target.webrtc_sip_password or False,
        }

    @api.model
    def _webrtc_gateway_url(self):
        """The gateway's signaling URL (``wss://.../ws``) from the settings."""
        return self.env["ir.config_parameter"].sudo().get_param(GATEWAY_URL_PARAM) or ""
