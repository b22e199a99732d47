# Part of mobile_webrtc. License LGPL-3.
from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..lib.ami_conditions import matches, parse_conditions
from .webrtc_session import GATEWAY_GROUP


class WebRTCAmiRule(models.Model):
    """Which Asterisk (AMI) events the gateway forwards to Odoo, and to what.

    Mirrors OdooPBX's ``asterisk_plus.event`` (name, source, model, method)
    and adds what an outbox needs: a delivery policy and header conditions.
    """

    _name = "webrtc.ami.rule"
    _description = "WebRTC AMI Event Rule"
    _order = "sequence, id"

    name = fields.Char(required=True, help="Human name of the rule.")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    event = fields.Char(required=True, help="AMI event name, exactly as Asterisk sends it (e.g. Cdr, Hangup).")
    source = fields.Selection([("AMI", "AMI")], required=True, default="AMI")
    server = fields.Char(help="Gateway/Asterisk server this rule is for; empty means every server.")
    model = fields.Char(required=True, help="Odoo model the gateway calls, e.g. webrtc.session.")
    method = fields.Char(required=True, help="Public method of that model, called as method(event).")
    policy = fields.Selection(
        [("durable", "Durable (never dropped)"), ("ttl", "Drop when stale")],
        required=True, default="durable",
    )
    ttl_seconds = fields.Integer("TTL (s)", default=60, help="Age after which a 'ttl' event is dropped.")
    conditions = fields.Text(
        help='JSON object of header -> value: an exact value, or "re:<regex>" matched against the '
             'whole header value. Example: {"Disposition": "ANSWERED", "Channel": "re:PJSIP/.*"}',
    )

    @api.constrains("event", "model", "method", "policy", "ttl_seconds", "conditions")
    def _check_rule(self):
        for rule in self:
            if not rule.event.strip() or any(c.isspace() for c in rule.event):
                raise ValidationError(_("The AMI event name must be one word."))
            if rule.model not in self.env:
                raise ValidationError(_("Model %s does not exist.", rule.model))
            method = rule.method or ""
            if (not method.isidentifier() or method.startswith("_")
                    or not callable(getattr(self.env[rule.model], method, None))):
                raise ValidationError(_("%(model)s has no public method %(method)s.",
                                        model=rule.model, method=method))
            if rule.policy == "ttl" and rule.ttl_seconds <= 0:
                raise ValidationError(_("A 'ttl' rule needs a positive TTL."))
            _conditions, problem = parse_conditions(rule.conditions)
            if problem:
                raise ValidationError(problem)

    def _matches(self, headers):
        """True when this rule applies to an AMI event with these headers."""
        self.ensure_one()
        if headers.get("Event") != self.event:
            return False
        conditions, _problem = parse_conditions(self.conditions)
        return conditions is not None and matches(conditions, headers)

    @api.model
    def gateway_rules(self, server=None):
        """The active rules for the gateway (gateway group only), as plain dicts.

        With ``server``, rules bound to another server are left out.
        """
        if not self.env.user.has_group(GATEWAY_GROUP):
            raise AccessError(_("Only the WebRTC gateway may load AMI rules."))
        domain = [("active", "=", True)]
        if server:
            domain += ["|", ("server", "=", False), ("server", "=", server)]
        result = []
        for rule in self.sudo().search(domain):
            conditions, _problem = parse_conditions(rule.conditions)
            result.append({
                "id": rule.id,
                "name": rule.name,
                "event": rule.event,
                "source": rule.source,
                "server": rule.server or False,
                "model": rule.model,
                "method": rule.method,
                "policy": rule.policy,
                "ttl_seconds": rule.ttl_seconds if rule.policy == "ttl" else False,
                "conditions": conditions or {},
            })
        return result
