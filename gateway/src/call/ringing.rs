//! Ringing every device of a user: the first `accept` wins, the others stop ringing; when every
//! device has declined or gone, the call is refused toward Asterisk. Sans-I/O: decisions only.

use std::collections::BTreeSet;

use crate::signaling::messages::RejectReason;

/// What the call task must do after a device's move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RingAction {
    /// Tell this device the call is over for it, with this reason.
    StopRinging {
        /// The device's session.
        session_id: String,
        /// `answered_elsewhere`, `rejected`...
        reason: &'static str,
    },
    /// Refuse the call toward Asterisk with this final response.
    Refuse {
        /// SIP status code (486, 603, 480).
        code: u16,
        /// Reason reported in `ended`.
        reason: &'static str,
    },
    /// Hang up the answered call (its device hung up or left).
    Hangup,
}

/// The ringing state of one inbound call.
#[derive(Debug, Default)]
pub(crate) struct Ringer {
    ringing: BTreeSet<String>,
    answered_by: Option<String>,
    last_reject: Option<RejectReason>,
}

impl Ringer {
    /// Starts ringing these devices.
    pub(crate) fn new(devices: impl IntoIterator<Item = String>) -> Self {
        Self {
            ringing: devices.into_iter().collect(),
            ..Self::default()
        }
    }

    /// The device that answered, if any.
    pub(crate) fn answered_by(&self) -> Option<&str> {
        self.answered_by.as_deref()
    }

    /// Whether this device may still accept.
    pub(crate) fn may_accept(&self, session_id: &str) -> bool {
        self.answered_by.is_none() && self.ringing.contains(session_id)
    }

    /// `session_id` accepted (the caller checked [`Self::may_accept`] and that its offer is usable):
    /// every other device stops ringing.
    pub(crate) fn accept(&mut self, session_id: &str) -> Vec<RingAction> {
        if !self.may_accept(session_id) {
            return Vec::new();
        }
        self.ringing.remove(session_id);
        self.answered_by = Some(session_id.to_owned());
        std::mem::take(&mut self.ringing)
            .into_iter()
            .map(|s| RingAction::StopRinging {
                session_id: s,
                reason: "answered_elsewhere",
            })
            .collect()
    }

    /// `session_id` declined: it stops ringing; the call is refused once nobody rings.
    pub(crate) fn reject(&mut self, session_id: &str, reason: RejectReason) -> Vec<RingAction> {
        if self.answered_by.is_some() || !self.ringing.contains(session_id) {
            return Vec::new();
        }
        self.last_reject = Some(reason);
        self.stop(session_id)
    }

    /// `session_id` hung up or went away.
    pub(crate) fn leave(&mut self, session_id: &str) -> Vec<RingAction> {
        if self.answered_by.as_deref() == Some(session_id) {
            return vec![RingAction::Hangup];
        }
        if self.answered_by.is_none() && self.ringing.contains(session_id) {
            return self.stop(session_id);
        }
        Vec::new()
    }

    fn stop(&mut self, session_id: &str) -> Vec<RingAction> {
        self.ringing.remove(session_id);
        let mut out = vec![RingAction::StopRinging {
            session_id: session_id.to_owned(),
            reason: "rejected",
        }];
        if self.ringing.is_empty() {
            let (code, reason) = match self.last_reject {
                Some(RejectReason::Busy) => (486, "busy"),
                Some(RejectReason::Decline) => (603, "declined"),
                None => (480, "unavailable"),
            };
            out.push(RingAction::Refuse { code, reason });
        }
        out
    }

    /// The call ended: every device still ringing stops.
    pub(crate) fn end(&mut self) -> Vec<String> {
        std::mem::take(&mut self.ringing).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ringer() -> Ringer {
        Ringer::new(["a".to_owned(), "b".to_owned(), "c".to_owned()])
    }

    fn stop(s: &str, reason: &'static str) -> RingAction {
        RingAction::StopRinging {
            session_id: s.into(),
            reason,
        }
    }

    #[test]
    fn first_accept_wins_and_the_others_stop() {
        let mut r = ringer();
        assert_eq!(
            r.accept("b"),
            vec![
                stop("a", "answered_elsewhere"),
                stop("c", "answered_elsewhere")
            ]
        );
        assert_eq!(r.answered_by(), Some("b"));
        // A late accept or reject from another device changes nothing.
        assert!(r.accept("a").is_empty());
        assert!(r.reject("c", RejectReason::Busy).is_empty());
        assert!(!r.may_accept("a"));
    }

    #[test]
    fn one_reject_only_stops_that_device() {
        let mut r = ringer();
        assert_eq!(
            r.reject("a", RejectReason::Decline),
            vec![stop("a", "rejected")]
        );
        assert!(r.may_accept("b"));
        assert!(!r.may_accept("a"));
    }

    #[test]
    fn all_rejects_refuse_with_the_last_reason() {
        let mut r = ringer();
        r.reject("a", RejectReason::Decline);
        r.reject("b", RejectReason::Decline);
        assert_eq!(
            r.reject("c", RejectReason::Busy),
            vec![
                stop("c", "rejected"),
                RingAction::Refuse {
                    code: 486,
                    reason: "busy"
                }
            ]
        );
        let mut r = Ringer::new(["x".to_owned()]);
        assert_eq!(
            r.reject("x", RejectReason::Decline)[1],
            RingAction::Refuse {
                code: 603,
                reason: "declined"
            }
        );
    }

    #[test]
    fn devices_leaving_while_ringing_end_in_480() {
        let mut r = Ringer::new(["x".to_owned(), "y".to_owned()]);
        assert_eq!(r.leave("x"), vec![stop("x", "rejected")]);
        assert_eq!(
            r.leave("y"),
            vec![
                stop("y", "rejected"),
                RingAction::Refuse {
                    code: 480,
                    reason: "unavailable"
                }
            ]
        );
        assert!(r.leave("unknown").is_empty());
    }

    #[test]
    fn the_answering_device_leaving_hangs_up() {
        let mut r = ringer();
        r.accept("a");
        assert_eq!(r.leave("b"), Vec::new());
        assert_eq!(r.leave("a"), vec![RingAction::Hangup]);
    }

    #[test]
    fn end_stops_whoever_still_rings() {
        let mut r = ringer();
        r.reject("a", RejectReason::Busy);
        assert_eq!(r.end(), vec!["b".to_owned(), "c".to_owned()]);
        assert!(r.end().is_empty());
    }
}
