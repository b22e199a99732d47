//! `[limits]`: sizes of what peers may send, and connection rates, so that hostile input costs
//! bounded memory.

use toml::Value;

use crate::raw::{Ctx, Table, integer_in};
use crate::sip_policy::optional_rate;

/// `[limits]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Largest SIP message accepted (bytes, over UDP or TCP); larger ones are refused.
    pub max_sip_message: usize,
    /// Largest signaling WebSocket frame (bytes); a larger one gets an `error` reply, and one over
    /// four times this closes the connection.
    pub max_json_frame: usize,
    /// Longest SDP line (bytes) in an offer or answer from either side.
    pub max_sdp_line: usize,
    /// Longest AMI line (bytes); a longer one drops the connection to that server.
    pub max_ami_line: usize,
    /// New WebSocket connections per minute from one source IP; `None` = no limit.
    pub ws_connections_per_ip_per_min: Option<u32>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_sip_message: 65_535,
            max_json_frame: 262_144,
            max_sdp_line: 4096,
            max_ami_line: 32_768,
            ws_connections_per_ip_per_min: Some(60),
        }
    }
}

pub(crate) fn build(mut t: Table, ctx: &mut Ctx) -> LimitsConfig {
    let d = LimitsConfig::default();
    // Lower bounds: RFC 3261 §18.1.1 lets UDP messages reach 1300 bytes before TCP is required;
    // Asterisk's AMI and the SDP of a video call need a few kilobytes; signaling carries SDP in JSON.
    let max_sip_message = t.get(ctx, "max_sip_message", d.max_sip_message, |ctx, key, v| {
        size(ctx, key, v, 1300, 16 << 20)
    });
    let max_json_frame = t.get(ctx, "max_json_frame", d.max_json_frame, |ctx, key, v| {
        size(ctx, key, v, 16 << 10, 16 << 20)
    });
    let max_sdp_line = t.get(ctx, "max_sdp_line", d.max_sdp_line, |ctx, key, v| {
        size(ctx, key, v, 256, 1 << 20)
    });
    let max_ami_line = t.get(ctx, "max_ami_line", d.max_ami_line, |ctx, key, v| {
        size(ctx, key, v, 1024, 16 << 20)
    });
    let ws_connections_per_ip_per_min = t.get(
        ctx,
        "ws_connections_per_ip_per_min",
        d.ws_connections_per_ip_per_min,
        optional_rate,
    );
    t.finish(ctx);
    LimitsConfig {
        max_sip_message,
        max_json_frame,
        max_sdp_line,
        max_ami_line,
        ws_connections_per_ip_per_min,
    }
}

fn size(ctx: &mut Ctx, key: &str, value: Value, min: i64, max: i64) -> Option<usize> {
    integer_in(ctx, key, value, min..=max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn limits(toml: &str) -> LimitsConfig {
        Config::from_toml_str(&format!("[limits]\n{toml}"), [])
            .expect("valid")
            .limits
    }

    fn limit_errors(toml: &str) -> String {
        Config::from_toml_str(&format!("[limits]\n{toml}"), [])
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn defaults_and_every_key_read() {
        let d = LimitsConfig::default();
        assert_eq!(
            (
                d.max_sip_message,
                d.max_json_frame,
                d.max_sdp_line,
                d.max_ami_line
            ),
            (65_535, 262_144, 4096, 32_768)
        );
        assert_eq!(d.ws_connections_per_ip_per_min, Some(60));
        let l = limits(
            "max_sip_message = 1300\nmax_json_frame = 16384\nmax_sdp_line = 256\n\
             max_ami_line = 1024\nws_connections_per_ip_per_min = 0",
        );
        assert_eq!(
            (
                l.max_sip_message,
                l.max_json_frame,
                l.max_sdp_line,
                l.max_ami_line
            ),
            (1300, 16_384, 256, 1024)
        );
        assert_eq!(l.ws_connections_per_ip_per_min, None);
        let l = limits("max_sip_message = 16777216\nws_connections_per_ip_per_min = 5");
        assert_eq!(l.max_sip_message, 16 << 20);
        assert_eq!(l.ws_connections_per_ip_per_min, Some(5));
    }

    #[test]
    fn each_limit_is_validated() {
        let cases = [
            (
                "max_sip_message = 1299",
                "limits.max_sip_message: expected an integer from 1300 to 16777216, got 1299",
            ),
            (
                "max_json_frame = 16777217",
                "limits.max_json_frame: expected an integer from 16384 to 16777216, got 16777217",
            ),
            (
                "max_sdp_line = \"4k\"",
                "limits.max_sdp_line: expected an integer from 256 to 1048576, got string \"4k\"",
            ),
            (
                "max_ami_line = 0",
                "limits.max_ami_line: expected an integer from 1024 to 16777216, got 0",
            ),
            (
                "ws_connections_per_ip_per_min = -5",
                "limits.ws_connections_per_ip_per_min: expected an integer from 0 to 1000000, got -5",
            ),
            (
                "max_sip_messages = 1",
                "limits.max_sip_messages: unknown key (did you mean \"limits.max_sip_message\"?)",
            ),
        ];
        for (toml, expected) in cases {
            assert_eq!(limit_errors(toml), expected, "{toml}");
        }
    }

    #[test]
    fn limits_from_the_environment() {
        let c = Config::from_toml_str(
            "",
            [
                ("WEBRTC_GATEWAY__LIMITS__MAX_JSON_FRAME", "65536"),
                ("WEBRTC_GATEWAY__LIMITS__WS_CONNECTIONS_PER_IP_PER_MIN", "0"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .expect("valid");
        assert_eq!(c.limits.max_json_frame, 65_536);
        assert_eq!(c.limits.ws_connections_per_ip_per_min, None);
    }
}
