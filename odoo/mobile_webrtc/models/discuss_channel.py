# Part of mobile_webrtc. License LGPL-3.
import json
import time

from odoo import _, fields, models
from odoo.exceptions import AccessError, UserError

from ..lib.call_id import format_call_id, parse_call_id
from .res_users import TOKEN_TTL

SIGNAL_TYPES = ("offer", "answer", "ice_candidate")
#: Largest signaling payload relayed, as serialized JSON.
MAX_SIGNAL_BYTES = 64 * 1024


class DiscussChannel(models.Model):
    _inherit = "discuss.channel"

    webrtc_sessions = fields.One2many("webrtc.session", "channel_id", "WebRTC Sessions")
    active_webrtc_session = fields.Many2one("webrtc.session", "Active WebRTC Session", ondelete="set null")

    def _webrtc_check_member(self):
        """Raise unless the current user can read this channel and is one of its members."""
        self.ensure_one()
        if not self.exists():
            raise AccessError(_("This channel does not exist."))
        self.check_access("read")
        is_member = self.env["discuss.channel.member"].sudo().search_count([
            ("channel_id", "=", self.id),
            ("partner_id", "=", self.env.user.partner_id.id),
        ], limit=1)
        if not is_member:
            raise AccessError(_("You are not a member of this channel."))

    def _webrtc_session_of(self, call_id):
        """The session of ``call_id`` in this channel, or an error code."""
        session_id = parse_call_id(call_id)
        if session_id is None:
            return None, "invalid_call_id"
        session = self.env["webrtc.session"].sudo().browse(session_id).exists()
        if not session or session.channel_id != self:
            return None, "unknown_call"
        return session, None

    def mobile_start_webrtc_call(self, call_type="video"):
        """Start a call in this channel; the caller must be a member.

        Returns ``call_id``, ``session_id``, ``caller_id``, ``caller_name``,
        ``status``, ``gateway_url`` and a 5-minute ``token`` for the gateway
        (with ``token_expires_at``, unix seconds).
        """
        self._webrtc_check_member()
        if call_type not in ("audio", "video"):
            raise UserError(_("call_type must be 'audio' or 'video'."))
        Users = self.env["res.users"]
        gateway_url = Users._webrtc_gateway_url()
        if not gateway_url:
            raise UserError(_("The WebRTC gateway URL is not configured (Settings > WebRTC Gateway)."))
        token = Users.webrtc_gateway_token()
        user = self.env.user
        session = self.env["webrtc.session"].sudo().create({
            "name": _("%(type)s Call - %(channel)s", type=call_type.title(), channel=self.name),
            "channel_id": self.id,
            "caller_id": user.id,
            "user_id": user.id,
            "direction": "outbound",
            "call_type": call_type,
            "status": "initiating",
        })
        self.sudo().active_webrtc_session = session
        call_id = format_call_id(session.id)
        self.message_post(
            body=_("📞 %(type)s call started by %(name)s", type=call_type.title(), name=user.name),
            message_type="notification",
        )
        session._webrtc_notify_members("webrtc_call_invitation", {
            "call_id": call_id,
            "session_id": session.id,
            "channel_id": self.id,
            "caller_id": user.id,
            "caller_name": user.name,
            "call_type": call_type,
            "timestamp": fields.Datetime.now().isoformat(),
        })
        return {
            "call_id": call_id,
            "session_id": session.id,
            "caller_id": user.id,
            "caller_name": user.name,
            "status": "initiating",
            "gateway_url": gateway_url,
            "token": token,
            "token_expires_at": int(time.time()) + TOKEN_TTL,
        }

    def mobile_end_webrtc_call(self, call_id):
        """End a call of this channel; the caller must be a member.

        Returns ``{"success": True}``, or ``{"success": False, "error": code}``
        with ``invalid_call_id`` (not ``call-<id>``) or ``unknown_call`` (no
        such call in this channel). Ending an ended call succeeds.
        """
        self._webrtc_check_member()
        session, error = self._webrtc_session_of(call_id)
        if error:
            return {"success": False, "error": error}
        session.end_call(author_partner=self.env.user.partner_id)
        if self.active_webrtc_session == session:
            self.sudo().active_webrtc_session = False
        return {"success": True}

    def mobile_webrtc_signal(self, call_id, signal_type, signal_data):
        """Relay a signaling message of a call of this channel to its other members.

        Errors (``{"success": False, "error": code}``): ``invalid_call_id``,
        ``unknown_call``, ``invalid_signal_type``, ``invalid_signal_data``
        (not a JSON object/string or larger than 64 KiB), ``call_ended``.
        """
        self._webrtc_check_member()
        session, error = self._webrtc_session_of(call_id)
        if error:
            return {"success": False, "error": error}
        if signal_type not in SIGNAL_TYPES:
            return {"success": False, "error": "invalid_signal_type"}
        if not isinstance(signal_data, (dict, str)):
            return {"success": False, "error": "invalid_signal_data"}
        try:
            size = len(json.dumps(signal_data).encode("utf-8"))
        except (TypeError, ValueError):
            return {"success": False, "error": "invalid_signal_data"}
        if size > MAX_SIGNAL_BYTES:
            return {"success": False, "error": "invalid_signal_data"}
        if session.status == "ended":
            return {"success": False, "error": "call_ended"}
        session.update_signaling(signal_type, signal_data, from_partner=self.env.user.partner_id)
        return {"success": True}
