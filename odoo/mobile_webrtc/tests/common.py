# Part of mobile_webrtc. License LGPL-3.
from odoo import Command
from odoo.tests.common import TransactionCase, new_test_user

SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
GATEWAY_URL = "wss://gateway.test/ws"


class WebRTCCase(TransactionCase):
    """Users (alice, bob: internal; manager; gateway; portal), a group channel
    with alice and bob, and a channel alice can read but is not a member of."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("mobile_webrtc.token_secret", SECRET)
        params.set_param("mobile_webrtc.gateway_url", GATEWAY_URL)
        cls.alice = new_test_user(cls.env, login="webrtc_alice", groups="base.group_user")
        cls.bob = new_test_user(cls.env, login="webrtc_bob", groups="base.group_user")
        cls.manager = new_test_user(
            cls.env, login="webrtc_manager", groups="base.group_user,mobile_webrtc.group_webrtc_manager"
        )
        cls.gateway = new_test_user(
            cls.env, login="webrtc_gateway", groups="base.group_user,mobile_webrtc.group_webrtc_gateway"
        )
        cls.portal = new_test_user(cls.env, login="webrtc_portal", groups="base.group_portal")
        cls.alice.sudo().write({
            "webrtc_extension": "1001",
            "webrtc_sip_username": "alice-sip",
            "webrtc_sip_password": "alice-sip-password",
        })
        cls.channel = cls.env["discuss.channel"].create({
            "name": "WebRTC test group",
            "channel_type": "group",
            "channel_member_ids": [
                Command.create({"partner_id": cls.alice.partner_id.id}),
                Command.create({"partner_id": cls.bob.partner_id.id}),
            ],
        })
        cls.other_channel = cls.env["discuss.channel"].create({
            "name": "WebRTC test public channel",
            "channel_type": "channel",
            "channel_member_ids": [Command.create({"partner_id": cls.bob.partner_id.id})],
        })
        cls.Session = cls.env["webrtc.session"]

    def report(self, events, user=None):
        """Call gateway_report as the gateway user (or ``user``)."""
        return self.Session.with_user(user or self.gateway).gateway_report(events)


def event(call_id, seq, kind, at, **fields):
    """A well-formed gateway event (docs/odoo.md) with its canonical key."""
    result = {"key": "%s:%d" % (call_id, seq), "call_id": call_id, "seq": seq, "kind": kind, "at": at}
    result.update(fields)
    return result
