#!/usr/bin/env python3
"""Writes the seed corpora fuzz/seeds/<target>/ from the shared fixtures (real captures and RFC vectors).

The seeds are committed; run this again only when the fixtures or an input format change:

    python3 fuzz/make_seeds.py [FIXTURES_DIR]   # default: ../shared/fixtures beside the repository

Plain-text targets get the fixture files as they are. The operation-driven targets (sip_ua, rtp_bridge,
telephone_event) get the fixtures wrapped in the operation format their fuzz target documents.
"""

import hashlib
import json
import re
import struct
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
SEEDS = FUZZ / "seeds"
REPO = FUZZ.parent


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    (d / safe).write_bytes(data)


def frame16(data):
    return struct.pack(">H", min(len(data), 0xFFFF)) + data[:0xFFFF]


def frame8(data):
    return bytes([min(len(data), 0xFF)]) + data[:0xFF]


def sip_body(text):
    head, sep, body = text.partition(b"\r\n\r\n")
    return body if sep else b""


def header_values(msg, names):
    head = msg.partition(b"\r\n\r\n")[0].decode("utf-8", "replace")
    out = []
    for line in head.split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in names:
            out.append(value.strip())
    return out


def param(value, key):
    m = re.search(r";\s*" + key + r"=([^;>\s,]+)", value, re.I)
    return m.group(1) if m else None


def sip_ua_seed(flow_files):
    """One UA session replayed from a capture flow: Asterisk's messages toward the UA, re-keyed to
    placeholders, with the application's actions where the capture shows the UA's messages."""
    setup = 0
    name = flow_files[0].name
    if name.startswith(("outbound-", "invite-alice", "invite-unknown")):
        setup |= 2
    if name.startswith("register-"):
        setup |= 4
    if name.startswith("options-from-gw"):
        setup |= 8
    out = bytearray([setup])
    branches, call_ids, tags, to_tags, cseqs = set(), set(), set(), set(), set()
    first_request_seen = False
    for f in flow_files:
        m = re.match(r".*-\d\d-([a-z0-9]+)2([a-z0-9]+)-(.*)\.sip$", f.name)
        if not m:
            continue
        src, dst, what = m.groups()
        data = f.read_bytes()
        start = data.split(b"\r\n", 1)[0]
        is_response = start.startswith(b"SIP/2.0")
        if dst == "ast":
            # The UA's own message: record its identifiers, and the action that produced it.
            if not is_response:
                for v in header_values(data, {"via", "v"})[:1]:
                    b = param(v, "branch")
                    if b:
                        branches.add(b)
                if first_request_seen or setup & 2:
                    call_ids.update(header_values(data, {"call-id", "i"}))
                for v in header_values(data, {"from", "f"}):
                    t = param(v, "tag")
                    if t:
                        tags.add(t)
                for v in header_values(data, {"cseq"}):
                    cseqs.add(v.split()[0])
                first_request_seen = True
                method = start.split(b" ")[0]
                if method == b"BYE" or method == b"CANCEL":
                    out += bytes([0x16 if not setup & 2 else 0x06])
                elif method == b"INVITE" and b"hold" in f.name.encode():
                    out += bytes([0x07])
            else:
                for v in header_values(data, {"to", "t"}):
                    t = param(v, "tag")
                    if t:
                        to_tags.add(t)
                code = start.split(b" ")[1]
                if code == b"180":
                    out += bytes([0x05])
                elif code == b"200" and b"invite" in f.name.encode():
                    out += bytes([0x45])
                elif code.startswith((b"4", b"6")) and b"invite" in f.name.encode():
                    out += bytes([0xA5, int(code) - 400 if int(code) < 656 else 86])
            continue
        text = data.decode("utf-8", "replace")
        for b in branches:
            text = text.replace(b, "$branch$")
        for c in call_ids:
            text = text.replace(c, "$callid$")
        for t in to_tags:
            text = text.replace(t, "$totag$")
        for t in tags:
            text = text.replace(t, "$tag$")
        if is_response:
            text = re.sub(r"(?im)^(CSeq:\s*)(\d+)", lambda mm: mm.group(1) + ("$cseq$" if mm.group(2) in cseqs else mm.group(2)), text)
        out += bytes([0x00]) + frame16(text.encode())
        out += bytes([0x04, 0x01])  # 250 ms pass between messages
    return bytes(out)


