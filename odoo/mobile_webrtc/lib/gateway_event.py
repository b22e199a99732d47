# Part of mobile_webrtc. License LGPL-3.
"""Shape validation of the events the gateway reports (see docs/odoo.md).

:func:`validate_event` turns one raw JSON object into a clean dict or gives the
reason it is rejected. It never raises on any input.
"""
import datetime
import math
import re

from .call_id import parse_call_id

#: Lifecycle states in their only forward order; ``update`` changes no state.
STATES = ("initiating", "ringing", "connecting", "connected", "ended")
STATE_RANK = {state: rank for rank, state in enumerate(STATES)}
KINDS = STATES + ("update",)
DIRECTIONS = ("inbound", "outbound")
CALL_TYPES = ("audio", "video")
#: Metrics of an audio leg with the accepted closed range.
AUDIO_METRICS = {
    "mos": (1.0, 5.0),
    "loss": (0.0, 1.0),
    "jitter_ms": (0.0, 60000.0),
    "rtt_ms": (0.0, 60000.0),
}
#: Metrics of a video leg: the gateway measures no MOS or RTT for video.
VIDEO_METRICS = {
    "loss": (0.0, 1.0),
    "jitter_ms": (0.0, 60000.0),
}
#: Quality legs and the metrics each one keeps. ``video_webrtc`` and
#: ``video_sip`` are what the gateway received from the browser and from the
#: SIP side on a video call.
STATS_LEG_METRICS = {
    "webrtc": AUDIO_METRICS,
    "sip": AUDIO_METRICS,
    "video_webrtc": VIDEO_METRICS,
    "video_sip": VIDEO_METRICS,
}
MAX_INT4 = 2**31 - 1
MAX_DURATION = 31 * 24 * 3600.0

_TS_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)

# name -> (max length, required)
_STRINGS = {
    "key": (255, True),
    "call_id": (128, True),
    "remote": (128, False),
    "sip_call_id": (255, False),
    "reason": (255, False),
    "uniqueid": (64, False),
    "linkedid": (64, False),
    "video_codec": (16, False),
}


def parse_timestamp(value):
    """Parse an RFC 3339 timestamp (``Z`` or ``+hh:mm``) to a naive UTC datetime.

    Returns ``None`` when ``value`` is not such a string or not a real instant.
    """
    if not isinstance(value, str):
        return None
    match = _TS_RE.fullmatch(value)
    if not match:
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    try:
        if zone == "Z":
            offset = datetime.timedelta(0)
        else:
            oh, om = int(zone[1:3]), int(zone[4:6])
            if oh > 23 or om > 59:
                return None
            offset = datetime.timedelta(hours=oh, minutes=om)
            if zone[0] == "-":
                offset = -offset
        stamp = datetime.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro
        )
        return stamp - offset
    except (ValueError, OverflowError):
        return None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _check_string(name, value, max_len):
    if not isinstance(value, str):
        return "%s must be a string" % name
    if not value:
        return "%s is empty" % name
    if len(value) > max_len:
        return "%s is longer than %d characters" % (name, max_len)
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "%s contains control characters" % name
    return None


def _validate_stats(stats):
    if not isinstance(stats, dict):
        return None, "stats must be an object"
    clean = {}
    for leg, metrics in stats.items():
        known = STATS_LEG_METRICS.get(leg)
        if known is None:
            continue  # a leg from a newer gateway: ignored, not fatal
        if not isinstance(metrics, dict):
            return None, "stats.%s must be an object" % leg
        leg_clean = {}
        for metric, value in metrics.items():
            bounds = known.get(metric)
            if bounds is None:
                continue  # a metric this leg does not keep (packets_received, mos of video, ...)
            if not _is_number(value) or not bounds[0] <= value <= bounds[1]:
                return None, "stats.%s.%s must be a number in [%g, %g]" % (leg, metric, bounds[0], bounds[1])
            leg_clean[metric] = float(value)
        if leg_clean:
            clean[leg] = leg_clean
    return clean, None


def _from_unix(value):
    if not _is_number(value) or not 0 <= value < 253402300800:  # before year 10000
        return None
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=value)


