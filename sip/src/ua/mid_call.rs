//! What a confirmed dialog keeps for mid-call changes, whichever side opened it: the SDPs each
//! side last sent, our wish for the media direction, our video line, our re-INVITE in flight
//! (or waiting out a §14.1 glare delay), our 2xx to the peer's re-INVITE until its ACK
//! (§13.3.1.4), the RFC 4028 timer; and the `application/dtmf-relay` body of SIP INFO.

use std::time::{Duration, Instant};

use rsip::{Request, Response};

use super::sdp_answer::Wish;
use super::session_timer::SessionTimer;
use crate::sdp::{AudioCodec, SipSdp, VideoCodec, VideoLine};

/// Why we send a re-INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The application asked ([`super::UserAgent::reinvite`]): its outcome is reported.
    App,
    /// A session refresh (RFC 4028 §7.4): only a lost dialog is news.
    Refresh,
}

/// Where our re-INVITE stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OfferState {
    /// Sent with this CSeq number; waiting for the final response.
    InFlight(u32),
    /// Refused with 491 (glare): sent again at this time (§14.1).
    RetryAt(Instant),
}

/// Our re-INVITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OurOffer {
    /// The SDP it offers.
    pub(crate) sdp: String,
    /// Why we send it.
    pub(crate) purpose: Purpose,
    /// Where it stands.
    pub(crate) state: OfferState,
}

/// Our 2xx to the peer's re-INVITE, retransmitted until the ACK (§13.3.1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answering {
    /// The re-INVITE's CSeq number, which its ACK repeats.
    pub(crate) cseq: u32,
    /// The 2xx, sent again unchanged.
    pub(crate) ok: Response,
    /// Next retransmission interval: T1 doubling up to T2.
    pub(crate) interval: Duration,
    /// When to retransmit next (`None` over a reliable transport).
    pub(crate) resend_at: Option<Instant>,
    /// No ACK by then ends the session with BYE.
    pub(crate) give_up_at: Instant,
    /// The re-INVITE had no SDP: our 2xx is the offer and the ACK carries the answer.
    pub(crate) late_offer: bool,
}

/// The mid-call state of a confirmed dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MidCall {
    /// The SDP we last sent (offer or answer).
    pub(crate) local: Option<String>,
    /// The last video line with a port in an SDP the application gave (offer or answer):
    /// our video port and formats, kept when a later SDP of ours rejects video (port 0), so
    /// video the peer removes and adds again is answered on the same port (RFC 3264 §8.4).
    /// `None` for an audio-only call.
    pub(crate) video: Option<VideoLine>,
    /// The SDP the peer last sent.
    pub(crate) remote: Option<String>,
    /// The direction the application last offered.
    pub(crate) wish: Wish,
    /// The peer's Allow lists UPDATE (RFC 3311): session refreshes use it.
    pub(crate) peer_allows_update: bool,
    /// Our re-INVITE, if any.
    pub(crate) ours: Option<OurOffer>,
    /// An SDP the application asked to offer while ours was in flight.
    pub(crate) queued: Option<String>,
    /// Our 2xx to the peer's re-INVITE, until its ACK.
    pub(crate) answering: Option<Answering>,
    /// The RFC 4028 timer, when the peer asked for one.
    pub(crate) timer: Option<SessionTimer>,
    /// The ACK we sent for our last re-INVITE's 2xx, with that CSeq number: sent again when the
    /// 2xx is (§13.2.2.4).
    pub(crate) last_ack: Option<(u32, Request)>,
}

impl MidCall {
    /// The state of a dialog just confirmed with these SDPs.
    pub(crate) fn new(local: Option<String>, remote: Option<String>, wish: Wish) -> Self {
        Self {
            video: local.as_deref().and_then(active_video),
            local,
            remote,
            wish,
            peer_allows_update: false,
            ours: None,
            queued: None,
            answering: None,
            timer: None,
            last_ack: None,
        }
    }

    /// The codec in use: the first in the peer's SDP that ours also lists.
    pub(crate) fn current_codec(&self) -> Option<AudioCodec> {
        let codecs = |sdp: &Option<String>| -> Vec<AudioCodec> {
            sdp.as_deref()
                .and_then(|s| SipSdp::parse(s).ok())
                .and_then(|s| s.audio)
                .map(|a| a.codecs.iter().filter_map(|c| c.audio_codec()).collect())
                .unwrap_or_default()
        };
        let ours = codecs(&self.local);
        codecs(&self.remote).into_iter().find(|c| ours.contains(c))
    }

    /// Records `sdp`, given by the application, as the SDP we last sent; its video line, when
    /// it has a port, becomes our video line.
    pub(crate) fn set_app_local(&mut self, sdp: String) {
        if let Some(video) = active_video(&sdp) {
            self.video = Some(video);
        }
        self.local = Some(sdp);
    }

