# Part of mobile_webrtc. License LGPL-3.
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common import WebRTCCase


@tagged("post_install", "-at_install")
class TestAmiRule(WebRTCCase):

    def _rule(self, **values):
        vals = {"name": "CDR", "event": "Cdr", "model": "webrtc.session", "method": "gateway_report"}
        vals.update(values)
        return self.env["webrtc.ami.rule"].create(vals)

    def test_gateway_loads_active_rules(self):
        """gateway_rules returns the active rules with parsed conditions, per server."""
        self._rule(conditions='{"Disposition": "ANSWERED", "Channel": "re:PJSIP/.*"}')
        self._rule(name="Presence", event="PeerStatus", policy="ttl", ttl_seconds=60, server="pbx2")
        self._rule(name="Off", event="Hangup", active=False)
        rules = self.env["webrtc.ami.rule"].with_user(self.gateway).gateway_rules()
        by_event = {r["event"]: r for r in rules if r["name"] in ("CDR", "Presence", "Off")}
        self.assertEqual(set(by_event), {"Cdr", "PeerStatus"})
        self.assertEqual(by_event["Cdr"]["conditions"], {"Disposition": "ANSWERED", "Channel": "re:PJSIP/.*"})
        self.assertEqual(by_event["Cdr"]["policy"], "durable")
        self.assertFalse(by_event["Cdr"]["ttl_seconds"])
        self.assertEqual(by_event["PeerStatus"]["ttl_seconds"], 60)
        only_pbx1 = self.env["webrtc.ami.rule"].with_user(self.gateway).gateway_rules(server="pbx1")
        self.assertNotIn("PeerStatus", {r["event"] for r in only_pbx1})

    def test_only_gateway_loads_rules(self):
        """Users and managers cannot call gateway_rules."""
        for user in (self.alice, self.manager):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["webrtc.ami.rule"].with_user(user).gateway_rules()

    def test_invalid_rules_are_refused(self):
        """Unknown model or method, private method, bad JSON or regex, bad TTL."""
        bad = [
            {"model": "no.such.model"},
            {"method": "no_such_method"},
            {"method": "_gateway_apply"},
            {"event": "Two words"},
            {"conditions": "not json"},
            {"conditions": '["list"]'},
            {"conditions": '{"Channel": 5}'},
            {"conditions": '{"Channel": "re:("}'},
            {"conditions": '{"Channel": "re:(?=x)"}'},
            {"policy": "ttl", "ttl_seconds": 0},
        ]
        for values in bad:
            with self.subTest(values=values), self.assertRaises(ValidationError):
                self._rule(**values)

    def test_matching(self):
        """Exact values and anchored ``re:`` patterns, all conditions required."""
        rule = self._rule(conditions='{"Disposition": "ANSWERED", "Channel": "re:PJSIP/[0-9]+-.*"}')
        self.assertTrue(rule._matches({"Event": "Cdr", "Disposition": "ANSWERED", "Channel": "PJSIP/100-0001"}))
        self.assertFalse(rule._matches({"Event": "Cdr", "Disposition": "NO ANSWER", "Channel": "PJSIP/100-0001"}))
        self.assertFalse(rule._matches({"Event": "Cdr", "Disposition": "ANSWERED", "Channel": "x PJSIP/100-1"}))
        self.assertFalse(rule._matches({"Event": "Cdr", "Disposition": "ANSWERED"}))
        self.assertFalse(rule._matches({"Event": "Hangup", "Disposition": "ANSWERED", "Channel": "PJSIP/1-2"}))