def main():
    fixtures = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "fixtures"
    sip = fixtures / "sip"
    sdp = fixtures / "sdp"

    # sip_message: every RFC 4475 torture message and every captured Asterisk 22 message.
    for f in sorted((sip / "rfc4475").glob("*.dat")):
        write("sip_message", "rfc4475-" + f.name, f.read_bytes())
    captures = sorted((sip / "asterisk22").glob("*.sip"))
    for f in captures:
        write("sip_message", f.name, f.read_bytes())

    # sip_ua: one replayed session per captured flow.
    flows = {}
    for f in captures:
        flow = re.sub(r"-\d\d-[a-z0-9]+2[a-z0-9]+-.*$", "", f.name)
        flows.setdefault(flow, []).append(f)
    for flow, files in sorted(flows.items()):
        write("sip_ua", flow, sip_ua_seed(sorted(files)))
    for f in sorted((sip / "rfc4475").glob("*.dat")):
        write("sip_ua", "rfc4475-" + f.name, bytes([0x02, 0x00]) + frame16(f.read_bytes()))

    # SDP: browser offers, the sdp-transform parser fixtures, and the bodies of the SIP captures.
    offers = sorted((sdp / "browser-offers").iterdir()) + sorted((sdp / "sdp-transform").glob("*.sdp"))
    for f in offers:
        write("sdp_browser_offer", f.name, f.read_bytes())
        write("sip_sdp", f.name, f.read_bytes())
    seen = set()
    for f in captures:
        body = sip_body(f.read_bytes())
        digest = hashlib.sha1(body).hexdigest()
        if body.startswith(b"v=0") and digest not in seen:
            seen.add(digest)
            write("sip_sdp", f.name + ".sdp", body)
            write("sdp_browser_offer", f.name + ".sdp", body)

    # ami_frame: selector byte (0: default limits, 1: small limits) + a captured AMI stream.
    ami = fixtures / "ami"
    streams = sorted((ami / "asterisk22").glob("*.ami")) + sorted((ami / "asterisk22").glob("*.sent"))
    streams += sorted((ami / "pyfreepbx-asterisk16-pjsip").glob("*.txt")) + sorted((ami / "synthetic").glob("*.txt"))
    for f in streams:
        data = f.read_bytes()
        write("ami_frame", f.parent.name + "-" + f.name, b"\x00" + data)
        if len(data) < 4096:
            write("ami_frame", f.parent.name + "-" + f.name + ".small", b"\x01" + data)

    # stun: the RFC 5769 sample messages.
    for f in sorted((fixtures / "stun").glob("*.bin")):
        write("stun", f.name, f.read_bytes())

    # signaling_json: every JSON frame of the signaling documentation (client and server frames).
    doc = (REPO / "docs" / "signaling.md").read_text()
    for i, m in enumerate(re.finditer(r'\{"type":.*\}', doc)):
        write("signaling_json", "signaling-md-%02d.json" % i, m.group(0))

    # rtp_bridge: the RFC 3711 / RFC 7714 §16 RTP packet and §17 RTCP packet, and the RTP/RTCP
    # plaintexts of srtp-vectors.json, through the bridge in each mode.
    rtp = bytes.fromhex("8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e697320646976697361"
                        "20696e207061727465732074726573")
    rtcp = bytes.fromhex("81c8000e 4d617273 4e545031 4e545031 52545020 0000042a 0000eb98 4c756e61"
                         " deadbeef deadbeef deadbeef deadbeef deadbeef".replace(" ", ""))
    packets, controls = [rtp], [rtcp]
    vectors = json.loads((fixtures / "srtp" / "srtp-vectors.json").read_text())

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if isinstance(x, str) and "plain" in k.lower() and re.fullmatch(r"[0-9a-fA-F]+", x):
                    b = bytes.fromhex(x)
                    if len(b) >= 8 and b[0] >> 6 == 2:
                        (controls if 192 <= b[1] <= 223 else packets).append(b)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(vectors)
    packets = list(dict.fromkeys(packets))[:8]
    controls = list(dict.fromkeys(controls))[:8]
    for setup in (0x00, 0x0D, 0x1D, 0x0E):
        seq = bytearray([setup])
        for p in packets:
            seq += b"\x10" + frame16(p) + b"\x11" + frame16(p) + b"\x21" + frame16(p)
        for c in controls:
            seq += b"\x02" + frame16(c)
        seq += b"\x03" + frame8(b"1#") + b"\x04\x00\x14" * 12 + b"\x07"
        write("rtp_bridge", "setup-%02x" % setup, bytes(seq))
    for i, c in enumerate(controls):
        write("rtp_bridge", "rtcp-%d" % i, b"\x00\x02" + frame16(c))

    # telephone_event: the RFC 4733 §2.3 payload layout driven through a digit ("5", as in the
    # RFC 4733 §2.5 examples), a long event past the 16-bit duration, and generated digits.
    def te(event, end, volume, duration):
        return bytes([event, (0x80 if end else 0) | volume]) + struct.pack(">H", duration)

    seq = bytearray([0, 0, 101])
    for d in (160, 320, 480, 640):
        seq += b"\x00\x00\x00\x00" + frame8(te(5, False, 10, d))
    for _ in range(3):
        seq += b"\x00\x00\x00\x00" + frame8(te(5, True, 10, 800))
    seq += b"\x01" + struct.pack(">H", 4000)
    write("telephone_event", "rfc4733-digit-5", bytes(seq))
    seq = bytearray([0, 2, 101])
    for d in (0x8000, 0xFFFF):
        seq += b"\x00\x00\x00\x00" + frame8(te(1, False, 10, d))
    seq += b"\x00\x00\x00\xff\xff" + frame8(te(1, True, 10, 100))
    write("telephone_event", "rfc4733-long-event", bytes(seq))
    seq = bytearray([0, 0, 101]) + b"\x02" + frame8(b"123,#") + (b"\x03\x00\x14" * 40)
    write("telephone_event", "generator-digits", bytes(seq))

    # config: the example configuration and the deployment one.
    for f in [REPO / "gateway.example.toml", REPO / "deploy" / "gateway" / "gateway.toml"]:
        if f.exists():
            write("config", f.name, f.read_bytes())
    write("config", "env-override", (REPO / "gateway.example.toml").read_bytes()
          + b"\0WEBRTC_GATEWAY__SIP__LISTEN=127.0.0.1:5070\0WEBRTC_GATEWAY__LOG__LEVEL=debug")


if __name__ == "__main__":
    main()
