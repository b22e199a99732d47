//! Dialog state (RFC 3261 §12) and the requests built inside a dialog.

use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt;
use rsip::{Request, Response};

use crate::Error;
use crate::message;

/// What identifies and routes a dialog from the UAC's side (RFC 3261 §12.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// The dialog's Call-ID.
    pub call_id: String,
    /// Our tag (From tag for a UAC).
    pub local_tag: String,
    /// The peer's tag (To tag of the 2xx).
    pub remote_tag: String,
    /// Our URI (From).
    pub local_uri: String,
    /// Our display name, if any.
    pub local_display: Option<String>,
    /// The peer's URI (To).
    pub remote_uri: String,
    /// Where in-dialog requests go: the Contact of the 2xx.
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
        let mut route_set: Vec<String> = resp
            .headers
            .iter()
            .filter_map(|h| match h {
                rsip::Header::RecordRoute(rr) => Some(rr.value().to_owned()),
                _ => None,
            })
            .flat_map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
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

    /// The From header value for requests we send in this dialog.
    pub fn from_value(&self) -> String {
        match &self.local_display {
            Some(d) => format!("\"{d}\" <{}>;tag={}", self.local_uri, self.local_tag),
            None => format!("<{}>;tag={}", self.local_uri, self.local_tag),
        }
    }

    /// The To header value for requests we send in this dialog.
    pub fn to_value(&self) -> String {
        format!("<{}>;tag={}", self.remote_uri, self.remote_tag)
    }

    /// Route header values, in order.
    pub fn routes(&self) -> &[String] {
        &self.route_set
    }
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
