//! Dialog state (RFC 3261 §12) and the requests built inside a dialog.

use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt;
use rsip::{Request, Response};

use crate::Error;
use crate::message;

/// What identifies and routes a dialog, from our side of it (RFC 3261 §12.1.1, §12.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// The dialog's Call-ID.
    pub call_id: String,
    /// Our tag (From tag for a UAC, To tag for a UAS).
    pub local_tag: String,
    /// The peer's tag (To tag of the 2xx for a UAC, From tag of the INVITE for a UAS).
    pub remote_tag: String,
    /// Our URI (From for a UAC, To for a UAS).
    pub local_uri: String,
    /// Our display name, if any.
    pub local_display: Option<String>,
    /// The peer's URI (To for a UAC, From for a UAS).
    pub remote_uri: String,
    /// Where in-dialog requests go: the Contact of the 2xx (UAC) or of the INVITE (UAS).
    pub remote_target: String,
    /// Route set from Record-Route, in the order to put in Route headers.
    pub route_set: Vec<String>,
    /// Our CSeq counter for in-dialog requests.
    pub local_cseq: u32,
}

impl Dialog {
    /// Builds the UAC's dialog from its INVITE and the 2xx that confirmed it (§12.1.2).
    pub fn from_uac_2xx(
        invite: &Request,
        resp: &Response,
        local_display: Option<String>,
    ) -> Result<Self, Error> {
        let call_id = message::call_id(resp)?.to_owned();
        let local_tag = message::from_tag(invite)?.ok_or(Error::MissingHeader("From tag"))?;
        let remote_tag = message::to_tag(resp)?.ok_or(Error::MissingHeader("To tag"))?;
        let (cseq, _) = message::cseq(invite)?;
        let remote_target = header_uri(
            resp.contact_header()
                .map_err(|_| Error::MissingHeader("Contact"))?
                .value(),
        )
        .ok_or(Error::InvalidHeader {
            header: "Contact",
            reason: "no URI".into(),
        })?;
        // Record-Route of a 2xx is reversed for the UAC's route set (§12.1.2).
        let mut route_set = record_routes(&resp.headers);
        route_set.reverse();
        Ok(Self {
            call_id,
            local_tag,
            remote_tag,
            local_uri: header_uri(
                invite
                    .from_header()
                    .map_err(|_| Error::MissingHeader("From"))?
                    .value(),
            )
            .unwrap_or_default(),
            local_display,
            remote_uri: header_uri(
                invite
                    .to_header()
                    .map_err(|_| Error::MissingHeader("To"))?
                    .value(),
            )
            .unwrap_or_default(),
            remote_target,
            route_set,
            local_cseq: cseq,
        })
    }

    /// Builds the UAS's dialog from the INVITE it answers with `local_tag` (§12.1.1): the
    /// remote target is the INVITE's Contact, the route set its Record-Route in order, and
    /// our CSeq space starts empty (the first request we send gets 1).
    ///
    /// RFC 2543 peers (no `z9hG4bK` branch, RFC 4475 §3.4.1) are accepted as §12.1.1 asks: a
    /// From without a tag gives a null (empty) remote tag, and as RFC 2543 made Contact
    /// optional, without one the remote target is the From URI, where RFC 2543 sent the BYE.
    pub fn from_uas_invite(invite: &Request, local_tag: &str) -> Result<Self, Error> {
        let call_id = message::call_id(invite)?.to_owned();
        let remote_tag = message::from_tag(invite)?.unwrap_or_default();
        let remote_uri = header_uri(
            invite
                .from_header()
                .map_err(|_| Error::MissingHeader("From"))?
                .value(),
        )
        .unwrap_or_default();
        let rfc2543 = !message::top_via_branch(invite)
            .is_ok_and(|b| b.starts_with(message::BRANCH_MAGIC_COOKIE));
        let remote_target = match invite.contact_header() {
            Ok(contact) => header_uri(contact.value()).ok_or(Error::InvalidHeader {
                header: "Contact",
                reason: "no URI".into(),
            })?,
            Err(_) if rfc2543 && !remote_uri.is_empty() => remote_uri.clone(),
            Err(_) => return Err(Error::MissingHeader("Contact")),
        };
        if remote_tag.is_empty() && !rfc2543 {
            return Err(Error::MissingHeader("From tag"));
        }
        let route_set = record_routes(&invite.headers);
        Ok(Self {
            call_id,
            local_tag: local_tag.to_owned(),
            remote_tag,
            local_uri: header_uri(
                invite
                    .to_header()
                    .map_err(|_| Error::MissingHeader("To"))?
                    .value(),
            )
            .unwrap_or_default(),
            local_display: None,
            remote_uri,
            remote_target,
            route_set,
            local_cseq: 0,
        })
    }

