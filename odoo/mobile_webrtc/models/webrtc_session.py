# Part of mobile_webrtc. License LGPL-3.
import json
import logging

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..lib.call_id import format_call_id
from ..lib.gateway_event import STATE_RANK, STATES, STATS_LEG_METRICS, event_key, validate_event

_logger = logging.getLogger(__name__)

GATEWAY_GROUP = "mobile_webrtc.group_webrtc_gateway"
#: Largest batch ``gateway_report`` accepts in one call.
MAX_BATCH = 1000
#: Timestamp field of each lifecycle state.
STATE_TIME_FIELDS = {
    "initiating": "start_time",
    "ringing": "ringing_time",
    "connecting": "connecting_time",
    "connected": "connected_time",
    "ended": "end_time",
}
#: Event field -> session field for the plain values an event may carry.
EVENT_VALUE_FIELDS = {
    "direction": "direction",
    "remote": "remote_number",
    "call_type": "call_type",
    "sip_call_id": "sip_call_id",
    "sip_code": "sip_code",
    "reason": "hangup_reason",
    "uniqueid": "asterisk_uniqueid",
    "linkedid": "asterisk_linkedid",
    "video_codec": "video_codec",
}
#: (leg, metric) -> session field, for exactly the metrics each leg keeps
#: (a video leg has no ``video_webrtc_mos`` field to write).
STATS_FIELDS = {
    (leg, metric): "%s_%s" % (leg, metric)
    for leg, metrics in STATS_LEG_METRICS.items()
    for metric in metrics
}


