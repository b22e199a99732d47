//! The tracing subscriber of the binary, and what it never lets through: a secret that a
//! dependency's event carries (STYLE §4, "Never log a secret"; tests/secrets_in_logs.rs).
//!
//! The workspace's own code logs no secret. Two dependencies do, at levels an operator may well
//! ask for: tungstenite dumps every WebSocket frame at `trace` (the SDP with `a=ice-pwd`, the
//! TURN credentials of `hello`), as text and in hex; rtc-ice logs the browser's ICE password at
//! `debug` ("Started agent: ... remotePwd: ..."). The first are dropped, since hex cannot be
//! masked; every written line is masked, whatever produced it.

use std::borrow::Cow;
use std::io::{self, Write};

use gateway_config::{Config, LogFormat};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Known-benign warnings that would otherwise be logged once per call: rtc-dtls 0.21 asks for a
/// TLS server name when the gateway is the DTLS client, but WebRTC authenticates the peer by the
/// SDP fingerprint, not by name (6000 such lines in a 10-minute soak). `RUST_LOG` still shows them.
const QUIET: &str = "rtc_dtls::config=error";

/// Installs the global subscriber: `RUST_LOG` or `log.level`, in `log.format`, to stderr.
pub(crate) fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| {
            tracing_subscriber::EnvFilter::try_new(format!("{},{QUIET}", config.log.level))
        })
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("info,{QUIET}")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(RedactingStderr);
    // Outside the EnvFilter, so that no `log.level` or RUST_LOG directive can turn it off.
    let no_payloads =
        tracing_subscriber::filter::filter_fn(|meta| !dumps_payload(meta.target(), meta.level()));
    match config.log.format {
        LogFormat::Json => builder.json().finish().with(no_payloads).init(),
        LogFormat::Text => builder.finish().with(no_payloads).init(),
    }
}

/// Dependencies whose `trace` events print the bytes they carry.
const PAYLOAD_DUMPING_TARGETS: [&str; 1] = ["tungstenite"];

