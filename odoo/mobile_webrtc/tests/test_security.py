# Part of mobile_webrtc. License LGPL-3.
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import WebRTCCase, event


@tagged("post_install", "-at_install")
class TestSecurity(WebRTCCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice_call = cls.env["webrtc.session"].create({
            "name": "alice's call", "user_id": cls.alice.id, "remote_number": "600",
        })
        cls.bob_call = cls.env["webrtc.session"].create({
            "name": "bob's call", "user_id": cls.bob.id, "remote_number": "601",
        })
        cls.calls = cls.alice_call | cls.bob_call

    def test_user_sees_only_own_sessions(self):
        """Record rule: a user reads the calls where they are the user or the caller."""
        visible = self.Session.with_user(self.alice).search([("id", "in", self.calls.ids)])
        self.assertEqual(visible, self.alice_call)
        with self.assertRaises(AccessError):
            self.bob_call.with_user(self.alice).read(["name"])

    def test_user_cannot_write_sessions(self):
        """Users only read call records; the gateway and managers write them."""
        with self.assertRaises(AccessError):
            self.alice_call.with_user(self.alice).write({"status": "ended"})
        with self.assertRaises(AccessError):
            self.Session.with_user(self.alice).create({"name": "forged", "user_id": self.alice.id})

    def test_manager_sees_all_sessions(self):
        """Record rule: managers read every call."""
        visible = self.Session.with_user(self.manager).search([("id", "in", self.calls.ids)])
        self.assertEqual(visible, self.calls)

    def test_portal_user_has_no_access(self):
        """A portal user is not a WebRTC user and reads no call."""
        with self.assertRaises(AccessError):
            self.Session.with_user(self.portal).search([])

    def test_gateway_report_needs_the_gateway_group(self):
        """Users, managers and administrators are refused gateway_report."""
        batch = [event("sec-1", 0, "initiating", "2026-11-21T10:00:00Z")]
        admin = self.env.ref("base.user_admin")
        for user in (self.alice, self.manager, admin, self.portal):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.report(batch, user=user)
        self.assertFalse(self.Session.search([("gateway_call_id", "=", "sec-1")]))
        self.assertEqual(self.report(batch), ["sec-1:0"])

    def test_sip_credentials_hidden_from_users(self):
        """SIP fields are readable by the gateway group and administrators only."""
        with self.assertRaises(AccessError):
            self.alice.with_user(self.alice).read(["webrtc_sip_password"])
        with self.assertRaises(AccessError):
            self.alice.with_user(self.bob).read(["webrtc_sip_username"])
        admin = self.env.ref("base.user_admin")
        self.assertEqual(self.alice.with_user(admin).webrtc_sip_password, "alice-sip-password")

    def test_gateway_fetches_credentials(self):
        """Only the gateway group may call webrtc_gateway_credentials."""
        Users = self.env["res.users"]
        with self.assertRaises(AccessError):
            Users.with_user(self.alice).webrtc_gateway_credentials("webrtc_alice")
        creds = Users.with_user(self.gateway).webrtc_gateway_credentials("webrtc_alice")
        self.assertEqual(creds["user_id"], self.alice.id)
        self.assertEqual(creds["extension"], "1001")
        self.assertEqual(creds["sip_username"], "alice-sip")
        self.assertEqual(creds["sip_password"], "alice-sip-password")
        self.assertEqual(Users.with_user(self.gateway).webrtc_gateway_credentials(self.alice.id), creds)
        # no SIP username, unknown login, bad input: False, not an error
        self.assertFalse(Users.with_user(self.gateway).webrtc_gateway_credentials("webrtc_bob"))
        for bad in ("nobody", "", None, True, -5, 2**40, ["webrtc_alice"]):
            with self.subTest(bad=bad):
                self.assertFalse(Users.with_user(self.gateway).webrtc_gateway_credentials(bad))

    def test_event_keys_and_rules_not_for_users(self):
        """Users have no access to the applied-key table nor to the AMI rules."""
        for model in ("webrtc.gateway.event.key", "webrtc.ami.rule"):
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.alice).search([])
