//! Regular expressions written in the configuration (`sip.allowed_numbers`, `ami.forward` conditions),
//! compiled once at load time so that a bad pattern is a configuration error, not a runtime one.

use std::fmt;

use regex::{Regex, RegexBuilder};

/// Compiled size limit: a pattern is a dial plan or a header test, never megabytes of automaton.
const SIZE_LIMIT: usize = 1 << 20;

/// A compiled regular expression (the `regex` crate's syntax: no look-around or back-references,
/// so matching takes linear time whatever the input), compared and printed by its source text.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    /// A pattern that matches when it is found anywhere in the text (anchor it with `^`/`$`).
    pub fn new(source: &str) -> Result<Self, String> {
        Self::compile(source, source)
    }

    /// A pattern that matches only when it matches the whole text, as if written `^(?:source)$`.
    pub fn whole(source: &str) -> Result<Self, String> {
        Self::compile(source, &format!("^(?:{source})$"))
    }

    fn compile(source: &str, effective: &str) -> Result<Self, String> {
        // Compile the source alone first, so the error message points into what the user wrote.
        let check = |text: &str| {
            RegexBuilder::new(text)
                .size_limit(SIZE_LIMIT)
                .build()
                .map_err(|e| {
                    let detail = e.to_string();
                    let last = detail
                        .lines()
                        .map(str::trim)
                        .rfind(|l| !l.is_empty())
                        .map(|l| l.strip_prefix("error: ").unwrap_or(l));
                    format!(
                        "invalid regular expression {source:?}: {}",
                        last.unwrap_or("cannot be compiled")
                    )
                })
        };
        check(source)?;
        let regex = check(effective)?;
        Ok(Self {
            source: source.to_owned(),
            regex,
        })
    }

    /// The pattern as written in the configuration.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.regex.as_str() == other.regex.as_str()
    }
}

impl Eq for Pattern {}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.regex.as_str())
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn new_searches_and_whole_anchors() {
        let search = Pattern::new("^PJSIP/").expect("valid");
        assert!(search.is_match("PJSIP/1001-0000001"));
        assert!(!search.is_match("SIP/PJSIP/"));
        let search = Pattern::new("ANSWER").expect("valid");
        assert!(search.is_match("NO ANSWER"));

        let whole = Pattern::whole("[0-9]+").expect("valid");
        assert!(whole.is_match("1001"));
        assert!(!whole.is_match("1001@evil.example.com"));
        assert!(!whole.is_match(""));
        // An alternation stays inside the anchors.
        let whole = Pattern::whole("1|2").expect("valid");
        assert!(!whole.is_match("12"));
        assert_eq!(whole.as_str(), "1|2");
        assert_eq!(whole.to_string(), "1|2");
    }

    #[test]
    fn equality_depends_on_the_anchoring() {
        assert_eq!(Pattern::new("a"), Pattern::new("a"));
        assert_ne!(Pattern::new("a"), Pattern::whole("a"));
        assert_eq!(
            format!("{:?}", Pattern::whole("a").expect("valid")),
            "Pattern(\"^(?:a)$\")"
        );
    }

    #[test]
    fn invalid_patterns_name_the_source() {
        let e = Pattern::whole("[0-9").expect_err("unclosed class");
        assert!(
            e.starts_with("invalid regular expression \"[0-9\": "),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        // `)(` closes the anchoring group early if not checked alone.
        assert!(Pattern::whole("a)|(b").is_err());
        assert!(
            Pattern::new("(?=a)").is_err(),
            "look-around is not supported"
        );
        let e = Pattern::new("a{1000}{1000}").expect_err("too big");
        assert!(e.starts_with("invalid regular expression"), "{e}");
    }

    proptest! {
        #[test]
        fn never_panics(source in ".{0,24}", text in ".{0,24}") {
            if let Ok(p) = Pattern::whole(&source) {
                let _ = p.is_match(&text);
            }
            let _ = Pattern::new(&source);
        }
    }
}