/// Whether an event is dropped whatever the filter says, because it may carry a secret.
fn dumps_payload(target: &str, level: &tracing::Level) -> bool {
    *level == tracing::Level::TRACE
        && PAYLOAD_DUMPING_TARGETS.iter().any(|dumper| {
            target
                .strip_prefix(dumper)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
}

/// What replaces a masked value (as `Secret`'s Debug).
const MASK: &str = "[redacted]";

/// Where a secret starts (matched ignoring ASCII case; spaces after it are kept), and how far
/// it goes.
const MARKERS: [(&str, Extent); 4] = [
    // `a=ice-pwd:` (RFC 8839 section 5.4), rtc-ice's `remotePwd: `, `ice_pwd=` fields.
    ("pwd:", Extent::IceChars),
    ("pwd=", Extent::IceChars),
    // SIP and HTTP credentials; also `Proxy-Authorization:`.
    ("authorization:", Extent::Line),
    // SDES keys (RFC 4568): never offered by the gateway, masked should a peer send them.
    ("a=crypto:", Extent::Line),
];

/// How far a masked value goes.
#[derive(Debug, Clone, Copy)]
enum Extent {
    /// Ice-chars (RFC 8839: ALPHA / DIGIT / "+" / "/").
    IceChars,
    /// To the end of the line, raw (CR, LF) or escaped in a Debug or JSON string (`\r`, `\n`).
    Line,
}

/// `text` with the value after every marker replaced by `[redacted]`; borrowed when nothing is.
pub(crate) fn redact(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    // Everything before `copied` is already in `out` (or masked).
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let Some((marker, extent)) = MARKERS
            .iter()
            .find(|(marker, _)| starts_with_ignore_case(&bytes[at..], marker))
        else {
            at += 1;
            continue;
        };
        let after = at + marker.len();
        let start = after + bytes[after..].iter().take_while(|&&b| b == b' ').count();
        let end = start + value_len(&bytes[start..], *extent);
        if end > start {
            out.push_str(&text[copied..start]);
            out.push_str(MASK);
            copied = end;
        }
        at = end.max(start);
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

fn starts_with_ignore_case(bytes: &[u8], marker: &str) -> bool {
    bytes.len() >= marker.len() && bytes[..marker.len()].eq_ignore_ascii_case(marker.as_bytes())
}

/// The length of the value at the start of `rest` (it ends before an ASCII byte or at the end, so
/// on a char boundary).
fn value_len(rest: &[u8], extent: Extent) -> usize {
    match extent {
        Extent::IceChars => rest
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
            .count(),
        Extent::Line => {
            let mut len = 0;
            while len < rest.len() {
                match (rest[len], rest.get(len + 1)) {
                    (b'\r' | b'\n', _) | (b'\\', Some(b'r' | b'n')) => break,
                    _ => len += 1,
                }
            }
            len
        }
    }
}

/// Stderr, with every event masked by [`redact`] on its way out.
struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = Redacting<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        Redacting(io::stderr())
    }
}

/// A writer that masks each buffer it is given. tracing-subscriber's fmt layer formats an event
/// into one buffer and writes it with one `write_all`, so a marker and its value arrive together.
struct Redacting<W>(W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => self.0.write_all(redact(text).as_bytes())?,
            Err(_) => self
                .0
                .write_all(redact(&String::from_utf8_lossy(buf)).as_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use tracing::Level;

    use super::{Redacting, dumps_payload, redact};

    #[test]
    fn only_tungstenite_trace_is_dropped() {
        assert!(dumps_payload("tungstenite", &Level::TRACE));
        assert!(dumps_payload("tungstenite::protocol::frame", &Level::TRACE));
        assert!(!dumps_payload("tungstenite::protocol", &Level::DEBUG));
        assert!(!dumps_payload("tokio_tungstenite", &Level::TRACE));
        assert!(!dumps_payload("tungstenite_like", &Level::TRACE));
        assert!(!dumps_payload("gateway::sip_driver", &Level::TRACE));
    }

    #[test]
    fn ice_passwords_are_masked_in_sdp_and_in_rtc_ice_lines() {
        assert_eq!(
            redact(
                "a=ice-ufrag:nW9L\r\na=ice-pwd:Ui6j0Ja5qhXbgOAQe6/krLyI\r\na=ice-options:trickle"
            ),
            "a=ice-ufrag:nW9L\r\na=ice-pwd:[redacted]\r\na=ice-options:trickle"
        );
        // Inside a Debug-escaped or JSON string, the line end is `\r\n` escaped.
        assert_eq!(
            redact(r#"sdp="a=ice-pwd:Ui6j+0Ja5/q\r\na=mid:0""#),
            r#"sdp="a=ice-pwd:[redacted]\r\na=mid:0""#
        );
        assert_eq!(
            redact(
                "DEBUG rtc_ice::agent: Started agent: isControlling? false, remoteUfrag: 8BRU, remotePwd: 4I3wcoOIF8EgkfwRmRVP2B31\n"
            ),
            "DEBUG rtc_ice::agent: Started agent: isControlling? false, remoteUfrag: 8BRU, remotePwd: [redacted]\n"
        );
        assert_eq!(redact("ice_pwd=abc123 next=1"), "ice_pwd=[redacted] next=1");
    }

    #[test]
    fn credentials_and_sdes_keys_are_masked_to_the_end_of_their_line() {
        assert_eq!(
            redact(
                "INVITE sip:600@h SIP/2.0\r\nAuthorization: Digest username=\"gateway\", response=\"0123abcd\"\r\nVia: x\r\n"
            ),
            "INVITE sip:600@h SIP/2.0\r\nAuthorization: [redacted]\r\nVia: x\r\n"
        );
        assert_eq!(
            redact("proxy-authorization: Digest response=\"ff\""),
            "proxy-authorization: [redacted]"
        );
        assert_eq!(
            redact("headers: authorization: Bearer api-key-0123456789abcdef\n"),
            "headers: authorization: [redacted]\n"
        );
        assert_eq!(
            redact(
                r"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\na=mid:0"
            ),
            r"a=crypto:[redacted]\r\na=mid:0"
        );
    }

    #[test]
    fn text_without_secrets_is_borrowed_unchanged() {
        for text in [
            "",
            "INFO gateway::call::outbound: call started call_id=50cb number=600",
            "WWW-Authenticate: Digest realm=\"asterisk\"",
            "a=ice-pwd:",
            "pwd: ",
            "ends with a=crypto:",
            "naïve UTF-8 — authorization",
        ] {
            assert!(
                matches!(redact(text), std::borrow::Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_writer_masks_what_it_writes_and_claims_the_whole_buffer() {
        let mut out = Redacting(Vec::new());
        let event = "TRACE x: a=ice-pwd:secretpwd1234\n";
        assert_eq!(out.write(event.as_bytes()).ok(), Some(event.len()));
        assert_eq!(
            String::from_utf8(out.0).ok().as_deref(),
            Some("TRACE x: a=ice-pwd:[redacted]\n")
        );
    }
}
