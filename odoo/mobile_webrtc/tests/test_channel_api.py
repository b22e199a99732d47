# Part of mobile_webrtc. License LGPL-3.
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import GATEWAY_URL, WebRTCCase

BAD_CALL_IDS = ["call-abc", "call-", "x", "call-1; drop", None, "", "call-01", "call--1", "call-1 ",
                " call-1", "CALL-1", "call-99999999999", "call-١", 7, ["call-1"], {"id": 1}]


@tagged("post_install", "-at_install")
class TestChannelApi(WebRTCCase):

    def _bus_calls(self, mock, notification_type):
        return [c.args for c in mock.call_args_list if len(c.args) >= 2 and c.args[1] == notification_type]

    def _member_partners(self):
        """Partners of the test channel (alice, bob and whoever create() added)."""
        partners = {m.partner_id for m in self.channel.channel_member_ids if m.partner_id}
        self.assertTrue({self.alice.partner_id, self.bob.partner_id} <= partners)
        return partners

    def test_start_call(self):
        """A member starts a call: session, gateway URL, token, chatter line, invitations."""
        with patch.object(self.registry["bus.bus"], "_sendone") as sendone:
            result = self.channel.with_user(self.alice).mobile_start_webrtc_call("video")
        session = self.Session.browse(result["session_id"])
        self.assertEqual(result["call_id"], "call-%d" % session.id)
        self.assertEqual(result["status"], "initiating")
        self.assertEqual(result["gateway_url"], GATEWAY_URL)
        self.assertEqual(result["token"].count("."), 2)
        self.assertEqual(session.caller_id, self.alice)
        self.assertEqual(session.user_id, self.alice)
        self.assertEqual(session.channel_id, self.channel)
        self.assertEqual(session.call_type, "video")
        self.assertEqual(self.channel.active_webrtc_session, session)
        self.assertTrue(self.channel.message_ids.filtered(lambda m: "call started by" in (m.body or "")))
        invitations = self._bus_calls(sendone, "webrtc_call_invitation")
        targets = {args[0] for args in invitations}
        self.assertEqual(targets, self._member_partners())
        self.assertEqual(invitations[0][2]["call_id"], result["call_id"])
        # the caller reads their own session through the record rule
        self.assertEqual(session.with_user(self.alice).read(["status"])[0]["status"], "initiating")

    def test_start_call_checks(self):
        """Non-members, bad call types and a missing gateway URL are refused cleanly."""
        with self.assertRaises(AccessError):
            self.other_channel.with_user(self.alice).mobile_start_webrtc_call("audio")
        with self.assertRaises(AccessError):
            self.channel.with_user(self.portal).mobile_start_webrtc_call("audio")
        for bad_type in ("fax", None, 1):
            with self.subTest(call_type=bad_type), self.assertRaises(UserError):
                self.channel.with_user(self.alice).mobile_start_webrtc_call(bad_type)
        self.env["ir.config_parameter"].sudo().set_param("mobile_webrtc.gateway_url", False)
        with self.assertRaises(UserError):
            self.channel.with_user(self.alice).mobile_start_webrtc_call("audio")

    def test_end_call(self):
        """Any member ends the call: state, chatter line, ``webrtc_call_ended`` to members."""
        result = self.channel.with_user(self.alice).mobile_start_webrtc_call("audio")
        with patch.object(self.registry["bus.bus"], "_sendone") as sendone:
            answer = self.channel.with_user(self.bob).mobile_end_webrtc_call(result["call_id"])
        self.assertEqual(answer, {"success": True})
        session = self.Session.browse(result["session_id"])
        self.assertEqual(session.status, "ended")
        self.assertTrue(session.end_time)
        self.assertFalse(self.channel.active_webrtc_session)
        ended = self._bus_calls(sendone, "webrtc_call_ended")
        self.assertEqual({args[0] for args in ended}, self._member_partners())
        self.assertEqual(len(self.channel.message_ids.filtered(lambda m: "Call ended" in (m.body or ""))), 1)
        # ending again is harmless and posts nothing more
        self.assertEqual(self.channel.with_user(self.bob).mobile_end_webrtc_call(result["call_id"]),
                         {"success": True})
        self.assertEqual(len(self.channel.message_ids.filtered(lambda m: "Call ended" in (m.body or ""))), 1)

    def test_bad_call_ids(self):
        """Malformed call ids give an error code, never an exception."""
        result = self.channel.with_user(self.alice).mobile_start_webrtc_call("audio")
        for bad in BAD_CALL_IDS:
            with self.subTest(call_id=bad):
                self.assertEqual(self.channel.with_user(self.alice).mobile_end_webrtc_call(bad),
                                 {"success": False, "error": "invalid_call_id"})
                self.assertEqual(
                    self.channel.with_user(self.alice).mobile_webrtc_signal(bad, "offer", {"sdp": "v=0"}),
                    {"success": False, "error": "invalid_call_id"})
        self.assertEqual(self.Session.browse(result["session_id"]).status, "initiating")

    def test_call_of_another_channel_is_unknown(self):
        """A call id of another channel (or none at all) is not found, whatever its number."""
        session = self.Session.create({"name": "elsewhere", "channel_id": self.other_channel.id})
        for call_id in ("call-%d" % session.id, "call-2147483647"):
            with self.subTest(call_id=call_id):
                self.assertEqual(self.channel.with_user(self.alice).mobile_end_webrtc_call(call_id),
                                 {"success": False, "error": "unknown_call"})
        self.assertEqual(session.status, "initiating")

    def test_non_member_cannot_end_or_signal(self):
        """Membership is checked before the call id is even looked at."""
        result = self.channel.with_user(self.alice).mobile_start_webrtc_call("audio")
        outsider = self.manager
        with self.assertRaises(AccessError):
            self.channel.with_user(outsider).mobile_end_webrtc_call(result["call_id"])
        with self.assertRaises(AccessError):
            self.channel.with_user(outsider).mobile_webrtc_signal(result["call_id"], "offer", {"sdp": "v=0"})
        self.assertEqual(self.Session.browse(result["session_id"]).status, "initiating")

    def test_signal(self):
        """Signaling is stored and relayed to the other members only; bad input is refused."""
        result = self.channel.with_user(self.alice).mobile_start_webrtc_call("audio")
        channel = self.channel.with_user(self.alice)
        with patch.object(self.registry["bus.bus"], "_sendone") as sendone:
            self.assertEqual(channel.mobile_webrtc_signal(result["call_id"], "offer", {"sdp": "v=0"}),
                             {"success": True})
            self.assertEqual(channel.mobile_webrtc_signal(result["call_id"], "ice_candidate", {"candidate": "c1"}),
                             {"success": True})
        relayed = self._bus_calls(sendone, "webrtc_signaling")
        targets = {args[0] for args in relayed}
        self.assertIn(self.bob.partner_id, targets)
        self.assertEqual(targets, self._member_partners() - {self.alice.partner_id})
        session = self.Session.browse(result["session_id"])
        self.assertIn("v=0", session.offer_sdp)
        self.assertIn("c1", session.ice_candidates)
        self.assertEqual(channel.mobile_webrtc_signal(result["call_id"], "bogus", {}),
                         {"success": False, "error": "invalid_signal_type"})
        for bad_data in (None, 5, ["x"], {"sdp": "x" * (70 * 1024)}):
            with self.subTest(signal_data=type(bad_data).__name__):
                self.assertEqual(channel.mobile_webrtc_signal(result["call_id"], "offer", bad_data),
                                 {"success": False, "error": "invalid_signal_data"})
        channel.mobile_end_webrtc_call(result["call_id"])
        self.assertEqual(channel.mobile_webrtc_signal(result["call_id"], "answer", {"sdp": "v=0"}),
                         {"success": False, "error": "call_ended"})
