//! `[log]`: the tracing filter and output format the binary installs.

use std::str::FromStr;

use crate::raw::{Ctx, Table, parsed, string};

/// Default `log.level`.
pub const DEFAULT_LOG_LEVEL: &str = "info";

/// `[log]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// A `tracing_subscriber::EnvFilter` directive such as `"info,gateway_sip=debug"`.
    pub level: String,
    /// Human-readable text or one JSON object per line.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: DEFAULT_LOG_LEVEL.to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per event.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(format!("expected \"text\" or \"json\", got {text:?}")),
        }
    }
}

pub(crate) fn build(mut t: Table, ctx: &mut Ctx) -> LogConfig {
    let defaults = LogConfig::default();
    let level = t.get(ctx, "level", defaults.level, |ctx, key, value| {
        let level = string(ctx, key, value)?;
        // The binary checks the directive's grammar with EnvFilter; here only what is always wrong.
        if level.trim().is_empty() || level.chars().any(char::is_control) {
            ctx.error(
                key,
                format!("expected a filter directive like \"info\", got {level:?}"),
            );
            return None;
        }
        Some(level)
    });
    let format = t.get(ctx, "format", defaults.format, |ctx, key, value| {
        parsed(ctx, key, value, LogFormat::from_str)
    });
    t.finish(ctx);
    LogConfig { level, format }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn format_and_level() {
        let c = Config::from_toml_str("[log]\nlevel = \"debug,rtc=warn\"\nformat = \"json\"", [])
            .expect("valid");
        assert_eq!(c.log.level, "debug,rtc=warn");
        assert_eq!(c.log.format, LogFormat::Json);
    }

    #[test]
    fn bad_format_and_empty_level() {
        let errors = Config::from_toml_str("[log]\nlevel = \"\"\nformat = \"xml\"", [])
            .expect_err("invalid");
        assert_eq!(
            errors.to_string(),
            "log.level: expected a filter directive like \"info\", got \"\"\n\
             log.format: expected \"text\" or \"json\", got \"xml\""
        );
    }
}
