//! Signaling API v1: the JSON messages exchanged over `/ws` (see docs/signaling.md).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A trickled ICE candidate, in the browser's `RTCIceCandidateInit` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceCandidate {
    /// The `candidate:` attribute line (may be empty for "end of candidates" in some browsers).
    pub candidate: String,
    /// The m-line identifier.
    #[serde(rename = "sdpMid", default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// The m-line index.
    #[serde(
        rename = "sdpMLineIndex",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sdp_mline_index: Option<u16>,
    /// The ICE username fragment this candidate belongs to.
    #[serde(
        rename = "usernameFragment",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub username_fragment: Option<String>,
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallType {
    /// Audio only.
    #[default]
    Audio,
    /// Audio and video.
    Video,
}

/// Messages a client sends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Place a call; `sdp` is the browser's offer.
    Call {
        /// Client reference echoed in replies until the call has a `call_id`.
        #[serde(rename = "ref")]
        reference: String,
        /// The number or extension to dial.
        to: String,
        /// The browser's SDP offer.
        sdp: String,
        /// Audio or video.
        #[serde(default)]
        call_type: CallType,
    },
    /// A trickled candidate (`null` = end of candidates).
    Ice {
        /// The call this candidate belongs to.
        #[serde(default)]
        call_id: Option<String>,
        /// Or the client's reference before the call id is known.
        #[serde(rename = "ref", default)]
        reference: Option<String>,
        /// The candidate, or `null` for end of candidates.
        candidate: Option<IceCandidate>,
    },
    /// Answer an inbound call (the browser is still the offerer).
    Accept {
        /// The inbound call.
        call_id: String,
        /// The browser's SDP offer.
        sdp: String,
    },
    /// Decline an inbound call on this device.
    Reject {
        /// The inbound call.
        call_id: String,
        /// Busy or decline.
        #[serde(default)]
        reason: RejectReason,
    },
    /// A new offer for a call in progress (ICE restart after a network change).
    Offer {
        /// The call.
        call_id: String,
        /// The browser's new SDP offer.
        sdp: String,
    },
    /// Put the call on hold (re-INVITE with `a=sendonly`).
    Hold {
        /// The call.
        call_id: String,
    },
    /// Take the call off hold (re-INVITE with `a=sendrecv`).
    Unhold {
        /// The call.
        call_id: String,
    },
    /// Send DTMF digits (0-9 * # A-D) toward the phone.
    Dtmf {
        /// The call.
        call_id: String,
        /// The digits, played in order.
        digits: String,
    },
    /// Take over a session whose WebSocket dropped, within the resume grace period.
    Resume {
        /// The dropped session's id (from its `hello`).
        session_id: String,
    },
    /// Hang up (or cancel) a call.
    Hangup {
        /// The call to end.
        #[serde(default)]
        call_id: Option<String>,
        /// Or the client's reference before the call id is known.
        #[serde(rename = "ref", default)]
        reference: Option<String>,
    },
}

/// Why a device declines a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RejectReason {
    /// The user is busy (SIP 486).
    #[default]
    Busy,
    /// The user declines (SIP 603).
    Decline,
}

/// Registration states reported to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationStatus {
    /// Asterisk accepted the registration: calls to the user ring here.
    Registered,
    /// Registration failed; the gateway retries.
    Failed,
    /// Not registered.
    Unregistered,
}

/// Call states reported to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// The far end is alerting (SIP 180/183 without media).
    Ringing,
    /// Media flows before the answer (SIP 183 with SDP).
    EarlyMedia,
    /// Answered and media connected.
    Connected,
    /// On hold (either side).
    Held,
    /// The call is over.
    Ended,
}

