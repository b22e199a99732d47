//! The configuration loader (TOML file plus `GATEWAY_*` environment overrides): never panics on any
//! text, and every error it reports can be displayed (line and column of a syntax error included).
//! Input: the TOML text, then optionally a NUL byte and `KEY=VALUE` overrides separated by NULs.
#![no_main]

use gateway_config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (toml, env) = text.split_once('\0').unwrap_or((text, ""));
    let env: Vec<(String, String)> = env
        .split('\0')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    match Config::from_toml_str(toml, env) {
        Ok(config) => {
            let _ = format!("{config:?}");
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
