# Part of mobile_webrtc. License LGPL-3.
from odoo.tests import tagged

from .common import WebRTCCase, event


def lifecycle(call_id, **extra):
    """The five lifecycle events of an answered 12.5 s outbound call."""
    return [
        event(call_id, 0, "initiating", "2026-11-21T10:00:00.000Z", direction="outbound",
              user="webrtc_alice", remote="600", call_type="audio", **extra),
        event(call_id, 1, "ringing", "2026-11-21T10:00:01.000Z", sip_code=180,
              sip_call_id="abc@10.0.0.1"),
        event(call_id, 2, "connecting", "2026-11-21T10:00:03.000Z"),
        event(call_id, 3, "connected", "2026-11-21T10:00:04.000Z", sip_code=200),
        event(call_id, 4, "ended", "2026-11-21T10:00:16.500Z", reason="normal_clearing", duration=12.5,
              stats={"webrtc": {"mos": 4.3, "loss": 0.01, "jitter_ms": 3.5, "rtt_ms": 40.0},
                     "sip": {"mos": 4.1, "loss": 0.0, "jitter_ms": 1.0, "rtt_ms": 2.0}}),
    ]


def video_stats(webrtc_loss, webrtc_jitter_ms, sip_loss, sip_jitter_ms):
    """The two video legs as the gateway reports them on ``ended`` (docs/odoo.md)."""
    return {
        "video_webrtc": {"packets_received": 5400, "packets_lost": 14, "loss": webrtc_loss,
                         "loss_pct": webrtc_loss * 100, "jitter_ms": webrtc_jitter_ms, "bytes_received": 4718592},
        "video_sip": {"packets_received": 5300, "packets_lost": 64, "loss": sip_loss,
                      "loss_pct": sip_loss * 100, "jitter_ms": sip_jitter_ms, "bytes_received": 4194304},
    }


def video_lifecycle(call_id, direction="outbound", codec="VP8", **extra):
    """The lifecycle of an answered video call: ``call_type`` video first, codec and video legs on ``ended``."""
    events = lifecycle(call_id, **extra)
    events[0].update(call_type="video", direction=direction)
    events[4]["video_codec"] = codec
    events[4]["stats"] = dict(events[4]["stats"], **video_stats(0.0025, 4.5, 0.012, 7.2))
    return events


