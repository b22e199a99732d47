//! The real Asterisk 22 transcripts the test server replays (embedded from `tests/data/`).

use crate::decoder::Decoder;
use crate::frame::Frame;
use crate::message::Message;

macro_rules! capture {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/", $path))
    };
}

/// A captured event sequence the server can replay to event-enabled sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// asterisk22/07: Originate answered by the gateway, `OriginateResponse` Success (Reason 4), Hangup, Cdr.
    OriginateAnswered,
    /// asterisk22/08: Originate to an unregistered endpoint: `OriginateResponse` Failure, Reason 0.
    OriginateFailed,
    /// asterisk22/09: no answer in time: `OriginateResponse` Failure, Reason 3, Hangup cause 19.
    OriginateNoAnswer,
    /// asterisk22/10: 486 Busy: `OriginateResponse` Failure, Reason 0, before DialEnd BUSY.
    OriginateBusy,
    /// asterisk22/11: an inbound call to 600 (Echo): Newchannel ... Cdr, Hangup.
    CallTo600,
    /// asterisk22/13: DTMF 1234 during a call to 604.
    DtmfCallTo604,
}

impl Capture {
    fn bytes(self) -> &'static [u8] {
        match self {
            Self::OriginateAnswered => capture!("asterisk22/07-originate-success-gateway.ami"),
            Self::OriginateFailed => {
                capture!("asterisk22/08-originate-failure-unregistered-endpoint.ami")
            }
            Self::OriginateNoAnswer => {
                capture!("asterisk22/09-originate-failure-no-answer-timeout.ami")
            }
            Self::OriginateBusy => capture!("asterisk22/10-originate-failure-busy-486.ami"),
            Self::CallTo600 => capture!("asterisk22/11-events-call-to-600.ami"),
            Self::DtmfCallTo604 => capture!("asterisk22/13-events-dtmf-call-to-604.ami"),
        }
    }

    /// The call's events: every event after login (and after the Originate's queued response), in order.
    pub fn events(self) -> Vec<Message> {
        messages(self.bytes())
            .into_iter()
            .skip_while(|m| m.event().is_none())
            .filter(|m| {
                m.event()
                    .is_some_and(|e| e != "FullyBooted" && e != "SuccessfulAuth")
            })
            .collect()
    }
}

/// Every message of a capture, in order.
pub(crate) fn messages(bytes: &[u8]) -> Vec<Message> {
    let mut d = Decoder::default();
    d.feed(bytes);
    std::iter::from_fn(|| d.next_frame())
        .filter_map(|f| match f {
            Ok(Frame::Message(m)) => Some(m),
            _ => None,
        })
        .collect()
}

/// `FullyBooted` and `SuccessfulAuth`, sent after a login with events on (asterisk22/07).
pub(crate) fn login_events() -> Vec<Message> {
    messages(capture!("asterisk22/07-originate-success-gateway.ami"))
        .into_iter()
        .filter(|m| m.event().is_some())
        .take(2)
        .collect()
}

/// The two `CoreShowChannel` events of an active call (asterisk22/06).
pub(crate) fn active_call_channels() -> Vec<Message> {
    messages(capture!("asterisk22/06-coreshowchannels-active-call.ami"))
        .into_iter()
        .filter(|m| m.event() == Some("CoreShowChannel"))
        .collect()
}

/// `Event: Shutdown` (asterisk22/12).
pub(crate) fn shutdown_event() -> Message {
    let all = messages(capture!("asterisk22/12-shutdown-graceful-events-on.ami"));
    all.into_iter()
        .rfind(|m| m.event() == Some("Shutdown"))
        .unwrap_or_default()
}

/// Captured `Output:` lines of known CLI commands (asterisk22/04, 04b).
pub(crate) fn command_outputs() -> Vec<(String, Vec<String>)> {
    [
        (
            "core show version",
            &capture!("asterisk22/04-command-core-show-version.ami")[..],
        ),
        (
            "pjsip show endpoints",
            &capture!("asterisk22/04b-command-multiline-pjsip-show-endpoints.ami")[..],
        ),
    ]
    .into_iter()
    .map(|(cmd, bytes)| {
        let lines = messages(bytes)
            .into_iter()
            .find(|m| m.get("Output").is_some())
            .map(|m| m.output_lines());
        (cmd.to_owned(), lines.unwrap_or_default())
    })
    .collect()
}

/// The legacy `core show channels` body (panoramisk rasterisk_command.yaml, Asterisk 1.8-13).
pub(crate) fn legacy_core_show_channels() -> Vec<String> {
    messages(capture!("panoramisk-fixtures/rasterisk_command.yaml"))
        .into_iter()
        .find(|m| m.is_follows())
        .map(|m| m.output_lines())
        .unwrap_or_default()
}