class WebRTCSession(models.Model):
    _name = "webrtc.session"
    _description = "WebRTC Call Session"
    _order = "start_time desc, id desc"

    # --- the seed's fields -------------------------------------------------
    name = fields.Char("Session Name", required=True)
    channel_id = fields.Many2one("discuss.channel", "Channel", index=True, ondelete="set null")
    caller_id = fields.Many2one("res.users", "Caller", index=True, ondelete="set null")
    call_type = fields.Selection(
        [("audio", "Audio Call"), ("video", "Video Call")], "Call Type", required=True, default="audio"
    )
    status = fields.Selection(
        [(state, state.title()) for state in STATES], "Status", required=True, default="initiating", index=True
    )
    start_time = fields.Datetime("Start Time", default=fields.Datetime.now)
    end_time = fields.Datetime("End Time")
    duration = fields.Float(
        "Duration (s)", compute="_compute_duration", store=True,
        help="Billable seconds, from connect to end (the gateway's figure when it reports one).",
    )
    offer_sdp = fields.Text("Offer SDP")
    answer_sdp = fields.Text("Answer SDP")
    ice_candidates = fields.Text("ICE Candidates")

    # --- who and what ------------------------------------------------------
    call_id = fields.Char("Call ID", compute="_compute_call_id")
    direction = fields.Selection([("inbound", "Inbound"), ("outbound", "Outbound")], "Direction")
    user_id = fields.Many2one(
        "res.users", "User", index=True, ondelete="set null",
        help="The Odoo user on the WebRTC side of the call (owner of the record).",
    )
    gateway_user = fields.Char("Gateway User", help="User as reported by the gateway when no Odoo user matched.")
    remote_number = fields.Char("Remote Number")

    # --- lifecycle timestamps ------------------------------------------------
    ringing_time = fields.Datetime("Ringing Time")
    connecting_time = fields.Datetime("Connecting Time")
    connected_time = fields.Datetime("Connected Time")
    total_duration = fields.Float("Total Duration (s)", compute="_compute_duration", store=True)
    reported_duration = fields.Float("Reported Duration (s)")
    duration_reported = fields.Boolean("Duration Reported")
    sip_code = fields.Integer("SIP Code")
    hangup_reason = fields.Char("Hangup Reason")

    # --- quality (per leg) ---------------------------------------------------
    webrtc_mos = fields.Float("WebRTC MOS", digits=(3, 2))
    webrtc_loss = fields.Float("WebRTC Loss", digits=(6, 4), help="Fraction of packets lost (0-1).")
    webrtc_jitter_ms = fields.Float("WebRTC Jitter (ms)", digits=(10, 1))
    webrtc_rtt_ms = fields.Float("WebRTC RTT (ms)", digits=(10, 1))
    sip_mos = fields.Float("SIP MOS", digits=(3, 2))
    sip_loss = fields.Float("SIP Loss", digits=(6, 4), help="Fraction of packets lost (0-1).")
    sip_jitter_ms = fields.Float("SIP Jitter (ms)", digits=(10, 1))
    sip_rtt_ms = fields.Float("SIP RTT (ms)", digits=(10, 1))
    video_codec = fields.Char("Video Codec", help="Video codec relayed (VP8, H264); empty for a call without video.")
    video_webrtc_loss = fields.Float(
        "WebRTC Video Loss", digits=(6, 4), help="Fraction of video packets from the browser lost (0-1)."
    )
    video_webrtc_jitter_ms = fields.Float("WebRTC Video Jitter (ms)", digits=(10, 1))
    video_sip_loss = fields.Float(
        "SIP Video Loss", digits=(6, 4), help="Fraction of video packets from the SIP side lost (0-1)."
    )
    video_sip_jitter_ms = fields.Float("SIP Video Jitter (ms)", digits=(10, 1))
    mos = fields.Float("MOS", digits=(3, 2), compute="_compute_mos", store=True,
                       help="Worst MOS of the two audio legs (0 when unknown).")
    stats = fields.Json("Quality Stats")
    stats_text = fields.Text("Quality Stats (JSON)", compute="_compute_stats_text")

    # --- ids joining the gateway, SIP and Asterisk ---------------------------
    gateway_call_id = fields.Char("Gateway Call ID", index=True, copy=False, readonly=True)
    sip_call_id = fields.Char("SIP Call-ID", index=True, copy=False)
    asterisk_uniqueid = fields.Char("Asterisk Uniqueid", index=True, copy=False)
    asterisk_linkedid = fields.Char("Asterisk Linkedid", index=True, copy=False)
    last_event_key = fields.Char("Last Event Key", readonly=True, copy=False)
    last_event_seq = fields.Integer("Last Event Seq", readonly=True, copy=False, default=-1)

    _sql_constraints = [
        ("gateway_call_id_unique", "unique(gateway_call_id)", "A gateway call id belongs to one session."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not vals.get("name"):
                vals["name"] = _("%(type)s call %(remote)s",
                                 type=(vals.get("call_type") or "audio").title(),
                                 remote=vals.get("remote_number") or vals.get("gateway_call_id") or "")
        return super().create(vals_list)

    @api.depends("start_time", "connected_time", "end_time", "reported_duration", "duration_reported")
    def _compute_duration(self):
        for session in self:
            if session.start_time and session.end_time:
                session.total_duration = max((session.end_time - session.start_time).total_seconds(), 0.0)
            else:
                session.total_duration = 0.0
            if session.duration_reported:
                session.duration = session.reported_duration
            elif session.connected_time and session.end_time:
                session.duration = max((session.end_time - session.connected_time).total_seconds(), 0.0)
            else:
                session.duration = 0.0

    @api.depends("webrtc_mos", "sip_mos")
    def _compute_mos(self):
        for session in self:
            known = [m for m in (session.webrtc_mos, session.sip_mos) if m]
            session.mos = min(known) if known else 0.0

    def _compute_call_id(self):
        for session in self:
            session.call_id = format_call_id(session.id) if session.id else False

    @api.depends("stats")
    def _compute_stats_text(self):
        for session in self:
            session.stats_text = json.dumps(session.stats, indent=2, sort_keys=True) if session.stats else False

    # ------------------------------------------------------------------
    # Seed API (called after the caller's membership was checked)
    # ------------------------------------------------------------------
    def _webrtc_notify_members(self, notification_type, payload, exclude_partner=None):
        """Send a bus notification to every member (partner or guest) of the channel."""
        self.ensure_one()
        bus = self.env["bus.bus"]
        for member in self.channel_id.sudo().channel_member_ids:
            target = member.partner_id or member.guest_id
            if target and target != exclude_partner:
                bus._sendone(target, notification_type, payload)

    def end_call(self, author_partner=None):
        """End the call: state ``ended``, a chatter line, a ``webrtc_call_ended`` notification."""
        for session in self.sudo():
            if session.status == "ended":
                continue
            session.write({"status": "ended", "end_time": session.end_time or fields.Datetime.now()})
            session._webrtc_announce_end(author_partner)

    def _webrtc_announce_end(self, author_partner=None):
        self.ensure_one()
        channel = self.channel_id.sudo()
        if not channel:
            return
        if channel.active_webrtc_session == self:
            channel.active_webrtc_session = False
        minutes, seconds = divmod(int(round(self.duration)), 60)
        channel.message_post(
            body=_("📞 Call ended (%(minutes)d:%(seconds)02d)", minutes=minutes, seconds=seconds),
            message_type="notification",
            author_id=(author_partner or self.env.ref("base.partner_root")).id,
        )
        self._webrtc_notify_members("webrtc_call_ended", {
            "session_id": self.id,
            "call_id": format_call_id(self.id),
            "channel_id": channel.id,
            "duration": self.duration,
            "hangup_reason": self.hangup_reason or False,
        })

    def update_signaling(self, signal_type, signal_data, from_partner):
        """Store one signaling message and relay it to the other channel members."""
        self.ensure_one()
        session = self.sudo()
        if signal_type == "offer":
            session.offer_sdp = json.dumps(signal_data)
        elif signal_type == "answer":
            session.answer_sdp = json.dumps(signal_data)
        else:
            candidates = []
            if session.ice_candidates:
                try:
                    candidates = json.loads(session.ice_candidates)
                except ValueError:
                    candidates = []
            if not isinstance(candidates, list):
                candidates = []
            candidates = (candidates + [signal_data])[-200:]
            session.ice_candidates = json.dumps(candidates)
        self._webrtc_notify_members("webrtc_signaling", {
            "session_id": self.id,
            "call_id": format_call_id(self.id),
            "signal_type": signal_type,
            "signal_data": signal_data,
            "from_user_id": self.env.user.id,
        }, exclude_partner=from_partner)

    # ------------------------------------------------------------------
    # Gateway API
    # ------------------------------------------------------------------
    @api.model
    def gateway_report(self, events):
        """Apply a batch of gateway events in order; return the applied keys.

        Only members of the gateway's technical group may call this. Each event
        is applied once: a key seen before (this batch, an earlier one, or a
        concurrent delivery) is returned as applied without touching anything.
        A malformed event is skipped (logged with its reason, absent from the
        result) and the rest of the batch is still applied.
        """
        if not self.env.user.has_group(GATEWAY_GROUP):
            raise AccessError(_("Only the WebRTC gateway may report call events."))
        if not isinstance(events, list):
            raise UserError(_("gateway_report expects a list of events."))
        if len(events) > MAX_BATCH:
            raise UserError(_("gateway_report accepts at most %s events per call.", MAX_BATCH))

        Keys = self.env["webrtc.gateway.event.key"].sudo()
        raw_keys = [k for k in map(event_key, events) if k]
        seen = set(Keys.search([("key", "in", raw_keys)]).mapped("key")) if raw_keys else set()
        applied = []
        for index, raw in enumerate(events):
            key = event_key(raw)
            if key is not None and key in seen:
                if key not in applied:
                    applied.append(key)
                continue
            event, reason = validate_event(raw)
            if event is None:
                _logger.warning("mobile_webrtc: gateway event #%d (key %r) rejected: %s", index, key, reason)
                continue
            try:
                with self.env.cr.savepoint():
                    key_id = Keys._claim(event)
                    if key_id is not None:
                        session, reason = self.sudo()._gateway_apply(event)
                        if session is None:
                            raise _RejectedEvent(reason)
                        Keys.browse(key_id).write({"session_id": session.id})
            except _RejectedEvent as exc:
                _logger.warning("mobile_webrtc: gateway event %r rejected: %s", key, exc)
                continue
            except psycopg2.Error:
                # Serialization failure, deadlock, a concurrent delivery creating
                # the same call, lost connection: fail the whole call so that
                # Odoo (then the gateway) retries it rather than drop the event.
                raise
            except Exception:
                # The savepoint rolled the event back; the batch goes on.
                _logger.exception("mobile_webrtc: gateway event %r could not be applied", key)
                continue
            seen.add(key)
            applied.append(key)
        return applied

    @api.model
    def _gateway_session_for(self, event):
        """Find or create the session of an event; ``(session, None)`` or ``(None, reason)``."""
        session = self.search([("gateway_call_id", "=", event["call_id"])], limit=1)
        if session:
            return session, None
        odoo_session_id = event.get("odoo_session_id")
        if odoo_session_id:
            session = self.browse(odoo_session_id).exists()
            if not session:
                return None, "odoo_call_id %s does not exist" % format_call_id(odoo_session_id)
            if session.gateway_call_id:
                return None, "odoo_call_id %s is linked to another gateway call" % format_call_id(odoo_session_id)
            session.gateway_call_id = event["call_id"]
            return session, None
        return self.create({
            "gateway_call_id": event["call_id"],
            "call_type": event.get("call_type") or "audio",
            "remote_number": event.get("remote") or False,
            "start_time": event["at"].replace(microsecond=0),
            "status": "initiating",
        }), None

    @api.model
    def _gateway_resolve_user(self, user):
        Users = self.env["res.users"].sudo().with_context(active_test=False)
        if isinstance(user, int):
            return Users.browse(user).exists()
        found = Users.search([("login", "=", user)], limit=1)
        if not found:
            found = Users.search(["|", ("webrtc_sip_username", "=", user), ("webrtc_extension", "=", user)], limit=1)
        return found

    @api.model
    def _gateway_apply(self, event):
        """Apply one validated event to its session; ``(session, None)`` or ``(None, reason)``.

        Ordering rules: the state only moves forward (a late ``ringing`` after
        ``connected`` does not regress it); each state's timestamp is set once;
        values from an event older than the last applied one only fill blanks.
        """
        session, reason = self._gateway_session_for(event)
        if session is None:
            return None, reason
        newer = event["seq"] >= session.last_event_seq
        kind = event["kind"]
        at = event["at"].replace(microsecond=0)  # Datetime fields hold whole seconds
        vals = {}

        def offer(field, value):
            if newer or not session[field]:
                vals[field] = value

        if kind in STATE_RANK:
            if STATE_RANK[kind] > STATE_RANK[session.status]:
                vals["status"] = kind
            time_field = STATE_TIME_FIELDS[kind]
            if kind == "initiating" or not session[time_field]:
                vals[time_field] = at
        if not session.start_time or at < session.start_time:
            vals["start_time"] = at

        for event_field, session_field in EVENT_VALUE_FIELDS.items():
            if event_field in event:
                offer(session_field, event[event_field])

        if "user" in event:
            user = self._gateway_resolve_user(event["user"])
            if user:
                offer("user_id", user.id)
            else:
                offer("gateway_user", str(event["user"]))

        if "duration" in event and (newer or not session.duration_reported):
            vals["reported_duration"] = event["duration"]
            vals["duration_reported"] = True

        if "stats" in event:
            merged = dict(session.stats or {}) if newer else {}
            for leg, metrics in event["stats"].items():
                if newer:
                    merged[leg] = dict(merged.get(leg) or {}, **metrics)
                for metric, value in metrics.items():
                    offer(STATS_FIELDS[(leg, metric)], value)
            if newer:
                vals["stats"] = merged
            elif not session.stats:
                vals["stats"] = event["stats"]

        if newer:
            vals["last_event_key"] = event["key"]
            vals["last_event_seq"] = event["seq"]

        was_ended = session.status == "ended"
        session.write(vals)
        if not was_ended and session.status == "ended":
            session._webrtc_announce_end()
        return session, None


class _RejectedEvent(Exception):
    """An event that is well-formed but cannot be applied (rolled back, skipped)."""