    /// The From header value for requests we send in this dialog.
    pub fn from_value(&self) -> String {
        match &self.local_display {
            Some(d) => format!("\"{d}\" <{}>;tag={}", self.local_uri, self.local_tag),
            None => format!("<{}>;tag={}", self.local_uri, self.local_tag),
        }
    }

    /// The To header value for requests we send in this dialog (no tag for the null tag of
    /// an RFC 2543 peer, §12.1.1).
    pub fn to_value(&self) -> String {
        if self.remote_tag.is_empty() {
            return format!("<{}>", self.remote_uri);
        }
        format!("<{}>;tag={}", self.remote_uri, self.remote_tag)
    }

    /// Route header values, in order.
    pub fn routes(&self) -> &[String] {
        &self.route_set
    }
}

/// Every Record-Route value in order, comma-joined lists split (not at a comma inside
/// `<...>`, which a URI's user part may hold, §25.1).
fn record_routes(headers: &rsip::Headers) -> Vec<String> {
    headers
        .iter()
        .filter_map(|h| match h {
            rsip::Header::RecordRoute(rr) => Some(rr.value()),
            _ => None,
        })
        .flat_map(crate::normalize::split_comma_list)
        .map(str::to_owned)
        .collect()
}

/// Extracts the URI inside `<...>` of a header value (with or without the `Name:` prefix),
/// or the bare URI before any `;` parameter.
pub fn header_uri(value: &str) -> Option<String> {
    let v = match value.split_once(':') {
        // Strip a "Header-Name:" prefix if there is one ("Contact: <sip:..>").
        Some((name, rest))
            if !name.contains('<')
                && !name.trim().contains(' ')
                && !name.eq_ignore_ascii_case("sip")
                && !name.eq_ignore_ascii_case("sips")
                && !name.contains('"') =>
        {
            rest
        }
        _ => value,
    };
    let v = v.trim();
    if let Some(start) = v.find('<') {
        let end = v[start..].find('>')? + start;
        return Some(v[start + 1..end].trim().to_owned());
    }
    let bare = v.split(';').next()?.trim();
    (!bare.is_empty()).then(|| bare.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3261 §12.1.1: the UAS's dialog takes the INVITE's Contact as remote target, its
    /// Record-Route in order as route set, From as the remote side and To as ours.
    #[test]
    fn uas_dialog_from_invite() {
        let text = "INVITE sip:webuser@127.0.0.1:5080 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n\
            Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\nRecord-Route: <sip:p3;lr>\r\n\
            From: \"A\" <sip:5000@127.0.0.1>;tag=them\r\nTo: <sip:webuser@127.0.0.1>\r\n\
            Contact: <sip:asterisk@127.0.0.1:5060>\r\nCall-ID: c1\r\nCSeq: 7 INVITE\r\n\
            Content-Length: 0\r\n\r\n";
        let rsip::SipMessage::Request(invite) = message::parse(text.as_bytes()).unwrap() else {
            panic!("a request");
        };
        let d = Dialog::from_uas_invite(&invite, "us").unwrap();
        assert_eq!(d.call_id, "c1");
        assert_eq!(
            (d.local_tag.as_str(), d.remote_tag.as_str()),
            ("us", "them")
        );
        assert_eq!(d.remote_target, "sip:asterisk@127.0.0.1:5060");
        assert_eq!(
            d.route_set,
            vec!["<sip:p1;lr>", "<sip:p2;lr>", "<sip:p3;lr>"]
        );
        assert_eq!(d.from_value(), "<sip:webuser@127.0.0.1>;tag=us");
        assert_eq!(d.to_value(), "<sip:5000@127.0.0.1>;tag=them");
        assert_eq!(d.local_cseq, 0);
        let no_contact = text.replace("Contact: <sip:asterisk@127.0.0.1:5060>\r\n", "");
        let rsip::SipMessage::Request(invite) = message::parse(no_contact.as_bytes()).unwrap()
        else {
            panic!("a request");
        };
        assert!(Dialog::from_uas_invite(&invite, "us").is_err());
    }

    #[test]
    fn header_uri_forms() {
        assert_eq!(
            header_uri("<sip:127.0.0.1:5060>").as_deref(),
            Some("sip:127.0.0.1:5060")
        );
        assert_eq!(
            header_uri("Contact: <sip:a@b;transport=tcp>;expires=60").as_deref(),
            Some("sip:a@b;transport=tcp")
        );
        assert_eq!(
            header_uri("\"Gateway Test\" <sip:gwtest@127.0.0.1:5080>;tag=x").as_deref(),
            Some("sip:gwtest@127.0.0.1:5080")
        );
        assert_eq!(
            header_uri("sip:600@127.0.0.1;tag=1").as_deref(),
            Some("sip:600@127.0.0.1")
        );
        assert_eq!(header_uri("<broken"), None);
    }
}
