//! RFC 5168 media control in SIP INFO: the `picture_fast_update` command (a keyframe request
//! toward the peer's video encoder), which Asterisk's chan_pjsip sends and accepts.
//!
//! The recogniser is a small scanner, not an XML parser: it follows the element nesting, skips
//! the XML declaration, comments, processing instructions, `DOCTYPE` and `CDATA`, never expands
//! anything, and refuses a body that is too large, too deep, not UTF-8 or not well nested.

/// The Content-Type of RFC 5168 bodies (IANA `application/media_control+xml`, RFC 5168 §9).
pub const MEDIA_CONTROL_CONTENT_TYPE: &str = "application/media_control+xml";

/// The body of a `picture_fast_update` command (RFC 5168 §7.1), as Asterisk sends it but on
/// one line.
const PICTURE_FAST_UPDATE: &str = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\
<media_control><vc_primitive><to_encoder><picture_fast_update/></to_encoder></vc_primitive>\
</media_control>";

/// Bodies larger than this are not looked at: the command is ~150 bytes, a few `stream_id`s
/// add little.
const MAX_BODY: usize = 4096;

/// Elements may nest this deep (the command is four levels).
const MAX_DEPTH: usize = 16;

/// Where `picture_fast_update` sits (RFC 5168 §5 schema).
const PATH: [&str; 3] = ["media_control", "vc_primitive", "to_encoder"];

/// The body of a full-picture fast update request (RFC 5168 §7.1).
pub fn picture_fast_update_body() -> &'static str {
    PICTURE_FAST_UPDATE
}

/// Whether an INFO with `content_type` and `body` is an RFC 5168 `picture_fast_update`
/// command. The media type is compared case-insensitively with its parameters (`charset`)
/// ignored; the body must be well nested and hold `picture_fast_update` under
/// `media_control/vc_primitive/to_encoder` (attributes, whitespace, an explicit end tag and a
/// `stream_id` are accepted). Anything else, `general_error` reports included, is `false`.
pub fn is_picture_fast_update(content_type: &str, body: &[u8]) -> bool {
    if !is_media_control(content_type) || body.len() > MAX_BODY {
        return false;
    }
    match std::str::from_utf8(body) {
        Ok(text) => scan(text).unwrap_or(false),
        Err(_) => false,
    }
}

/// Whether `content_type` names `application/media_control+xml` (RFC 3261 §20.15: `SLASH`
/// may carry whitespace, names are case-insensitive, parameters follow `;`).
fn is_media_control(content_type: &str) -> bool {
    let media_type = content_type.split(';').next().unwrap_or_default();
    let Some((kind, subtype)) = media_type.split_once('/') else {
        return false;
    };
    kind.trim().eq_ignore_ascii_case("application")
        && subtype.trim().eq_ignore_ascii_case("media_control+xml")
}

/// Walks the markup of `text`: `Some(found)` for a well-nested document with a single root,
/// `None` for anything malformed.
fn scan(text: &str) -> Option<bool> {
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0usize;
    let mut found = false;
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        // Text outside the root element must be whitespace.
        if stack.is_empty() && !rest[..open].trim().is_empty() {
            return None;
        }
        rest = &rest[open..];
        if let Some(after) = skip_special(rest)? {
            rest = after;
            continue;
        }
        let end = tag_end(rest)?;
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let name = local_name(name.trim())?;
            if stack.pop() != Some(name) {
                return None;
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.strip_suffix('/').unwrap_or(tag);
        let name = local_name(tag.split(|c: char| c.is_ascii_whitespace()).next()?)?;
        if stack.is_empty() {
            roots += 1;
            if roots > 1 {
                return None;
            }
        }
        if name == "picture_fast_update" && stack == PATH {
            found = true;
        }
        if !self_closing {
            if stack.len() >= MAX_DEPTH {
                return None;
            }
            stack.push(name);
        }
    }
    let complete = stack.is_empty() && roots == 1 && rest.trim().is_empty();
    complete.then_some(found)
}

/// Skips a declaration, processing instruction, comment, `DOCTYPE` or `CDATA` section at the
/// start of `rest` (which starts with `<`): `Some(Some(after))` when one was skipped,
/// `Some(None)` for an element tag, `None` when it is not terminated.
fn skip_special(rest: &str) -> Option<Option<&str>> {
    let (terminator, skip) = if rest.starts_with("<?") {
        ("?>", 2)
    } else if rest.starts_with("<!--") {
        ("-->", 4)
    } else if rest.starts_with("<![CDATA[") {
        ("]]>", 9)
    } else if rest.starts_with("<!") {
        (">", 2)
    } else {
        return Some(None);
    };
    let end = rest[skip..].find(terminator)?;
    Some(Some(&rest[skip + end + terminator.len()..]))
}

