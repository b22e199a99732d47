# Part of mobile_webrtc. License LGPL-3.
import datetime

from odoo import api, fields, models

RETENTION_PARAM = "mobile_webrtc.event_key_retention_days"
DEFAULT_RETENTION_DAYS = 90


class WebRTCGatewayEventKey(models.Model):
    """One row per gateway event already applied: what makes redelivery harmless."""

    _name = "webrtc.gateway.event.key"
    _description = "Applied WebRTC Gateway Event"
    _rec_name = "key"
    _order = "id desc"

    key = fields.Char(required=True, readonly=True, index=True)
    call_id = fields.Char("Gateway Call ID", readonly=True)
    seq = fields.Integer(readonly=True)
    kind = fields.Char(readonly=True)
    session_id = fields.Many2one("webrtc.session", readonly=True, ondelete="set null", index=True)

    _sql_constraints = [
        ("key_unique", "unique(key)", "This gateway event was already applied."),
    ]

    @api.model
    def _claim(self, event):
        """Insert the event's key; return its row id, or ``None`` if already present.

        ``ON CONFLICT DO NOTHING`` makes a concurrent delivery of the same key
        wait for the other transaction and then see the key as applied,
        instead of failing on the unique constraint.
        """
        self.env.cr.execute(
            """
            INSERT INTO webrtc_gateway_event_key
                   (key, call_id, seq, kind, create_uid, write_uid, create_date, write_date)
            VALUES (%s, %s, %s, %s, %s, %s, now() at time zone 'UTC', now() at time zone 'UTC')
            ON CONFLICT (key) DO NOTHING
            RETURNING id
            """,
            (event["key"], event["call_id"], event["seq"], event["kind"], self.env.uid, self.env.uid),
        )
        row = self.env.cr.fetchone()
        return row[0] if row else None

    @api.autovacuum
    def _gc_old_keys(self):
        """Forget keys older than the retention (default 90 days)."""
        days = self.env["ir.config_parameter"].sudo().get_param(RETENTION_PARAM)
        try:
            days = int(days) if days else DEFAULT_RETENTION_DAYS
        except ValueError:
            days = DEFAULT_RETENTION_DAYS
        limit = fields.Datetime.now() - datetime.timedelta(days=max(days, 1))
        self.sudo().search([("create_date", "<", limit)]).unlink()
