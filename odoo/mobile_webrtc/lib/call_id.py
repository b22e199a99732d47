# Part of mobile_webrtc. License LGPL-3.
"""Strict parsing of the seed API's ``call-<session id>`` strings."""
import re

# ASCII digits only (``\d`` would accept other scripts' digits), no sign, no
# leading zero, at most 10 digits; the value must also fit PostgreSQL's int4.
_CALL_ID_RE = re.compile(r"call-([1-9][0-9]{0,9})", re.ASCII)
_MAX_ID = 2**31 - 1


def format_call_id(session_id):
    """Return the ``call-<id>`` string of a ``webrtc.session`` id."""
    return "call-%d" % session_id


def parse_call_id(value):
    """Return the session id in ``call-<id>``, or ``None`` for anything else.

    Never raises: ``None``, non-strings, ``call-``, ``call-abc``, ``call-01``,
    ``call-1; drop`` and out-of-range ids all give ``None``.
    """
    if not isinstance(value, str):
        return None
    match = _CALL_ID_RE.fullmatch(value)
    if not match:
        return None
    session_id = int(match.group(1))
    if session_id > _MAX_ID:
        return None
    return session_id
