//! Joining Asterisk's ids to the calls the gateway bridges: once a call's `Uniqueid` (and `Linkedid`)
//! are known, its Odoo session gets an `update` event with `uniqueid` and `linkedid`.
//!
//! What is matched (docs/ami.md, "Joining ids"), with nothing else guessed:
//! - **Click-to-call**: the originate id. The gateway's Originate sets the channel variable
//!   [`ORIGINATE_VARIABLE`] to the id (Asterisk then emits `VarSet` with the channel's `Uniqueid` and
//!   `Linkedid`, as asterisk22/07 shows for `GW_TEST`) and the INVITE header `X-WebRTC-Originate` to the
//!   same id; the `OriginateResponse` also names the `Uniqueid`.
//! - **Any inbound call**: its SIP Call-ID, when the dialplan publishes it in a `VarSet` of
//!   [`SIP_CALLID_VARIABLE`] (`Set(WEBRTC_SIP_CALLID=${CHANNEL(pjsip,call-id)})` on the gateway leg).
//!
//! Sans-I/O: the joiner is told what happened and returns the joins to report.

use std::collections::{HashMap, VecDeque};

use gateway_ami::Message;

/// The channel variable the gateway's Originate sets to the originate id.
pub const ORIGINATE_VARIABLE: &str = "WEBRTC_ORIGINATE";
/// The channel variable a dialplan may set to the gateway leg's SIP Call-ID.
pub const SIP_CALLID_VARIABLE: &str = "WEBRTC_SIP_CALLID";
/// Entries kept at most (the oldest are forgotten first).
const MAX_ENTRIES: usize = 4096;

/// Asterisk's ids of one gateway call, to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    /// The gateway's call id.
    pub call_id: String,
    /// Asterisk's `Uniqueid` of the channel toward the gateway.
    pub uniqueid: String,
    /// Asterisk's `Linkedid`, when known.
    pub linkedid: Option<String>,
    /// 0 for the first join of this call, then 1, ... (a later `Linkedid` is reported again).
    pub seq: u32,
}

#[derive(Debug, Default)]
struct Entry {
    call_id: Option<String>,
    uniqueid: Option<String>,
    linkedid: Option<String>,
    sent: Option<(String, Option<String>)>,
    seq: u32,
}

/// What is known so far, by `o:<originate id>` and `c:<SIP Call-ID>`.
#[derive(Debug, Default)]
pub struct Joiner {
    entries: HashMap<String, Entry>,
    order: VecDeque<String>,
}

impl Joiner {
    /// A bridged call started (its INVITE's originate id, if any, and SIP Call-ID).
    pub fn call_started(
        &mut self,
        call_id: &str,
        originate_id: Option<&str>,
        sip_call_id: &str,
    ) -> Vec<Join> {
        let mut joins = Vec::new();
        if let Some(id) = originate_id {
            self.learn(format!("o:{id}"), Some(call_id), None, None, &mut joins);
        }
        self.learn(
            format!("c:{sip_call_id}"),
            Some(call_id),
            None,
            None,
            &mut joins,
        );
        joins
    }

    /// The OriginateResponse of click-to-call `originate_id` named `uniqueid`.
    pub fn originate_response(&mut self, originate_id: &str, uniqueid: &str) -> Vec<Join> {
        let mut joins = Vec::new();
        let uniqueid = uniqueid.trim();
        // A failed Originate says `Uniqueid: <unknown>` (asterisk22/08).
        if !uniqueid.is_empty() && uniqueid != "<unknown>" {
            self.learn(
                format!("o:{originate_id}"),
                None,
                Some(uniqueid),
                None,
                &mut joins,
            );
        }
        joins
    }

    /// An AMI event: a `VarSet` of [`ORIGINATE_VARIABLE`] or [`SIP_CALLID_VARIABLE`] names a channel.
    pub fn event(&mut self, event: &Message) -> Vec<Join> {
        let mut joins = Vec::new();
        if event.event() != Some("VarSet") {
            return joins;
        }
        let prefix = match event.get("Variable").map(str::trim) {
            Some(ORIGINATE_VARIABLE) => "o",
            Some(SIP_CALLID_VARIABLE) => "c",
            _ => return joins,
        };
        let value = event.get("Value").map(str::trim).unwrap_or_default();
        let uniqueid = event
            .get("Uniqueid")
            .map(str::trim)
            .filter(|u| !u.is_empty());
        if value.is_empty() || uniqueid.is_none() {
            return joins;
        }
        let linkedid = event
            .get("Linkedid")
            .map(str::trim)
            .filter(|l| !l.is_empty());
        self.learn(
            format!("{prefix}:{value}"),
            None,
            uniqueid,
            linkedid,
            &mut joins,
        );
        joins
    }

