//! `[sip]` keys that protect the phone network: which numbers a browser may dial, how many calls a
//! user may hold, the per-IP request rate toward the SIP listener, and RFC 4028 session timers.

use std::time::Duration;

use toml::Value;

use crate::duration::{format_duration, parse_duration};
use crate::pattern::Pattern;
use crate::raw::{Ctx, integer_in, parsed};
use crate::sip::SipConfig;

/// Default `sip.allowed_numbers`: digits, `+`, `*` and `#`, 1 to 32 of them.
pub const DEFAULT_ALLOWED_NUMBERS: &str = "^[0-9+*#]{1,32}$";
/// Default `sip.max_calls_per_user`.
pub const DEFAULT_MAX_CALLS_PER_USER: u32 = 4;
/// Default `sip.rate_limit_per_ip`, in requests per second.
pub const DEFAULT_RATE_LIMIT_PER_IP: u32 = 20;
/// Default `sip.block_for`.
pub const DEFAULT_BLOCK_FOR: Duration = Duration::from_secs(60);
/// Default `sip.session_timer` (RFC 4028 §4 recommends 1800 s).
pub const DEFAULT_SESSION_TIMER: Duration = Duration::from_secs(1800);
/// Shortest enabled `sip.session_timer`: the smallest `Min-SE` (RFC 4028 §4).
pub const MIN_SESSION_TIMER: Duration = Duration::from_secs(90);

/// The compiled default of `sip.allowed_numbers`.
pub(crate) fn default_allowed_numbers() -> Pattern {
    Pattern::whole(DEFAULT_ALLOWED_NUMBERS)
        .expect("DEFAULT_ALLOWED_NUMBERS is a valid regular expression (tested below)")
}

impl SipConfig {
    /// Whether a browser may dial `number`: it has no control characters (CR, LF and NUL would
    /// inject SIP headers) and `allowed_numbers` matches all of it.
    pub fn is_allowed_number(&self, number: &str) -> bool {
        !number.chars().any(char::is_control) && self.allowed_numbers.is_match(number)
    }
}

/// `sip.allowed_numbers`: a non-empty regular expression, matched against the whole number.
pub(crate) fn allowed_numbers(ctx: &mut Ctx, key: &str, value: Value) -> Option<Pattern> {
    parsed(ctx, key, value, |text| {
        if text.is_empty() {
            Err("must not be empty (it would refuse every number)".to_owned())
        } else {
            Pattern::whole(text)
        }
    })
}

/// `sip.max_calls_per_user`: 1 to 1000.
pub(crate) fn max_calls_per_user(ctx: &mut Ctx, key: &str, value: Value) -> Option<u32> {
    integer_in(ctx, key, value, 1..=1000)
}

/// A per-IP rate, per second or per minute: `0` = no limit (`None`), else up to 1,000,000.
pub(crate) fn optional_rate(ctx: &mut Ctx, key: &str, value: Value) -> Option<Option<u32>> {
    let rate: u32 = integer_in(ctx, key, value, 0..=1_000_000)?;
    Some(Some(rate).filter(|&r| r != 0))
}

/// `sip.block_for`: `"0s"` = throttle only, never block (`None`); otherwise at most 24h.
pub(crate) fn block_for(ctx: &mut Ctx, key: &str, value: Value) -> Option<Option<Duration>> {
    let max = Duration::from_secs(24 * 3600);
    parsed(ctx, key, value, |text| {
        let block = parse_duration(text).map_err(|e| e.to_string())?;
        if block > max {
            Err(format!(
                "must be at most {} (\"0s\" = never block), got {text:?}",
                format_duration(max)
            ))
        } else {
            Ok(Some(block).filter(|b| !b.is_zero()))
        }
    })
}

