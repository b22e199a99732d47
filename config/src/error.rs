//! Configuration problems, collected so that one run reports all of them.

use std::fmt;

/// One problem with one configuration key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// Dotted path of the offending key, e.g. `sip.listen` or `webrtc.ice_servers[0].urls[1]`.
    pub key: String,
    /// What is wrong, never containing the value of a secret.
    pub message: String,
}

impl ConfigError {
    /// An error about `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Every problem found while loading a configuration, in the order they were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The problems; never empty when returned by [`crate::Config::load`].
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// Whether a problem was reported for exactly this key.
    pub fn has_key(&self, key: &str) -> bool {
        self.errors.iter().any(|e| e.key == key)
    }
}

impl fmt::Display for ConfigErrors {
    /// One line per error: `<key>: <message>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<Vec<ConfigError>> for ConfigErrors {
    fn from(errors: Vec<ConfigError>) -> Self {
        Self { errors }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_per_error() {
        let errors = ConfigErrors::from(vec![
            ConfigError::new("sip.lisen", "unknown key"),
            ConfigError::new("media.rtp_ports", "expected \"START-END\", got \"abc\""),
        ]);
        assert_eq!(
            errors.to_string(),
            "sip.lisen: unknown key\nmedia.rtp_ports: expected \"START-END\", got \"abc\""
        );
        assert!(errors.has_key("sip.lisen"));
        assert!(!errors.has_key("sip"));
    }
}
