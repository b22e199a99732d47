//! One outbound call: the task that owns both media legs and follows the SIP session.
//!
//! The task holds the browser's peer connection (sans-I/O `rtc`), the WebRTC UDP socket, the SIP-side
//! RTP/RTCP sockets and the bridge, so a packet crosses the gateway without a channel hop or a lock.
//! SIP signalling lives in the SIP driver's user agent; this task receives its session events.

pub mod bridge;
mod media;
mod rtcp_leg;
pub mod stun;
mod task;

use std::sync::Arc;

use gateway_sip::sdp::{AudioCodec, BrowserOffer};
use tokio::sync::mpsc;

use crate::app::App;
use crate::signaling::messages::{IceCandidate, ServerMessage};

/// What a call task tells its signaling session.
#[derive(Debug)]
pub enum CallEvent {
    /// A message for the client.
    ToClient(ServerMessage),
    /// The call is over and its task has finished.
    Finished(String),
}

/// What a session tells its call task.
#[derive(Debug)]
pub enum CallControl {
    /// A trickled candidate from the browser.
    Ice(Option<IceCandidate>),
    /// The client hangs up (or went away).
    Hangup,
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
}

/// Runs one call to its end. Never panics on peer input; every exit sends `ended` to the client
/// and `Finished` to the session.
pub async fn run(
    app: Arc<App>,
    req: CallRequest,
    to_session: mpsc::UnboundedSender<CallEvent>,
    control: mpsc::UnboundedReceiver<CallControl>,
) {
    task::run(app, req, to_session, control).await;
}