/// `sip.session_timer`: `"0s"` disables session timers (`None`); otherwise whole seconds, 90s to 24h.
pub(crate) fn session_timer(ctx: &mut Ctx, key: &str, value: Value) -> Option<Option<Duration>> {
    let max = Duration::from_secs(24 * 3600);
    parsed(ctx, key, value, |text| {
        let interval = parse_duration(text).map_err(|e| e.to_string())?;
        if interval.is_zero() {
            Ok(None)
        } else if !(MIN_SESSION_TIMER..=max).contains(&interval) {
            Err(format!(
                "must be \"0s\" (disabled) or between {} and {}, got {text:?}",
                format_duration(MIN_SESSION_TIMER),
                format_duration(max)
            ))
        } else if interval.subsec_nanos() != 0 {
            Err(format!(
                "must be whole seconds (Session-Expires counts seconds), got {text:?}"
            ))
        } else {
            Ok(Some(interval))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn sip(toml: &str) -> SipConfig {
        Config::from_toml_str(&format!("[sip]\n{toml}"), [])
            .expect("valid")
            .sip
    }

    fn sip_errors(toml: &str) -> String {
        Config::from_toml_str(&format!("[sip]\n{toml}"), [])
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn defaults() {
        let s = SipConfig::default();
        assert_eq!(s.allowed_numbers.as_str(), "^[0-9+*#]{1,32}$");
        assert_eq!(s.max_calls_per_user, 4);
        assert_eq!(s.rate_limit_per_ip, Some(20));
        assert_eq!(s.block_for, Some(Duration::from_secs(60)));
        assert_eq!(s.session_timer, Some(Duration::from_secs(1800)));
        assert_eq!(
            sip("allowed_numbers = \"^[0-9+*#]{1,32}$\"").allowed_numbers,
            default_allowed_numbers()
        );
    }

    /// Issue 8: a browser cannot dial a URI or smuggle headers; the whole number must match.
    #[test]
    fn allowed_numbers_match_the_whole_number() {
        let s = SipConfig::default();
        for good in [
            "600",
            "+4930123456",
            "*97",
            "#31#",
            "12345678901234567890123456789012",
        ] {
            assert!(s.is_allowed_number(good), "{good}");
        }
        for bad in [
            "",
            "echo",
            "600@evil.example.com",
            "sip:600@pbx",
            "600\r\nX-Injected: 1",
            "600\0",
            "123456789012345678901234567890123",
        ] {
            assert!(!s.is_allowed_number(bad), "{bad:?}");
        }
        // An unanchored pattern is matched against the whole number anyway.
        let s = sip("allowed_numbers = \"[0-9]+\"");
        assert!(s.is_allowed_number("600"));
        assert!(!s.is_allowed_number("600x"));
        // Control characters are refused even by a pattern that allows anything.
        let s = sip("allowed_numbers = \"(?s).*\"");
        assert!(s.is_allowed_number("sip:anything"));
        assert!(!s.is_allowed_number("600\r\n"));
    }

    #[test]
    fn every_policy_key_is_read() {
        let s = sip(r#"
            max_calls_per_user = 1
            rate_limit_per_ip = 0
            block_for = "0s"
            session_timer = "0s"
        "#);
        assert_eq!(s.max_calls_per_user, 1);
        assert_eq!(s.rate_limit_per_ip, None);
        assert_eq!(s.block_for, None);
        assert_eq!(s.session_timer, None);
        let s = sip(r#"
            max_calls_per_user = 1000
            rate_limit_per_ip = 500
            block_for = "24h"
            session_timer = "90s"
        "#);
        assert_eq!(s.max_calls_per_user, 1000);
        assert_eq!(s.rate_limit_per_ip, Some(500));
        assert_eq!(s.block_for, Some(Duration::from_secs(86_400)));
        assert_eq!(s.session_timer, Some(Duration::from_secs(90)));
    }

    #[test]
    fn each_policy_key_is_validated() {
        let cases = [
            (
                "allowed_numbers = \"\"",
                "sip.allowed_numbers: must not be empty (it would refuse every number)",
            ),
            (
                "allowed_numbers = 5",
                "sip.allowed_numbers: expected a string, got integer 5",
            ),
            (
                "max_calls_per_user = 0",
                "sip.max_calls_per_user: expected an integer from 1 to 1000, got 0",
            ),
            (
                "max_calls_per_user = \"4\"",
                "sip.max_calls_per_user: expected an integer from 1 to 1000, got string \"4\"",
            ),
            (
                "rate_limit_per_ip = -1",
                "sip.rate_limit_per_ip: expected an integer from 0 to 1000000, got -1",
            ),
            (
                "block_for = \"25h\"",
                "sip.block_for: must be at most 24h (\"0s\" = never block), got \"25h\"",
            ),
            (
                "block_for = \"1 m\"",
                "sip.block_for: expected a duration like \"500ms\", \"30s\", \"5m\" or \"1h\", got \"1 m\"",
            ),
            (
                "session_timer = \"89s\"",
                "sip.session_timer: must be \"0s\" (disabled) or between 90s and 24h, got \"89s\"",
            ),
            (
                "session_timer = \"90500ms\"",
                "sip.session_timer: must be whole seconds (Session-Expires counts seconds), got \"90500ms\"",
            ),
        ];
        for (toml, expected) in cases {
            assert_eq!(sip_errors(toml), expected, "{toml}");
        }
        let e = sip_errors("allowed_numbers = \"[0-9\"");
        assert!(
            e.starts_with("sip.allowed_numbers: invalid regular expression \"[0-9\": "),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
    }

    #[test]
    fn policy_keys_from_the_environment() {
        let vars = [
            ("WEBRTC_GATEWAY__SIP__ALLOWED_NUMBERS", "^[0-9]{3,4}$"),
            ("WEBRTC_GATEWAY__SIP__MAX_CALLS_PER_USER", "2"),
            ("WEBRTC_GATEWAY__SIP__RATE_LIMIT_PER_IP", "0"),
            ("WEBRTC_GATEWAY__SIP__BLOCK_FOR", "5m"),
            ("WEBRTC_GATEWAY__SIP__SESSION_TIMER", "600s"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let s = Config::from_toml_str("", vars).expect("valid").sip;
        assert!(s.is_allowed_number("600") && !s.is_allowed_number("60"));
        assert_eq!(s.max_calls_per_user, 2);
        assert_eq!(s.rate_limit_per_ip, None);
        assert_eq!(s.block_for, Some(Duration::from_secs(300)));
        assert_eq!(s.session_timer, Some(Duration::from_secs(600)));
    }
}
