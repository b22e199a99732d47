//! One outbound call: the task that owns both media legs and follows the SIP session.
//!
//! The task holds the browser's peer connection (sans-I/O `rtc`), the WebRTC UDP socket, the SIP-side
//! RTP/RTCP sockets and the bridge, so a packet crosses the gateway without a channel hop or a lock.
//! SIP signalling lives in the SIP driver's user agent; this task receives its session events.

pub mod bridge;
mod features;
pub mod inbound;
mod media;
mod outbound;
mod ringing;
mod rtcp_leg;
mod sip_peer;
pub mod stun;
mod video;

use std::sync::Arc;

use gateway_sip::sdp::{AudioCodec, BrowserOffer};
use tokio::sync::mpsc;

use crate::app::App;
use crate::signaling::messages::{CallState, IceCandidate, RejectReason, ServerMessage};

/// `limits.max_sdp_line` for an SDP from either side: why it is refused, if a line is longer.
pub(crate) fn check_sdp_lines(sdp: &str, max: usize) -> Result<(), String> {
    if sdp.lines().any(|l| l.len() > max) {
        return Err(format!(
            "an SDP line is longer than {max} bytes (limits.max_sdp_line)"
        ));
    }
    Ok(())
}

/// What a call task tells its signaling session.
#[derive(Debug)]
pub enum CallEvent {
    /// A message for the client.
    ToClient(ServerMessage),
    /// The call is over and its task has finished.
    Finished(String),
}

/// What a session tells a call task.
#[derive(Debug)]
pub enum CallControl {
    /// A trickled candidate from the browser.
    Ice(Option<IceCandidate>),
    /// A client hangs up (a ringing device that hangs up declines).
    Hangup {
        /// The session that hung up.
        session_id: String,
    },
    /// A device accepts an inbound call with its offer.
    Accept {
        /// The accepting session.
        session_id: String,
        /// The browser's SDP offer.
        sdp: String,
    },
    /// A device declines an inbound call.
    Reject {
        /// The declining session.
        session_id: String,
        /// Busy or decline.
        reason: RejectReason,
    },
    /// The session went away.
    DeviceGone(String),
    /// A new offer from the answering device (ICE restart).
    Offer {
        /// The session sending it.
        session_id: String,
        /// The browser's SDP offer.
        sdp: String,
    },
    /// Put the call on hold.
    Hold,
    /// Take the call off hold.
    Unhold,
    /// Send DTMF digits toward the phone.
    Dtmf(String),
}

/// Everything needed to start a call.
pub struct CallRequest {
    /// The gateway's call id.
    pub call_id: String,
    /// The client's reference.
    pub reference: String,
    /// The authenticated user placing the call.
    pub user: String,
    /// The dialled number.
    pub number: String,
    /// The browser's offer, as received.
    pub offer_sdp: String,
    /// The parsed offer.
    pub offer: BrowserOffer,
    /// Codecs to offer toward SIP, in order.
    pub sip_codecs: Vec<AudioCodec>,
    /// `call_type: "video"`: the client asked for video.
    pub video: bool,
}

/// Runs one call to its end. Never panics on peer input; every exit sends `ended` to the client
/// and `Finished` to the session.
pub async fn run(
    app: Arc<App>,
    req: CallRequest,
    to_session: mpsc::UnboundedSender<CallEvent>,
    control: mpsc::UnboundedReceiver<CallControl>,
) {
    outbound::run(app, req, to_session, control).await;
}

/// The `warning` that a video call goes on with audio only, and why (`no_video`, issue 10).
pub(crate) fn no_video_warning(call_id: &str, why: gateway_sip::sdp::NoVideo) -> ServerMessage {
    use gateway_sip::sdp::NoVideo;
    let why = match why {
        NoVideo::NotOffered => {
            "the offer has no video this gateway can relay (VP8, or H.264 packetization-mode 1 Constrained Baseline)"
        }
        NoVideo::NoCommonCodec => {
            "no video codec in common with the phone side (video is never transcoded)"
        }
        NoVideo::Rejected => "the phone side declined video",
        NoVideo::Unusable => "the phone side's video line is unusable",
    };
    ServerMessage::Warning {
        call_id: call_id.to_owned(),
        code: "no_video".to_owned(),
        message: format!("{why}; the call goes on with audio only"),
    }
}

/// The `ended` state message.
pub(crate) fn ended_message(
    call_id: &str,
    reference: Option<&str>,
    sip_code: Option<u16>,
    reason: &str,
) -> ServerMessage {
    ServerMessage::State {
        call_id: call_id.to_owned(),
        reference: reference.map(str::to_owned),
        state: CallState::Ended,
        sip_code,
        reason: Some(reason.to_owned()),
        stats: None,
    }
}
