# Part of mobile_webrtc. License LGPL-3.
"""Tests of mobile_webrtc/lib (standard library only): run without Odoo.

    python3 -m unittest discover -s odoo/lib_tests -t odoo/lib_tests
"""
import base64
import datetime
import hashlib
import hmac
import importlib.util
import json
import pathlib
import sys
import unittest

LIB = pathlib.Path(__file__).resolve().parent.parent / "mobile_webrtc" / "lib"


def _load_lib():
    """Import mobile_webrtc/lib as the package ``mwlib`` without importing Odoo."""
    spec = importlib.util.spec_from_file_location("mwlib", LIB / "__init__.py", submodule_search_locations=[str(LIB)])
    package = importlib.util.module_from_spec(spec)
    sys.modules["mwlib"] = package
    spec.loader.exec_module(package)
    return {name: importlib.import_module("mwlib." + name)
            for name in ("jwt_hs256", "call_id", "gateway_event", "ami_conditions")}


MODS = _load_lib()
jwt_hs256 = MODS["jwt_hs256"]
call_id = MODS["call_id"]
gateway_event = MODS["gateway_event"]
ami_conditions = MODS["ami_conditions"]


class TestJwt(unittest.TestCase):
    SECRET = "s" * 32

    def test_rfc7515_hs256_vector(self):
        """RFC 7515 appendix A.1: HMAC-SHA256 of the example signing input."""
        key = base64.urlsafe_b64decode(
            "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow==")
        signing_input = (
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
            "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ")
        sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
        self.assertEqual(jwt_hs256.b64url_encode(sig), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        claims = jwt_hs256.decode(signing_input + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", key, now=0)
        self.assertEqual(claims["iss"], "joe")

    def test_round_trip_and_expiry(self):
        token = jwt_hs256.encode({"sub": "7", "exp": 1000}, self.SECRET)
        self.assertEqual(jwt_hs256.decode(token, self.SECRET, now=999)["sub"], "7")
        with self.assertRaises(jwt_hs256.TokenError):
            jwt_hs256.decode(token, self.SECRET, now=1000)

    def test_rejections(self):
        token = jwt_hs256.encode({"sub": "7", "exp": 1000}, self.SECRET)
        h, c, s = token.split(".")
        none_header = jwt_hs256.b64url_encode(b'{"alg":"none"}')
        for bad in (None, "", "a.b", token + "x", "%s.%s.%s" % (h, c, s[:-2] + "AA"),
                    "%s.%s.%s" % (none_header, c, s), "%s.%s" % (h, c) + ".", "!!.??.**"):
            with self.subTest(token=bad), self.assertRaises(jwt_hs256.TokenError):
                jwt_hs256.decode(bad, self.SECRET, now=0)
        with self.assertRaises(jwt_hs256.TokenError):
            jwt_hs256.decode(token, self.SECRET + "x", now=0)
        no_exp = jwt_hs256.encode({"sub": "7"}, self.SECRET)
        with self.assertRaises(jwt_hs256.TokenError):
            jwt_hs256.decode(no_exp, self.SECRET, now=0)


class TestCallId(unittest.TestCase):

    def test_valid(self):
        self.assertEqual(call_id.parse_call_id("call-1"), 1)
        self.assertEqual(call_id.parse_call_id("call-2147483647"), 2147483647)
        self.assertEqual(call_id.format_call_id(42), "call-42")

    def test_invalid(self):
        for bad in ("call-abc", "call-", "x", "call-1; drop", None, "", "call-0", "call-01", "call--1",
                    "call-+1", "call-1 ", " call-1", "call-1\n", "CALL-1", "call-2147483648",
                    "call-99999999999", "call-١", "call-1.0", 1, 1.0, True, b"call-1", ["call-1"]):
            with self.subTest(value=bad):
                self.assertIsNone(call_id.parse_call_id(bad))


class TestGatewayEvent(unittest.TestCase):

    def base(self, **extra):
        ev = {"key": "gw:1", "call_id": "gw", "seq": 1, "kind": "ringing", "at": "2026-11-21T10:00:00.123Z"}
        ev.update(extra)
        return ev

    def test_timestamps(self):
        parse = gateway_event.parse_timestamp
        self.assertEqual(parse("2026-11-21T10:00:00.123Z"), datetime.datetime(2026, 11, 21, 10, 0, 0, 123000))
        self.assertEqual(parse("2026-11-21T10:00:00Z"), datetime.datetime(2026, 11, 21, 10, 0, 0))
        self.assertEqual(parse("2026-11-21T12:30:00+02:30"), datetime.datetime(2026, 11, 21, 10, 0, 0))
        self.assertEqual(parse("2026-11-21T10:00:00.123456789Z").microsecond, 123456)
        for bad in ("2026-11-21T10:00:00", "2026-11-21 10:00:00Z", "2026-13-01T00:00:00Z",
                    "2026-02-29T00:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T10:00:00+25:00",
                    "١٢٣٤-11-21T10:00:00Z", None, 1700000000, ""):
            with self.subTest(value=bad):
                self.assertIsNone(parse(bad))

    def test_full_event(self):
        ev, reason = gateway_event.validate_event(self.base(
            kind="ended", direction="inbound", user=5, remote="600", call_type="video", sip_call_id="a@b",
            sip_code=486, reason="busy", duration=0, uniqueid="1700000000.1", linkedid="1700000000.1",
            odoo_call_id="call-9", future_field={"x": 1},
            stats={"webrtc": {"mos": 4, "loss": 0.5, "unknown": "x"}, "sip": {}, "video": {"fps": 30}}))
        self.assertIsNone(reason)
        self.assertEqual(ev["odoo_session_id"], 9)
        self.assertEqual(ev["stats"], {"webrtc": {"mos": 4.0, "loss": 0.5}})
        self.assertEqual(ev["duration"], 0.0)
        self.assertNotIn("future_field", ev)

    def test_rejections(self):
        cases = {
            "event is not an object": ["x", None, 3, []],
            "is missing": [{k: v for k, v in self.base().items() if k != "key"}],
            "seq": [self.base(seq=True), self.base(seq=-1), self.base(seq=1.0), self.base(seq=2**31)],
            "kind": [self.base(kind="Ringing"), self.base(kind=None)],
            "at": [self.base(at="now")],
            "direction": [self.base(direction="in")],
            "user": [self.base(user=0), self.base(user=""), self.base(user=1.5)],
            "sip_code": [self.base(sip_code=99), self.base(sip_code="200"), self.base(sip_code=True)],
            "duration": [self.base(duration=-0.1), self.base(duration=float("nan")), self.base(duration="1")],
            "stats": [self.base(stats=[]), self.base(stats={"webrtc": 3}),
                      self.base(stats={"sip": {"loss": 1.5}}), self.base(stats={"sip": {"mos": float("inf")}})],
            "stats.video_webrtc": [self.base(stats={"video_webrtc": []}),
                                   self.base(stats={"video_webrtc": {"loss": 1.01}}),
                                   self.base(stats={"video_webrtc": {"loss": -0.1}}),
                                   self.base(stats={"video_webrtc": {"loss": "0.1"}}),
                                   self.base(stats={"video_webrtc": {"loss": True}})],
            "stats.video_sip": [self.base(stats={"video_sip": {"jitter_ms": 60000.5}}),
                                self.base(stats={"video_sip": {"jitter_ms": float("nan")}})],
            "video_codec": [self.base(video_codec=8), self.base(video_codec=""), self.base(video_codec="V" * 17),
                            self.base(video_codec="VP8\n"), self.base(video_codec=["VP8"]),
                            self.base(video_codec={"name": "VP8"})],
            "odoo_call_id": [self.base(odoo_call_id="call-1; drop"), self.base(odoo_call_id=1)],
            "control": [self.base(remote="60\x000"), self.base(key="a\nb")],
            "longer": [self.base(call_id="c" * 129)],
        }
        for fragment, events in cases.items():
            for raw in events:
                with self.subTest(fragment=fragment, raw=repr(raw)[:80]):
                    ev, reason = gateway_event.validate_event(raw)
                    self.assertIsNone(ev)
                    self.assertIn(fragment, reason)

    def test_video_stats(self):
        """Video legs keep loss and jitter_ms only; audio legs keep exactly mos, loss, jitter_ms, rtt_ms."""
        video_leg = {"packets_received": 1200, "packets_lost": 3, "loss": 0.0025, "loss_pct": 0.25,
                     "jitter_ms": 4.5, "bytes_received": 1048576}
        ev, reason = gateway_event.validate_event(self.base(
            kind="ended", video_codec="VP8",
            stats={"webrtc": {"packets_received": 600, "loss": 0.0, "loss_pct": 0.0, "jitter_ms": 1.5,
                              "mos": 4.4, "rtt_ms": 20, "remote_loss_pct": 0.0},
                   "sip": {"mos": 4.3, "loss": 0.01, "jitter_ms": 2, "rtt_ms": 3.0},
                   "video_webrtc": video_leg,
                   "video_sip": dict(video_leg, loss=1, jitter_ms=0, mos=4.0, rtt_ms=5.0),
                   "video_future": {"loss": 7}}))
        self.assertIsNone(reason)
        self.assertEqual(ev["video_codec"], "VP8")
        self.assertEqual(ev["stats"], {
            "webrtc": {"loss": 0.0, "jitter_ms": 1.5, "mos": 4.4, "rtt_ms": 20.0},
            "sip": {"mos": 4.3, "loss": 0.01, "jitter_ms": 2.0, "rtt_ms": 3.0},
            "video_webrtc": {"loss": 0.0025, "jitter_ms": 4.5},
            "video_sip": {"loss": 1.0, "jitter_ms": 0.0},
        })
        # a video leg's mos and rtt_ms are not video metrics: ignored, even out of the audio range
        ev, reason = gateway_event.validate_event(self.base(
            stats={"video_webrtc": {"mos": 9, "rtt_ms": -1, "fps": 30}, "video_sip": {"jitter_ms": 60000}}))
        self.assertIsNone(reason)
        self.assertEqual(ev["stats"], {"video_sip": {"jitter_ms": 60000.0}})
        self.assertEqual(set(gateway_event.STATS_LEG_METRICS["video_webrtc"]), {"loss", "jitter_ms"})
        self.assertEqual(set(gateway_event.STATS_LEG_METRICS["sip"]), {"mos", "loss", "jitter_ms", "rtt_ms"})

    def test_video_codec(self):
        """video_codec is an optional short string; absent or null means no video flowed."""
        for codec in ("VP8", "H264", "V" * 16):
            with self.subTest(codec=codec):
                ev, reason = gateway_event.validate_event(self.base(video_codec=codec))
                self.assertIsNone(reason)
                self.assertEqual(ev["video_codec"], codec)
        for raw in (self.base(), self.base(video_codec=None)):
            ev, reason = gateway_event.validate_event(raw)
            self.assertIsNone(reason)
            self.assertNotIn("video_codec", ev)
        ev, reason = gateway_event.validate_event({
            "key": "gw:4:ended", "group": "gw", "kind": "ended", "created_at": 1795255200.0,
            "payload": {"seq": 4, "video_codec": "H264", "stats": {"video_sip": {"loss": 0.5}}}})
        self.assertIsNone(reason)
        self.assertEqual((ev["video_codec"], ev["stats"]), ("H264", {"video_sip": {"loss": 0.5}}))

    def test_envelope(self):
        """The outbox envelope is flattened: call_id from group, at from created_at."""
        ev, reason = gateway_event.validate_event({
            "key": "gw:3:connected", "group": "gw", "kind": "connected", "created_at": 1795255200.123,
            "payload": {"seq": 3, "sip_code": 200}})
        self.assertIsNone(reason)
        self.assertEqual((ev["key"], ev["call_id"], ev["kind"], ev["seq"], ev["sip_code"]),
                         ("gw:3:connected", "gw", "connected", 3, 200))
        self.assertEqual(ev["at"], datetime.datetime(2026, 11, 21, 10, 0, 0, 123000))
        ev, reason = gateway_event.validate_event({
            "key": "gw:3", "group": "other", "kind": "ended", "created_at": 0,
            "payload": {"call_id": "gw", "seq": 3, "kind": "ended", "at": "2026-11-21T10:00:00Z"}})
        self.assertIsNone(reason)
        self.assertEqual((ev["call_id"], ev["at"]), ("gw", datetime.datetime(2026, 11, 21, 10, 0, 0)))
        for bad in ({"key": "k", "group": "g", "kind": "ended", "created_at": 1.0,
                     "payload": {"seq": 1, "kind": "ringing"}},
                    {"key": "k", "group": "g", "kind": "ended", "created_at": -5.0, "payload": {"seq": 1}},
                    {"key": "k", "group": "g", "kind": "ended", "created_at": "x", "payload": {"seq": 1}},
                    {"key": "k", "group": "g", "kind": "ended", "created_at": 1.0, "payload": {}}):
            with self.subTest(raw=bad):
                ev, reason = gateway_event.validate_event(bad)
                self.assertIsNone(ev)
                self.assertTrue(reason)

    def test_event_key(self):
        self.assertEqual(gateway_event.event_key(self.base()), "gw:1")
        for bad in (None, "x", {"key": 5}, {"key": ""}, {}):
            self.assertIsNone(gateway_event.event_key(bad))


class TestAmiConditions(unittest.TestCase):

    def test_parse_and_match(self):
        conds, problem = ami_conditions.parse_conditions('{"Disposition": "ANSWERED", "Channel": "re:PJSIP/.*"}')
        self.assertIsNone(problem)
        self.assertTrue(ami_conditions.matches(conds, {"Disposition": "ANSWERED", "Channel": "PJSIP/1-1"}))
        self.assertFalse(ami_conditions.matches(conds, {"Disposition": "ANSWERED", "Channel": "SIP/PJSIP/1"}))
        self.assertFalse(ami_conditions.matches(conds, {"Disposition": "answered", "Channel": "PJSIP/1"}))
        self.assertEqual(ami_conditions.parse_conditions(""), ({}, None))
        self.assertTrue(ami_conditions.matches({}, {}))

    def test_invalid(self):
        for text in ("nope", "[]", '{"a": 1}', '{"": "x"}', '{"a": "re:["}', '{"a": "re:(?!x)"}',
                     json.dumps({"h%d" % i: "v" for i in range(40)})):
            with self.subTest(text=text[:40]):
                conds, problem = ami_conditions.parse_conditions(text)
                self.assertIsNone(conds)
                self.assertTrue(problem)


if __name__ == "__main__":
    unittest.main()