@tagged("post_install", "-at_install")
class TestGatewayReport(WebRTCCase):

    def test_lifecycle_fields(self):
        """A full call creates one session with every reported field."""
        events = lifecycle("gw-1")
        self.assertEqual(self.report(events), [e["key"] for e in events])
        session = self.Session.search([("gateway_call_id", "=", "gw-1")])
        self.assertEqual(len(session), 1)
        self.assertEqual(session.status, "ended")
        self.assertEqual(session.direction, "outbound")
        self.assertEqual(session.user_id, self.alice)
        self.assertEqual(session.remote_number, "600")
        self.assertEqual(session.sip_call_id, "abc@10.0.0.1")
        self.assertEqual(session.sip_code, 200)
        self.assertEqual(session.hangup_reason, "normal_clearing")
        self.assertAlmostEqual(session.duration, 12.5)
        self.assertEqual(str(session.start_time), "2026-11-21 10:00:00")
        self.assertEqual(str(session.ringing_time), "2026-11-21 10:00:01")
        self.assertEqual(str(session.connecting_time), "2026-11-21 10:00:03")
        self.assertEqual(str(session.connected_time), "2026-11-21 10:00:04")
        self.assertEqual(str(session.end_time), "2026-11-21 10:00:16")
        self.assertAlmostEqual(session.webrtc_mos, 4.3)
        self.assertAlmostEqual(session.sip_jitter_ms, 1.0)
        self.assertAlmostEqual(session.mos, 4.1)
        self.assertEqual(session.stats["webrtc"]["rtt_ms"], 40.0)
        self.assertEqual(session.last_event_key, "gw-1:4")
        self.assertEqual(session.last_event_seq, 4)

    def test_same_batch_twice_is_applied_once(self):
        """Redelivery after a lost acknowledgement returns the keys and changes nothing."""
        events = lifecycle("gw-2")
        first = self.report(events)
        session = self.Session.search([("gateway_call_id", "=", "gw-2")])
        before = session.read(["status", "end_time", "duration", "sip_code", "write_date"])[0]
        second = self.report(events)
        self.assertEqual(first, second)
        self.assertEqual(self.Session.search_count([("gateway_call_id", "=", "gw-2")]), 1)
        self.assertEqual(
            self.env["webrtc.gateway.event.key"].search_count([("call_id", "=", "gw-2")]), len(events)
        )
        self.assertEqual(session.read(["status", "end_time", "duration", "sip_code", "write_date"])[0], before)

    def test_duplicate_key_inside_one_batch(self):
        """A key repeated in one batch is applied once and returned once."""
        ev = event("gw-3", 0, "initiating", "2026-11-21T10:00:00Z", remote="601")
        later = dict(ev, remote="999")  # same key, different content: ignored
        self.assertEqual(self.report([ev, later]), ["gw-3:0"])
        self.assertEqual(self.Session.search([("gateway_call_id", "=", "gw-3")]).remote_number, "601")

    def test_in_order_later_values_win(self):
        """Events of one call are applied in order: the last sip_code is kept."""
        events = lifecycle("gw-4")[:4]
        self.report(events)
        session = self.Session.search([("gateway_call_id", "=", "gw-4")])
        self.assertEqual(session.sip_code, 200)
        self.assertEqual(session.status, "connected")

    def test_late_event_does_not_regress_state(self):
        """A late ``connecting``/``ringing`` after ``connected`` fills its timestamp only."""
        events = lifecycle("gw-5")
        self.report([events[0], events[3]])  # initiating, connected
        session = self.Session.search([("gateway_call_id", "=", "gw-5")])
        self.assertEqual(session.status, "connected")
        self.assertFalse(session.ringing_time)
        self.assertEqual(self.report([events[1], events[2]]), ["gw-5:1", "gw-5:2"])
        self.assertEqual(session.status, "connected")
        self.assertEqual(str(session.ringing_time), "2026-11-21 10:00:01")
        self.assertEqual(str(session.connecting_time), "2026-11-21 10:00:03")
        # the late ringing (seq 1) must not overwrite the newer 200 with its 180
        self.assertEqual(session.sip_code, 200)
        self.assertEqual(session.last_event_seq, 3)
        # a blank is still filled by a late event
        self.assertEqual(session.sip_call_id, "abc@10.0.0.1")

    def test_ended_is_final(self):
        """Nothing moves a call out of ``ended``, not even a late ``connected``."""
        events = lifecycle("gw-6")
        self.report([events[0], events[4]])
        session = self.Session.search([("gateway_call_id", "=", "gw-6")])
        self.assertEqual(session.status, "ended")
        self.report([events[3]])
        self.assertEqual(session.status, "ended")
        self.assertEqual(str(session.connected_time), "2026-11-21 10:00:04")
        self.assertAlmostEqual(session.duration, 12.5)

    def test_duration_computed_from_connect_without_report(self):
        """Without a reported duration, the billable time runs from connected to ended."""
        events = lifecycle("gw-7")
        del events[4]["duration"]
        self.report(events)
        session = self.Session.search([("gateway_call_id", "=", "gw-7")])
        self.assertAlmostEqual(session.duration, 12.0)  # Datetime fields keep whole seconds
        self.assertAlmostEqual(session.total_duration, 16.0)

    def test_bad_events_are_skipped_and_the_rest_applied(self):
        """Each malformed event is skipped; the good ones around it are applied."""
        good_a = event("gw-8", 0, "initiating", "2026-11-21T10:00:00Z")
        good_b = event("gw-8", 1, "ringing", "2026-11-21T10:00:01Z")
        bad = [
            "not an object",
            None,
            {},
            event("gw-8", 5, "exploded", "2026-11-21T10:00:02Z"),
            event("gw-8", 6, "ringing", "yesterday"),
            event("gw-8", 7, "ringing", "2026-11-21T10:00:02"),  # no zone
            event("gw-8", 8, "ringing", "2026-02-30T10:00:02Z"),  # no such day
            dict(event("gw-8", 9, "ringing", "2026-11-21T10:00:02Z"), seq=True),
            dict(event("gw-8", 10, "ringing", "2026-11-21T10:00:02Z"), seq=-1),
            event("gw-8", 11, "ringing", "2026-11-21T10:00:02Z", sip_code="180"),
            event("gw-8", 12, "ringing", "2026-11-21T10:00:02Z", sip_code=42),
            event("gw-8", 13, "ringing", "2026-11-21T10:00:02Z", direction="sideways"),
            event("gw-8", 14, "ringing", "2026-11-21T10:00:02Z", stats={"webrtc": {"mos": 9}}),
            event("gw-8", 15, "ringing", "2026-11-21T10:00:02Z", remote="6\x0000"),
            event("gw-8", 16, "ended", "2026-11-21T10:00:02Z", duration=-1),
            event("gw-8", 17, "ringing", "2026-11-21T10:00:02Z", odoo_call_id="call-1; drop"),
            dict(event("gw-8", 18, "ringing", "2026-11-21T10:00:02Z"), key=""),
            dict(event("gw-8", 19, "ringing", "2026-11-21T10:00:02Z"), call_id=None),
        ]
        self.assertEqual(self.report([good_a] + bad + [good_b]), ["gw-8:0", "gw-8:1"])
        session = self.Session.search([("gateway_call_id", "=", "gw-8")])
        self.assertEqual(session.status, "ringing")
        self.assertEqual(self.env["webrtc.gateway.event.key"].search_count([("call_id", "=", "gw-8")]), 2)

    def test_outbox_envelope_form(self):
        """Events wrapped as the gateway outbox sends them are applied the same way."""
        envelopes = [
            {"key": "gw-14:0:initiating", "group": "gw-14", "kind": "initiating", "created_at": 1795255200.0,
             "payload": {"seq": 0, "direction": "inbound", "remote": "+15550100", "user": "webrtc_bob"}},
            {"key": "gw-14:1:ended", "group": "gw-14", "kind": "ended", "created_at": 1795255203.5,
             "payload": {"seq": 1, "sip_code": 487, "reason": "caller_cancel"}},
        ]
        self.assertEqual(self.report(envelopes), ["gw-14:0:initiating", "gw-14:1:ended"])
        session = self.Session.search([("gateway_call_id", "=", "gw-14")])
        self.assertEqual((session.status, session.direction, session.user_id), ("ended", "inbound", self.bob))
        self.assertEqual(str(session.start_time), "2026-11-21 10:00:00")
        self.assertEqual(session.duration, 0.0)  # never connected
        self.assertEqual(session.sip_code, 487)

    def test_batch_that_is_not_a_list_is_refused(self):
        """A batch must be a list; a user error is raised, not a crash."""
        from odoo.exceptions import UserError
        with self.assertRaises(UserError):
            self.report({"key": "x"})

    def test_unknown_user_is_kept_as_text(self):
        """A user Odoo does not know is stored as reported, the call still recorded."""
        self.report([event("gw-9", 0, "initiating", "2026-11-21T10:00:00Z", user="nobody@example")])
        session = self.Session.search([("gateway_call_id", "=", "gw-9")])
        self.assertFalse(session.user_id)
        self.assertEqual(session.gateway_user, "nobody@example")

    def test_user_by_id_and_by_sip_username(self):
        """``user`` may be an Odoo user id or the user's SIP username."""
        self.report([event("gw-10", 0, "initiating", "2026-11-21T10:00:00Z", user=self.bob.id)])
        self.assertEqual(self.Session.search([("gateway_call_id", "=", "gw-10")]).user_id, self.bob)
        self.report([event("gw-11", 0, "initiating", "2026-11-21T10:00:00Z", user="alice-sip")])
        self.assertEqual(self.Session.search([("gateway_call_id", "=", "gw-11")]).user_id, self.alice)

    def test_odoo_call_id_links_the_channel_session(self):
        """Events naming ``odoo_call_id`` update the session started from Discuss."""
        started = self.channel.with_user(self.alice).mobile_start_webrtc_call("audio")
        events = lifecycle("gw-12", odoo_call_id=started["call_id"])
        self.report(events)
        session = self.Session.browse(started["session_id"])
        self.assertEqual(session.gateway_call_id, "gw-12")
        self.assertEqual(session.status, "ended")
        self.assertEqual(self.Session.search_count([("gateway_call_id", "=", "gw-12")]), 1)
        self.assertFalse(self.channel.active_webrtc_session)
        ended = self.channel.message_ids.filtered(lambda m: "Call ended" in (m.body or ""))
        self.assertEqual(len(ended), 1)
        # a second gateway call cannot take over the same Odoo session
        other = event("gw-13", 0, "initiating", "2026-11-21T10:01:00Z", odoo_call_id=started["call_id"])
        self.assertEqual(self.report([other]), [])
        self.assertFalse(self.Session.search([("gateway_call_id", "=", "gw-13")]))

    def test_video_call_fields(self):
        """A video call's session has call_type video, the codec and both video legs beside the audio ones."""
        events = video_lifecycle("gw-15")
        self.assertEqual(self.report(events), [e["key"] for e in events])
        session = self.Session.search([("gateway_call_id", "=", "gw-15")])
        self.assertEqual(len(session), 1)
        self.assertEqual(session.status, "ended")
        self.assertEqual(session.call_type, "video")
        self.assertEqual(session.video_codec, "VP8")
        self.assertAlmostEqual(session.video_webrtc_loss, 0.0025)
        self.assertAlmostEqual(session.video_webrtc_jitter_ms, 4.5)
        self.assertAlmostEqual(session.video_sip_loss, 0.012)
        self.assertAlmostEqual(session.video_sip_jitter_ms, 7.2)
        # the audio legs are unchanged, and the MOS comes from them only
        self.assertAlmostEqual(session.webrtc_mos, 4.3)
        self.assertAlmostEqual(session.sip_jitter_ms, 1.0)
        self.assertAlmostEqual(session.mos, 4.1)
        # the stored stats keep the video legs, with the metrics Odoo keeps
        self.assertEqual(session.stats["video_webrtc"], {"loss": 0.0025, "jitter_ms": 4.5})
        self.assertEqual(session.stats["video_sip"], {"loss": 0.012, "jitter_ms": 7.2})
        self.assertEqual(session.stats["webrtc"]["rtt_ms"], 40.0)

    def test_inbound_video_call(self):
        """An inbound video call, in the outbox envelope form, records the same video fields."""
        envelopes = [
            {"key": "gw-16:0:initiating", "group": "gw-16", "kind": "initiating", "created_at": 1795255200.0,
             "payload": {"seq": 0, "direction": "inbound", "remote": "+15550100", "user": "webrtc_bob",
                         "call_type": "video"}},
            {"key": "gw-16:1:connected", "group": "gw-16", "kind": "connected", "created_at": 1795255202.0,
             "payload": {"seq": 1, "sip_code": 200}},
            {"key": "gw-16:2:ended", "group": "gw-16", "kind": "ended", "created_at": 1795255232.0,
             "payload": {"seq": 2, "sip_code": 200, "reason": "normal_clearing", "duration": 30.0,
                         "video_codec": "H264",
                         "stats": dict({"webrtc": {"mos": 4.2, "loss": 0.0, "jitter_ms": 2.0},
                                        "sip": {"mos": 4.4, "loss": 0.0, "jitter_ms": 1.0}},
                                       **video_stats(0.0, 3.0, 0.05, 12.5))}},
        ]
        self.assertEqual(self.report(envelopes), [e["key"] for e in envelopes])
        session = self.Session.search([("gateway_call_id", "=", "gw-16")])
        self.assertEqual((session.status, session.direction, session.user_id), ("ended", "inbound", self.bob))
        self.assertEqual(session.call_type, "video")
        self.assertEqual(session.video_codec, "H264")
        self.assertAlmostEqual(session.video_webrtc_loss, 0.0)
        self.assertAlmostEqual(session.video_webrtc_jitter_ms, 3.0)
        self.assertAlmostEqual(session.video_sip_loss, 0.05)
        self.assertAlmostEqual(session.video_sip_jitter_ms, 12.5)
        self.assertAlmostEqual(session.duration, 30.0)

    def test_late_video_values_fill_blanks_only(self):
        """A late event's video codec and stats do not overwrite the newer ones, but fill blanks."""
        events = video_lifecycle("gw-17")
        self.report(events)
        late = event("gw-17", 3, "update", "2026-11-21T10:00:10.000Z", video_codec="H264",
                     stats={"video_webrtc": {"loss": 0.5, "jitter_ms": 99.0}})
        late["key"] = "gw-17:3:update"
        self.assertEqual(self.report([late]), ["gw-17:3:update"])
        session = self.Session.search([("gateway_call_id", "=", "gw-17")])
        self.assertEqual(session.video_codec, "VP8")
        self.assertAlmostEqual(session.video_webrtc_loss, 0.0025)
        self.assertAlmostEqual(session.video_webrtc_jitter_ms, 4.5)
        self.assertEqual(session.stats["video_webrtc"], {"loss": 0.0025, "jitter_ms": 4.5})
        self.assertEqual(session.last_event_seq, 4)
        # an audio call has no video values
        self.report(lifecycle("gw-18"))
        audio = self.Session.search([("gateway_call_id", "=", "gw-18")])
        self.assertEqual(audio.call_type, "audio")
        self.assertFalse(audio.video_codec)
        self.assertFalse(audio.video_sip_loss)
        self.assertNotIn("video_sip", audio.stats)