/// Messages the server sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message of every session.
    Hello {
        /// The authenticated user.
        user: String,
        /// This session's id.
        session_id: String,
        /// ICE servers the client should use.
        ice_servers: Vec<Value>,
    },
    /// An inbound call ringing on this device.
    Incoming {
        /// The gateway's id for the call.
        call_id: String,
        /// The caller's number.
        from: String,
        /// The caller's display name, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        from_name: Option<String>,
        /// Audio or video.
        call_type: CallType,
        /// Where the call comes from (`sip`, or `click_to_call`).
        origin: String,
    },
    /// The user's SIP registration state.
    Registration {
        /// The state.
        state: RegistrationStatus,
        /// Why (for `failed`: what to check).
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The gateway's SDP answer to a `call` or an `accept`.
    Answer {
        /// The client's reference (`call`), absent for `accept`.
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// The gateway's id for the call.
        call_id: String,
        /// The SDP answer.
        sdp: String,
    },
    /// A gateway ICE candidate (`null` = end of candidates).
    Ice {
        /// The call.
        call_id: String,
        /// The candidate.
        candidate: Option<IceCandidate>,
    },
    /// A call state change.
    State {
        /// The call.
        call_id: String,
        /// The client's reference for the call.
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// The new state.
        state: CallState,
        /// The SIP status code behind the change, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        sip_code: Option<u16>,
        /// Why (for `ended`: normal_clearing, busy, cancelled, rtp_timeout, ...).
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Call quality per leg, with `ended`.
        #[serde(skip_serializing_if = "Option::is_none")]
        stats: Option<Value>,
    },
    /// A DTMF digit received from the phone.
    Dtmf {
        /// The call.
        call_id: String,
        /// The digit.
        digit: char,
    },
    /// Something the user should know about a call that goes on (e.g. one-way audio).
    Warning {
        /// The call.
        call_id: String,
        /// Machine-readable code (`one_way_audio`).
        code: String,
        /// Explanation.
        message: String,
    },
    /// The session was resumed on this socket; its calls go on.
    Resumed {
        /// The session's id.
        session_id: String,
        /// The calls still in progress.
        calls: Vec<String>,
    },
    /// A request could not be served.
    Error {
        /// The reference of the message in error, if it had one.
        #[serde(rename = "ref")]
        reference: Option<String>,
        /// Machine-readable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
}

/// Machine-readable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed or unknown message.
    BadRequest,
    /// The SDP offer could not be used.
    BadSdp,
    /// The offer shares no codec the gateway can bridge.
    NoCommonCodec,
    /// The number is not allowed.
    InvalidNumber,
    /// No such call.
    UnknownCall,
    /// The gateway cannot take the call now (ports, limits, shutdown).
    Unavailable,
}

/// Parses a client frame; on failure returns the error reply to send (with the `ref` if one was readable).
pub fn parse_client_message(text: &str) -> Result<ClientMessage, ServerMessage> {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(msg) => Ok(msg),
        Err(err) => {
            let reference = serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| v.get("ref").and_then(Value::as_str).map(str::to_owned));
            Err(ServerMessage::Error {
                reference,
                code: ErrorCode::BadRequest,
                message: format!("invalid message: {err}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_call() {
        let m = parse_client_message(
            r#"{"type":"call","ref":"c1","to":"600","sdp":"v=0","call_type":"audio"}"#,
        )
        .unwrap();
        assert_eq!(
            m,
            ClientMessage::Call {
                reference: "c1".into(),
                to: "600".into(),
                sdp: "v=0".into(),
                call_type: CallType::Audio
            }
        );
    }

    #[test]
    fn parses_end_of_candidates() {
        let m = parse_client_message(r#"{"type":"ice","call_id":"x","candidate":null}"#).unwrap();
        assert_eq!(
            m,
            ClientMessage::Ice {
                call_id: Some("x".into()),
                reference: None,
                candidate: None
            }
        );
    }

    #[test]
    fn garbage_gets_bad_request_with_ref() {
        let err = parse_client_message(r#"{"type":"dance","ref":"r9"}"#).unwrap_err();
        match err {
            ServerMessage::Error {
                reference, code, ..
            } => {
                assert_eq!(reference.as_deref(), Some("r9"));
                assert_eq!(code, ErrorCode::BadRequest);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse_client_message("\u{0}\u{1}not json").is_err());
    }

    #[test]
    fn state_serializes_without_empty_fields() {
        let s = serde_json::to_string(&ServerMessage::State {
            call_id: "k".into(),
            reference: None,
            state: CallState::EarlyMedia,
            sip_code: Some(183),
            reason: None,
            stats: None,
        })
        .unwrap();
        assert_eq!(
            s,
            r#"{"type":"state","call_id":"k","state":"early_media","sip_code":183}"#
        );
    }
}