/// The index of the `>` closing the tag at the start of `rest`, outside quoted attribute
/// values.
fn tag_end(rest: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in rest.char_indices().skip(1) {
        match (quote, c) {
            (None, '>') => return Some(i),
            (None, '<') => return None,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    None
}

/// An element name without its namespace prefix; `None` if empty.
fn local_name(name: &str) -> Option<&str> {
    let local = name.rsplit(':').next().unwrap_or(name);
    (!local.is_empty()).then_some(local)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 5168 §7.1: the full-picture fast update, as we send it.
    #[test]
    fn our_body_is_the_rfc_example() {
        let body = picture_fast_update_body();
        assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\" ?><media_control>"));
        assert!(body.contains("<vc_primitive><to_encoder><picture_fast_update/></to_encoder>"));
        assert!(is_picture_fast_update(
            MEDIA_CONTROL_CONTENT_TYPE,
            body.as_bytes()
        ));
    }

    /// RFC 5168 §7.1 as Asterisk's chan_pjsip writes it (indented, CRLF), and the variants
    /// other vendors send: an explicit end tag, attributes, `stream_id` (§5), a namespace
    /// prefix, comments.
    #[test]
    fn fast_update_variants_are_recognised() {
        let asterisk = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\r\n <media_control>\r\n  \
            <vc_primitive>\r\n   <to_encoder>\r\n    <picture_fast_update/>\r\n   </to_encoder>\r\n  \
            </vc_primitive>\r\n </media_control>\r\n";
        for body in [
            asterisk,
            "<media_control><vc_primitive><to_encoder><picture_fast_update></picture_fast_update>\
             </to_encoder></vc_primitive></media_control>",
            "<media_control xmlns=\"urn:x\"><vc_primitive><to_encoder>\n\
             <picture_fast_update a='1>2' />\n</to_encoder><stream_id>1</stream_id></vc_primitive>\
             </media_control>",
            "<m:media_control xmlns:m=\"urn:x\"><m:vc_primitive><m:to_encoder>\
             <m:picture_fast_update/></m:to_encoder></m:vc_primitive></m:media_control >",
            "<!-- keyframe --><media_control><vc_primitive><to_encoder><picture_fast_update/>\
             </to_encoder></vc_primitive></media_control>\n",
        ] {
            assert!(
                is_picture_fast_update("application/media_control+xml", body.as_bytes()),
                "{body}"
            );
        }
    }

    /// The media type is case-insensitive with its parameters ignored (RFC 3261 §20.15,
    /// IANA registration of RFC 5168: optional `charset`); another type is not the command.
    #[test]
    fn content_type_matching() {
        let body = picture_fast_update_body().as_bytes();
        for ct in [
            "Application/Media_Control+XML",
            "application/media_control+xml; charset=utf-8",
            " application / media_control+xml;charset=\"UTF-8\"",
        ] {
            assert!(is_picture_fast_update(ct, body), "{ct}");
        }
        for ct in [
            "application/xml",
            "application/dtmf-relay",
            "",
            "media_control+xml",
        ] {
            assert!(!is_picture_fast_update(ct, body), "{ct}");
        }
    }

    /// RFC 5168 §6/§7.2: an error report is not a command; neither is a fast update outside
    /// `to_encoder`, malformed markup, garbage or an oversized body.
    #[test]
    fn other_bodies_are_not_the_command() {
        let ct = MEDIA_CONTROL_CONTENT_TYPE;
        for body in [
            "<?xml version=\"1.0\" encoding=\"utf-8\" ?><media_control><general_error>Unknown \
             command</general_error></media_control>",
            "<media_control><picture_fast_update/></media_control>",
            "<media_control><vc_primitive><to_encoder><picture_fast_update/></vc_primitive>\
             </to_encoder></media_control>",
            "<media_control><vc_primitive><to_encoder><picture_fast_update/></to_encoder>\
             </vc_primitive>",
            "<media_control><vc_primitive><to_encoder><picture_fast_update/></to_encoder>\
             </vc_primitive></media_control><media_control/>",
            "<media_control><vc_primitive><to_encoder><picture_fast_update",
            "picture_fast_update",
            "junk<media_control><vc_primitive><to_encoder><picture_fast_update/></to_encoder>\
             </vc_primitive></media_control>",
            "<!-- <media_control><vc_primitive><to_encoder><picture_fast_update/></to_encoder>\
             </vc_primitive></media_control> -->",
            "",
            "<>",
            "</>",
            "<!--",
        ] {
            assert!(!is_picture_fast_update(ct, body.as_bytes()), "{body}");
        }
        assert!(!is_picture_fast_update(ct, &[0xff, 0xfe, b'<', 0x80]));
        let padded = format!("{}{}", picture_fast_update_body(), " ".repeat(MAX_BODY));
        assert!(!is_picture_fast_update(ct, padded.as_bytes()));
        let deep = format!(
            "<media_control>{}{}</media_control>",
            "<a>".repeat(MAX_DEPTH),
            "</a>".repeat(MAX_DEPTH)
        );
        assert!(!is_picture_fast_update(ct, deep.as_bytes()));
    }

    proptest! {
        /// Never panics on arbitrary bytes (STYLE.md §5), with or without the right type.
        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..512), ct in ".{0,40}") {
            let _ = is_picture_fast_update(&ct, &body);
            let _ = is_picture_fast_update(MEDIA_CONTROL_CONTENT_TYPE, &body);
        }

        /// Never panics on markup-shaped input either (tags, quotes, specials).
        #[test]
        fn never_panics_on_markup(body in "([<>/?!\"'= -]|media_control|vc_primitive|to_encoder|picture_fast_update|\\[CDATA\\[|\\]\\]|--){0,40}") {
            let _ = is_picture_fast_update(MEDIA_CONTROL_CONTENT_TYPE, body.as_bytes());
        }
    }
}