def unwrap(raw):
    """Flatten the outbox envelope ``{key, group, kind, created_at, payload}``.

    The payload's fields become top-level; ``key`` and ``kind`` come from the
    envelope (a payload ``kind`` must agree), ``call_id`` defaults to
    ``group`` and ``at`` to ``created_at`` (unix seconds). Anything that is not
    an envelope is returned unchanged.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("payload"), dict):
        return raw
    flat = dict(raw["payload"])
    flat["key"] = raw.get("key")
    if "kind" in raw:
        if "kind" in flat and flat["kind"] != raw["kind"]:
            flat["kind"] = ("conflict", raw["kind"], flat["kind"])
        else:
            flat["kind"] = raw["kind"]
    if flat.get("call_id") is None and raw.get("group") is not None:
        flat["call_id"] = raw["group"]
    if flat.get("at") is None and raw.get("created_at") is not None:
        flat["at"] = _from_unix(raw["created_at"]) or raw["created_at"]
    return flat


def event_key(raw):
    """The ``key`` of a raw event when it is a usable string, else ``None``."""
    if isinstance(raw, dict) and _check_string("key", raw.get("key"), _STRINGS["key"][0]) is None:
        return raw["key"]
    return None


def validate_event(raw):
    """Return ``(event, None)`` for a well-formed event or ``(None, reason)``.

    Accepts the flat form and the outbox envelope (see :func:`unwrap`).
    Unknown top-level fields are ignored (a newer gateway may send more);
    known fields with a wrong type or range reject the event.
    """
    raw = unwrap(raw)
    if not isinstance(raw, dict):
        return None, "event is not an object"
    event = {}
    for name, (max_len, required) in _STRINGS.items():
        value = raw.get(name)
        if value is None:
            if required:
                return None, "%s is missing" % name
            continue
        problem = _check_string(name, value, max_len)
        if problem:
            return None, problem
        event[name] = value

    seq = raw.get("seq")
    if not _is_int(seq) or not 0 <= seq <= MAX_INT4:
        return None, "seq must be an integer in [0, %d]" % MAX_INT4
    event["seq"] = seq

    kind = raw.get("kind")
    if isinstance(kind, tuple):
        return None, "kind %r of the envelope differs from the payload's %r" % kind[1:]
    if kind not in KINDS:
        return None, "kind must be one of %s" % ", ".join(KINDS)
    event["kind"] = kind

    at = raw.get("at")
    at = at if isinstance(at, datetime.datetime) else parse_timestamp(at)
    if at is None:
        return None, "at must be an RFC 3339 UTC timestamp"
    event["at"] = at

    for name, allowed in (("direction", DIRECTIONS), ("call_type", CALL_TYPES)):
        value = raw.get(name)
        if value is not None:
            if value not in allowed:
                return None, "%s must be one of %s" % (name, ", ".join(allowed))
            event[name] = value

    user = raw.get("user")
    if user is not None:
        if _is_int(user):
            if not 0 < user <= MAX_INT4:
                return None, "user id out of range"
        else:
            problem = _check_string("user", user, 128)
            if problem:
                return None, problem
        event["user"] = user

    sip_code = raw.get("sip_code")
    if sip_code is not None:
        if not _is_int(sip_code) or not 100 <= sip_code <= 699:
            return None, "sip_code must be an integer in [100, 699]"
        event["sip_code"] = sip_code

    duration = raw.get("duration")
    if duration is not None:
        if not _is_number(duration) or not 0 <= duration <= MAX_DURATION:
            return None, "duration must be a number of seconds in [0, %d]" % MAX_DURATION
        event["duration"] = float(duration)

    if raw.get("stats") is not None:
        stats, problem = _validate_stats(raw["stats"])
        if problem:
            return None, problem
        event["stats"] = stats

    odoo_call_id = raw.get("odoo_call_id")
    if odoo_call_id is not None:
        session_id = parse_call_id(odoo_call_id)
        if session_id is None:
            return None, "odoo_call_id must be call-<id>"
        event["odoo_session_id"] = session_id
    return event, None