    /// The peer answered our offer with `answer`: a video call's codec is now fixed (the gateway
    /// relays video without transcoding, and the browser's leg keeps its codec), so our video line
    /// keeps only the format the answer chose (its first that we offered), and a later re-offer
    /// from the peer without that codec is answered with video rejected. `initial`: the answer
    /// that set up the call; one that declines video leaves the call without video for good.
    pub(crate) fn settle_video(&mut self, answer: Option<&str>, initial: bool) {
        let Some(ours) = self.video.as_mut() else {
            return;
        };
        let theirs = answer.and_then(active_video);
        let Some(theirs) = theirs else {
            if initial {
                self.video = None;
            }
            return;
        };
        let chosen = theirs.video_codecs().into_iter().find_map(|(c, _)| {
            ours.formats
                .iter()
                .find(|f| f.video_codec() == Some(c))
                .cloned()
        });
        match chosen {
            Some(format) => ours.formats = vec![format],
            None if initial => self.video = None,
            None => {}
        }
    }

    /// The video codec in use: the first of the peer's active video line that our last SDP's
    /// active video line also lists.
    pub(crate) fn current_video_codec(&self) -> Option<VideoCodec> {
        let codecs = |sdp: &Option<String>| -> Vec<VideoCodec> {
            sdp.as_deref()
                .and_then(active_video)
                .map(|v| v.video_codecs().into_iter().map(|(c, _)| c).collect())
                .unwrap_or_default()
        };
        let ours = codecs(&self.local);
        codecs(&self.remote).into_iter().find(|c| ours.contains(c))
    }

    /// Whether `sdp` from the peer changes what it last sent (RFC 3264 §8: a new version or
    /// new content).
    pub(crate) fn remote_changed(&self, sdp: &str) -> bool {
        let Some(previous) = &self.remote else {
            return true;
        };
        match (SipSdp::parse(previous), SipSdp::parse(sdp)) {
            (Ok(a), Ok(b)) => a != b,
            _ => previous != sdp,
        }
    }

    /// Forgets everything that would still act: the dialog is ending.
    pub(crate) fn clear_deadlines(&mut self) {
        self.ours = None;
        self.queued = None;
        self.answering = None;
        self.timer = None;
    }

    /// The earliest time this state must act.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let retry = match &self.ours {
            Some(OurOffer {
                state: OfferState::RetryAt(t),
                ..
            }) => Some(*t),
            _ => None,
        };
        let answering = self
            .answering
            .as_ref()
            .map(|a| a.resend_at.map_or(a.give_up_at, |r| r.min(a.give_up_at)));
        let timer = self.timer.map(|t| t.deadline);
        [retry, answering, timer].into_iter().flatten().min()
    }
}

/// The video line of `sdp` if it has a port (not rejected or removed).
fn active_video(sdp: &str) -> Option<VideoLine> {
    SipSdp::parse(sdp)
        .ok()
        .and_then(|s| s.video)
        .filter(VideoLine::is_active)
}

/// The body of an `application/dtmf-relay` INFO for `digit` (0-9, *, #, A-D), or `None` for
/// any other character.
pub(crate) fn dtmf_relay_body(digit: char, duration_ms: u32) -> Option<String> {
    let digit = digit.to_ascii_uppercase();
    "0123456789*#ABCD"
        .contains(digit)
        .then(|| format!("Signal={digit}\r\nDuration={duration_ms}\r\n"))
}

/// The digit and duration of an `application/dtmf-relay` body (`Signal=5`, `Duration=160`);
/// `Signal=10`/`11` are `*`/`#` as some phones send them. Also reads a bare `application/dtmf`
/// digit.
pub(crate) fn parse_dtmf_relay(body: &str) -> Option<(char, Option<u32>)> {
    let mut digit = None;
    let mut duration = None;
    for line in body.lines() {
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "signal" => digit = signal(value),
            "duration" => duration = value.parse().ok(),
            _ => {}
        }
    }
    if digit.is_none() && !body.contains('=') {
        digit = signal(body.trim());
    }
    digit.map(|d| (d, duration))
}