    fn learn(
        &mut self,
        key: String,
        call_id: Option<&str>,
        uniqueid: Option<&str>,
        linkedid: Option<&str>,
        joins: &mut Vec<Join>,
    ) {
        if !self.entries.contains_key(&key) {
            if self.order.len() >= MAX_ENTRIES
                && let Some(oldest) = self.order.pop_front()
            {
                self.entries.remove(&oldest);
            }
            self.order.push_back(key.clone());
        }
        let entry = self.entries.entry(key).or_default();
        if let Some(c) = call_id {
            entry.call_id = Some(c.to_owned());
        }
        if let Some(u) = uniqueid {
            entry.uniqueid = Some(u.to_owned());
        }
        if let Some(l) = linkedid {
            entry.linkedid = Some(l.to_owned());
        }
        let (Some(call_id), Some(uniqueid)) = (&entry.call_id, &entry.uniqueid) else {
            return;
        };
        let now = (uniqueid.clone(), entry.linkedid.clone());
        if entry.sent.as_ref() == Some(&now) {
            return;
        }
        joins.push(Join {
            call_id: call_id.clone(),
            uniqueid: now.0.clone(),
            linkedid: now.1.clone(),
            seq: entry.seq,
        });
        entry.seq += 1;
        entry.sent = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varset(variable: &str, value: &str) -> Message {
        Message::new()
            .with("Event", "VarSet")
            .with("Channel", "PJSIP/gateway-0000000e")
            .with("Uniqueid", "asterisk-testpeer-1795220347.14")
            .with("Linkedid", "asterisk-testpeer-1795220347.14")
            .with("Variable", variable)
            .with("Value", value)
    }

    /// The VarSet of the Originate's variable (asterisk22/07 shape) joins once the call is known,
    /// whichever comes first, and only once.
    #[test]
    fn originate_variable_joins_the_call() {
        let mut j = Joiner::default();
        assert!(j.event(&varset(ORIGINATE_VARIABLE, "o-1")).is_empty());
        let joins = j.call_started("gw-1", Some("o-1"), "abc@127.0.0.1");
        assert_eq!(
            joins,
            vec![Join {
                call_id: "gw-1".into(),
                uniqueid: "asterisk-testpeer-1795220347.14".into(),
                linkedid: Some("asterisk-testpeer-1795220347.14".into()),
                seq: 0,
            }]
        );
        assert!(j.event(&varset(ORIGINATE_VARIABLE, "o-1")).is_empty());
        assert!(
            j.originate_response("o-1", "asterisk-testpeer-1795220347.14")
                .is_empty()
        );
    }

    /// OriginateResponse first (no Linkedid), then the VarSet adds the Linkedid: reported again.
    #[test]
    fn a_later_linkedid_is_reported_again() {
        let mut j = Joiner::default();
        assert!(j.call_started("gw-2", Some("o-2"), "x@h").is_empty());
        assert!(j.originate_response("o-9", "<unknown>").is_empty());
        let first = j.originate_response("o-2", "asterisk-testpeer-1795220347.14");
        assert_eq!((first[0].seq, first[0].linkedid.as_deref()), (0, None));
        let second = j.event(&varset(ORIGINATE_VARIABLE, "o-2"));
        assert_eq!(second[0].seq, 1);
        assert!(second[0].linkedid.is_some());
    }

    /// A dialplan's VarSet of the SIP Call-ID joins a plain inbound call; other variables do nothing.
    #[test]
    fn sip_call_id_variable_joins_an_inbound_call() {
        let mut j = Joiner::default();
        assert!(j.call_started("gw-3", None, "abc@127.0.0.1").is_empty());
        assert!(j.event(&varset("GW_TEST", "abc@127.0.0.1")).is_empty());
        let joins = j.event(&varset(SIP_CALLID_VARIABLE, " abc@127.0.0.1"));
        assert_eq!(joins[0].call_id, "gw-3");
        let hangup = Message::new().with("Event", "Hangup");
        assert!(j.event(&hangup).is_empty());
    }

    #[test]
    fn the_oldest_entries_are_forgotten() {
        let mut j = Joiner::default();
        for i in 0..=MAX_ENTRIES {
            j.call_started(&format!("gw-{i}"), None, &format!("{i}@h"));
        }
        assert_eq!(j.entries.len(), MAX_ENTRIES);
        assert!(j.event(&varset(SIP_CALLID_VARIABLE, "0@h")).is_empty());
    }
}
