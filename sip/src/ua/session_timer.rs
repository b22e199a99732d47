//! RFC 4028 session timers, the part the gateway uses: reading `Session-Expires` (and who
//! refreshes) from the peer's INVITE or 2xx, and the two deadlines — the refresher refreshes at
//! half the interval (§10), the other side ends the session with BYE when no refresh came by
//! `interval - min(32 s, interval / 3)` (§10).
//!
//! We do not put `timer` in our Supported header: without it Asterisk (pjsip, `timers=yes`)
//! keeps the refresher role to itself and never requires the extension of us. A peer or proxy
//! that still names a refresher explicitly (`refresher=uac|uas`) gets this behaviour; a
//! `Session-Expires` without one (Asterisk's own INVITEs) leaves the refreshing to the peer and
//! sets no deadline on our side.

use std::time::{Duration, Instant};

/// The smallest interval RFC 4028 §4 allows (Min-SE floor).
pub(crate) const MIN_INTERVAL: Duration = Duration::from_secs(90);

/// Who refreshes, as the `refresher` parameter names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refresher {
    /// The UAC of the INVITE transaction that set the timer.
    Uac,
    /// Its UAS.
    Uas,
}

/// A parsed `Session-Expires` value (RFC 4028 §4): `delta-seconds *(;param)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionExpires {
    /// The session interval.
    pub(crate) interval: Duration,
    /// The refresher, if named.
    pub(crate) refresher: Option<Refresher>,
}

impl SessionExpires {
    /// Parses a header value; intervals below [`MIN_INTERVAL`] are raised to it so that a
    /// broken peer cannot make us refresh in a loop.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split(';');
        let secs: u64 = parts.next()?.trim().parse().ok()?;
        let refresher = parts.find_map(|p| {
            let (name, v) = p.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("refresher") {
                return None;
            }
            match v.trim().to_ascii_lowercase().as_str() {
                "uac" => Some(Refresher::Uac),
                "uas" => Some(Refresher::Uas),
                _ => None,
            }
        });
        Some(Self {
            interval: Duration::from_secs(secs).max(MIN_INTERVAL),
            refresher,
        })
    }

    /// The `Session-Expires` (or compact `x`) value among `headers`.
    pub(crate) fn from_headers(headers: &rsip::Headers) -> Option<Self> {
        headers.iter().find_map(|h| match h {
            rsip::Header::Other(name, value)
                if name.eq_ignore_ascii_case("Session-Expires")
                    || name.eq_ignore_ascii_case("x") =>
            {
                Self::parse(value)
            }
            _ => None,
        })
    }
}

/// One dialog's session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionTimer {
    /// The session interval.
    pub(crate) interval: Duration,
    /// We refresh (else the peer does and we watch).
    pub(crate) we_refresh: bool,
    /// When to refresh (we refresh) or to give up on the peer (it refreshes).
    pub(crate) deadline: Instant,
}

impl SessionTimer {
    /// A timer whose session was (re)freshed at `now`.
    pub(crate) fn started(now: Instant, interval: Duration, we_refresh: bool) -> Self {
        let mut timer = Self {
            interval,
            we_refresh,
            deadline: now,
        };
        timer.refreshed(now);
        timer
    }

    /// The session was refreshed at `now` (any 2xx to a re-INVITE or UPDATE, §10).
    pub(crate) fn refreshed(&mut self, now: Instant) {
        let after = if self.we_refresh {
            self.interval / 2
        } else {
            self.interval - (self.interval / 3).min(Duration::from_secs(32))
        };
        self.deadline = now + after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4028 §4: delta-seconds with an optional refresher parameter.
    #[test]
    fn parses_session_expires() {
        assert_eq!(
            SessionExpires::parse("1800;refresher=uac"),
            Some(SessionExpires {
                interval: Duration::from_secs(1800),
                refresher: Some(Refresher::Uac)
            })
        );
        assert_eq!(
            SessionExpires::parse(" 600 ; Refresher=UAS").map(|s| s.refresher),
            Some(Some(Refresher::Uas))
        );
        assert_eq!(
            SessionExpires::parse("1800").map(|s| s.refresher),
            Some(None)
        );
        assert_eq!(
            SessionExpires::parse("30").map(|s| s.interval),
            Some(MIN_INTERVAL)
        );
        assert_eq!(SessionExpires::parse("soon"), None);
    }

    /// RFC 4028 §10: refresh at half the interval; give up at interval - min(32, interval/3).
    #[test]
    #[allow(clippy::disallowed_methods)] // any origin will do; the test never reads it again
    fn deadlines() {
        let t0 = Instant::now();
        let ours = SessionTimer::started(t0, Duration::from_secs(1800), true);
        assert_eq!(ours.deadline - t0, Duration::from_secs(900));
        let theirs = SessionTimer::started(t0, Duration::from_secs(1800), false);
        assert_eq!(theirs.deadline - t0, Duration::from_secs(1768));
        let short = SessionTimer::started(t0, Duration::from_secs(90), false);
        assert_eq!(short.deadline - t0, Duration::from_secs(60));
    }
}