fn signal(value: &str) -> Option<char> {
    match value {
        "10" => Some('*'),
        "11" => Some('#'),
        v => {
            let mut chars = v.chars();
            let c = chars.next()?.to_ascii_uppercase();
            (chars.next().is_none() && "0123456789*#ABCD".contains(c)).then_some(c)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The legacy SIP INFO DTMF body Asterisk and most phones use (`application/dtmf-relay`).
    #[test]
    fn dtmf_relay_bodies() {
        assert_eq!(
            dtmf_relay_body('5', 160).as_deref(),
            Some("Signal=5\r\nDuration=160\r\n")
        );
        assert_eq!(
            dtmf_relay_body('a', 100).as_deref(),
            Some("Signal=A\r\nDuration=100\r\n")
        );
        assert_eq!(dtmf_relay_body('x', 100), None);
        assert_eq!(
            parse_dtmf_relay("Signal=5\r\nDuration=160\r\n"),
            Some(('5', Some(160)))
        );
        assert_eq!(
            parse_dtmf_relay("Signal= #\nDuration=250"),
            Some(('#', Some(250)))
        );
        assert_eq!(parse_dtmf_relay("Signal=10\r\n"), Some(('*', None)));
        assert_eq!(parse_dtmf_relay("7\r\n"), Some(('7', None)));
        assert_eq!(parse_dtmf_relay("Signal=55\r\nDuration=1"), None);
        assert_eq!(parse_dtmf_relay(""), None);
    }

    /// The codec in use is the peer's first one that our SDP lists (RFC 3264 §6.1).
    #[test]
    fn current_codec_from_both_sdps() {
        let ours = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
            m=audio 6000 RTP/AVP 107 8 0\r\na=rtpmap:107 opus/48000/2\r\n";
        let theirs = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
            m=audio 20000 RTP/AVP 0 8 9 107\r\na=rtpmap:107 opus/48000/2\r\n";
        let mid = MidCall::new(Some(ours.into()), Some(theirs.into()), Wish::BOTH);
        assert_eq!(mid.current_codec(), Some(AudioCodec::Pcmu));
        assert!(!mid.remote_changed(theirs));
        assert!(mid.remote_changed(&theirs.replace("20000", "20002")));
    }

    /// RFC 3264 §8.4: our video line is the last active one the application gave; an SDP of
    /// ours with video at port 0 (or none) does not forget it. The codec in use is the peer's
    /// first that our last SDP lists.
    #[test]
    fn video_line_is_remembered() {
        let head = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
            m=audio 6000 RTP/AVP 0\r\n";
        let video = "m=video 6002 RTP/AVP 100 99\r\na=rtpmap:100 VP8/90000\r\n\
            a=rtpmap:99 H264/90000\r\na=fmtp:99 packetization-mode=1;profile-level-id=42e01f\r\n";
        let ours = format!("{head}{video}");
        let theirs = format!(
            "{head}{}",
            video.replace("6002 RTP/AVP 100 99", "20078 RTP/AVP 99")
        );
        let mut mid = MidCall::new(Some(ours.clone()), Some(theirs), Wish::BOTH);
        assert_eq!(mid.video.as_ref().map(|v| v.port), Some(6002));
        assert_eq!(mid.current_video_codec(), Some(VideoCodec::H264));

        mid.set_app_local(ours.replace("m=video 6002", "m=video 0"));
        assert_eq!(mid.video.as_ref().map(|v| v.port), Some(6002));
        assert_eq!(mid.current_video_codec(), None);
        mid.set_app_local(head.to_owned());
        assert_eq!(mid.video.as_ref().map(|v| v.port), Some(6002));
        mid.set_app_local(ours.replace("m=video 6002", "m=video 6010"));
        assert_eq!(mid.video.as_ref().map(|v| v.port), Some(6010));

        let audio_only = MidCall::new(Some(head.to_owned()), None, Wish::BOTH);
        assert_eq!(audio_only.video, None);
    }

    /// The answer to our offer fixes the video codec: our line keeps the format it chose
    /// (H.264 here, at our payload type); an initial answer declining video leaves the call
    /// without video; a later answer declining it keeps the line (video may come back).
    #[test]
    fn answer_settles_the_video_codec() {
        let head = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
            m=audio 6000 RTP/AVP 0\r\n";
        let video = "m=video 6002 RTP/AVP 100 99\r\na=rtpmap:100 VP8/90000\r\n\
            a=rtpmap:99 H264/90000\r\na=fmtp:99 packetization-mode=1;profile-level-id=42e01f\r\n";
        let ours = format!("{head}{video}");
        let h264 = format!(
            "{head}m=video 20078 RTP/AVP 126\r\na=rtpmap:126 H264/90000\r\n\
             a=fmtp:126 packetization-mode=1;profile-level-id=42e01f\r\n"
        );
        let mut mid = MidCall::new(Some(ours.clone()), None, Wish::BOTH);
        mid.settle_video(Some(&h264), true);
        let line = mid.video.clone().unwrap();
        assert_eq!(
            line.formats.iter().map(|f| f.pt).collect::<Vec<_>>(),
            vec![99],
            "{line:?}"
        );
        // A re-INVITE answer declining video keeps it; one choosing nothing we have, too.
        let declined = format!("{head}m=video 0 RTP/AVP 99\r\n");
        mid.settle_video(Some(&declined), false);
        assert_eq!(mid.video.as_ref(), Some(&line));

        let mut rejected = MidCall::new(Some(ours.clone()), None, Wish::BOTH);
        rejected.settle_video(Some(&declined), true);
        assert_eq!(rejected.video, None);
        let mut no_sdp = MidCall::new(Some(ours), None, Wish::BOTH);
        no_sdp.settle_video(None, true);
        assert_eq!(no_sdp.video, None);
    }
}
