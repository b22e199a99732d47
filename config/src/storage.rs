//! `[storage]`: where the gateway keeps state on disk (the SQLite outbox of reports to Odoo).

use std::path::PathBuf;

use toml::Value;

use crate::raw::{Ctx, Table, string};

/// Default `storage.data_dir`.
pub const DEFAULT_DATA_DIR: &str = "./data";

/// `[storage]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// Directory of the gateway's files (the outbox database); relative paths are relative to the
    /// working directory. Created when the gateway starts if missing.
    pub data_dir: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
        }
    }
}

pub(crate) fn build(mut t: Table, ctx: &mut Ctx) -> StorageConfig {
    let d = StorageConfig::default();
    let data_dir = t.get(ctx, "data_dir", d.data_dir, |ctx, key, value| {
        let dir = path(ctx, key, value)?;
        if dir.is_none() {
            ctx.error(key, "must not be empty (the outbox needs a directory)");
        }
        dir
    });
    t.finish(ctx);
    StorageConfig { data_dir }
}

/// A file system path; `""` means "not set" (`None`). Blank text and control characters (a pasted
/// newline) are errors. Whether the path exists is checked when it is used.
pub(crate) fn path(ctx: &mut Ctx, key: &str, value: Value) -> Option<Option<PathBuf>> {
    let text = string(ctx, key, value)?;
    if text.is_empty() {
        Some(None)
    } else if text.trim().is_empty() || text.chars().any(char::is_control) {
        ctx.error(
            key,
            format!("expected a file system path without control characters, got {text:?}"),
        );
        None
    } else {
        Some(Some(PathBuf::from(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn data_dir_is_read() {
        let c = Config::from_toml_str("[storage]\ndata_dir = \"/var/lib/webrtc-gateway\"", [])
            .expect("valid");
        assert_eq!(c.storage.data_dir, PathBuf::from("/var/lib/webrtc-gateway"));
        assert_eq!(StorageConfig::default().data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn data_dir_rules() {
        let cases = [
            (
                "data_dir = \"\"",
                "storage.data_dir: must not be empty (the outbox needs a directory)",
            ),
            (
                "data_dir = \" \"",
                "storage.data_dir: expected a file system path without control characters, got \" \"",
            ),
            (
                "data_dir = \"/var/lib\\n\"",
                "storage.data_dir: expected a file system path without control characters, got \"/var/lib\\n\"",
            ),
            (
                "data_dir = 5",
                "storage.data_dir: expected a string, got integer 5",
            ),
            (
                "datadir = \"x\"",
                "storage.datadir: unknown key (did you mean \"storage.data_dir\"?)",
            ),
        ];
        for (toml, expected) in cases {
            let e = Config::from_toml_str(&format!("[storage]\n{toml}"), [])
                .expect_err("invalid")
                .to_string();
            assert_eq!(e, expected, "{toml}");
        }
    }

    #[test]
    fn data_dir_from_the_environment() {
        let c = Config::from_toml_str(
            "",
            [(
                "WEBRTC_GATEWAY__STORAGE__DATA_DIR".to_owned(),
                "/srv/gw".to_owned(),
            )],
        )
        .expect("valid");
        assert_eq!(c.storage.data_dir, PathBuf::from("/srv/gw"));
    }
}
