# Part of mobile_webrtc. License LGPL-3.
import secrets

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .res_users import GATEWAY_URL_PARAM, MIN_SECRET_LEN, TOKEN_SECRET_PARAM


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    webrtc_gateway_url = fields.Char(
        "WebRTC Gateway URL", config_parameter=GATEWAY_URL_PARAM,
        help="Signaling WebSocket of the gateway, e.g. wss://gateway.example.com/ws",
    )
    webrtc_token_secret = fields.Char(
        "WebRTC Token Secret", config_parameter=TOKEN_SECRET_PARAM,
        help="HS256 secret shared with the gateway ([auth] token_secret). At least 32 bytes.",
    )

    @api.constrains("webrtc_gateway_url", "webrtc_token_secret")
    def _check_webrtc_settings(self):
        for settings in self:
            url = settings.webrtc_gateway_url
            if url and not url.startswith(("wss://", "ws://")):
                raise ValidationError(_("The WebRTC gateway URL must start with wss:// (or ws:// for local tests)."))
            secret = settings.webrtc_token_secret
            if secret and len(secret.encode("utf-8")) < MIN_SECRET_LEN:
                raise ValidationError(_("The WebRTC token secret must be at least %s bytes.", MIN_SECRET_LEN))

    def action_webrtc_regenerate_secret(self):
        """Replace the token secret; tokens already issued stop verifying."""
        self.ensure_one()
        self.env["ir.config_parameter"].sudo().set_param(TOKEN_SECRET_PARAM, secrets.token_urlsafe(48))
        return {"type": "ir.actions.client", "tag": "reload"}
