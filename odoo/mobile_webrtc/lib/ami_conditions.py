# Part of mobile_webrtc. License LGPL-3.
"""Conditions of an AMI event rule: ``{"Header": "exact value" | "re:<regex>"}``.

A rule matches an event when every condition holds: the header is present and
equals the value exactly, or, for ``re:`` values, the whole header value
matches the regular expression (anchored at both ends). Use regex syntax common
to Python ``re`` and Rust ``regex`` (no look-around, no back-references).
"""
import json
import re

REGEX_PREFIX = "re:"
MAX_CONDITIONS = 32


def parse_conditions(text):
    """Parse and check the JSON text of a rule's conditions.

    Returns ``(dict, None)`` or ``(None, reason)``; empty text means no condition.
    """
    if not text or not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return None, "conditions are not valid JSON: %s" % exc
    if not isinstance(value, dict):
        return None, "conditions must be a JSON object of header -> value"
    if len(value) > MAX_CONDITIONS:
        return None, "at most %d conditions" % MAX_CONDITIONS
    for header, expected in value.items():
        if not header or not isinstance(expected, str):
            return None, "condition %r must map a header name to a string" % header
        if expected.startswith(REGEX_PREFIX):
            pattern = expected[len(REGEX_PREFIX):]
            if "(?=" in pattern or "(?!" in pattern or "(?<" in pattern:
                return None, "condition %r: look-around is not portable" % header
            try:
                re.compile(pattern)
            except re.error as exc:
                return None, "condition %r: invalid regex: %s" % (header, exc)
    return value, None


def matches(conditions, headers):
    """True when every condition holds for the event ``headers`` (a dict)."""
    for header, expected in conditions.items():
        actual = headers.get(header)
        if not isinstance(actual, str):
            return False
        if expected.startswith(REGEX_PREFIX):
            if re.fullmatch(expected[len(REGEX_PREFIX):], actual) is None:
                return False
        elif actual != expected:
            return False
    return True
