//! `webrtc-gateway doctor`: checks what a deployment needs and explains each problem in one line
//! with a fix — configuration, ports, Asterisk (SIP OPTIONS), AMI, Odoo, STUN, TURN and the TLS
//! certificate. The exit code is the number of failures; unconfigured items are skipped.

mod nat;
mod peers;
mod ports;
mod sip;

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use gateway_config::{Config, ConfigErrors};

/// A certificate expiring sooner than this is a failure: time to renew it.
pub const TLS_RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Works.
    Ok,
    /// Broken: counts toward the exit code.
    Fail,
    /// Not configured, so not checked.
    Skip,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that `{:<4}` aligns the report's columns.
        f.pad(match self {
            Status::Ok => "ok",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        })
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. `sip.proxy`.
    pub name: String,
    /// Its outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it (failures only).
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A failed check with its fix.
    pub fn fail(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// A check that did not run because nothing is configured.
    pub fn skip(name: impl Into<String>, why: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status: Status::Skip,
            detail: why.into(),
            fix: None,
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<4}  {:<16} {}", self.status, self.name, self.detail)?;
        if let Some(fix) = &self.fix {
            write!(f, " -- fix: {fix}")?;
        }
        Ok(())
    }
}

/// Every check, in the order they are printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// The number of failed checks (the process exit code, capped at 255 by the caller).
    pub fn failures(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count()
    }

    /// The check named `name`, if it ran.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        let failures = self.failures();
        match failures {
            0 => writeln!(f, "all checks passed"),
            1 => writeln!(f, "1 check failed"),
            n => writeln!(f, "{n} checks failed"),
        }
    }
}

/// The report for a configuration that does not load: one failure per key, nothing else runs.
pub fn config_failure(path: Option<&Path>, errors: &ConfigErrors) -> Report {
    let file = path.map_or_else(|| "the defaults".to_owned(), |p| p.display().to_string());
    let mut checks = Vec::new();
    for e in &errors.errors {
        checks.push(Check::fail(
            "config",
            format!("{file}: {}: {}", e.key, e.message),
            "correct this key (docs/configuration.md); the other checks need a valid configuration",
        ));
    }
    Report { checks }
}

/// Runs every check against `config` (loaded from `path`); `now` is the wall clock, for the
/// TURN credential expiry and the certificate's validity.
pub async fn run(config: &Config, path: Option<&Path>, now: SystemTime) -> Report {
    let file = path.map_or_else(
        || "embedded defaults".to_owned(),
        |p| p.display().to_string(),
    );
    let mut checks = vec![Check::ok("config", format!("{file} is valid"))];
    let running = ports::running_gateway(config).await;
    checks.extend(ports::check(config, running.as_deref()));
    let (sip, ami, odoo, stun, turn) = tokio::join!(
        sip::check(config),
        peers::ami(config),
        peers::odoo(config),
        nat::stun(config),
        nat::turn(config, now),
    );
    checks.push(sip);
    checks.extend(ami);
    checks.push(odoo);
    checks.extend(stun);
    checks.extend(turn);
    checks.push(tls(config, now));
    Report { checks }
}

/// `http.tls_cert`/`tls_key`: readable, a matching pair, valid now and for 30 more days.
fn tls(config: &Config, now: SystemTime) -> Check {
    const NAME: &str = "http.tls";
    let Some(files) = &config.http.tls else {
        return Check::skip(
            NAME,
            "http.tls_cert not set: plain HTTP (browsers on other hosts need https for the microphone)",
        );
    };
    let fix_files = "point http.tls_cert/tls_key at the PEM certificate chain and its private key, \
                     readable by the gateway's user (docs/deployment.md#tls)";
    if let Err(e) = crate::tls::server_config(files) {
        return Check::fail(NAME, e.to_string(), fix_files);
    }
    match crate::tls::certificate_facts(files) {
        Ok(facts) => tls_verdict(&facts, now),
        Err(e) => Check::fail(NAME, e.to_string(), fix_files),
    }
}

/// Whether a certificate valid from `not_before` to `not_after` is fine at `now`.
pub fn tls_verdict(facts: &crate::tls::CertificateFacts, now: SystemTime) -> Check {
    const NAME: &str = "http.tls";
    let renew = "renew the certificate (e.g. `certbot renew`), then restart the gateway";
    let days = |d: Duration| d.as_secs() / 86_400;
    if now < facts.not_before {
        return Check::fail(
            NAME,
            format!("{}: not valid yet", facts.subject),
            "check this host's clock (NTP), or issue the certificate again",
        );
    }
    match facts.not_after.duration_since(now) {
        Err(past) => Check::fail(
            NAME,
            format!(
                "{}: expired {} days ago",
                facts.subject,
                days(past.duration())
            ),
            renew,
        ),
        Ok(left) if left < TLS_RENEW_BEFORE => Check::fail(
            NAME,
            format!(
                "{}: expires in {} days (less than 30)",
                facts.subject,
                days(left)
            ),
            renew,
        ),
        Ok(left) => Check::ok(
            NAME,
            format!(
                "{}: key matches, valid for {} more days",
                facts.subject,
                days(left)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::CertificateFacts;

    const DAY: Duration = Duration::from_secs(86_400);

    fn facts(from_days: i64, to_days: i64, now: SystemTime) -> CertificateFacts {
        let at = |d: i64| {
            if d >= 0 {
                now + DAY * u32::try_from(d).unwrap()
            } else {
                now - DAY * u32::try_from(-d).unwrap()
            }
        };
        CertificateFacts {
            subject: "CN=gw.example.com".into(),
            not_before: at(from_days),
            not_after: at(to_days),
        }
    }

    #[test]
    fn certificate_validity_windows() {
        let now = SystemTime::UNIX_EPOCH + DAY * 20_000;
        let ok = tls_verdict(&facts(-10, 90, now), now);
        assert_eq!(ok.status, Status::Ok, "{ok}");
        assert!(ok.detail.contains("90 more days"), "{ok}");
        let soon = tls_verdict(&facts(-300, 29, now), now);
        assert_eq!(soon.status, Status::Fail);
        assert!(soon.detail.contains("expires in 29 days"), "{soon}");
        let expired = tls_verdict(&facts(-300, -3, now), now);
        assert!(expired.detail.contains("expired 3 days ago"), "{expired}");
        let early = tls_verdict(&facts(2, 90, now), now);
        assert!(early.detail.contains("not valid yet"), "{early}");
    }

    #[test]
    fn report_counts_failures_and_prints_one_line_each() {
        let report = Report {
            checks: vec![
                Check::ok("config", "gateway.toml is valid"),
                Check::fail("sip.proxy", "no answer", "start Asterisk"),
                Check::skip("odoo", "no [odoo]"),
            ],
        };
        assert_eq!(report.failures(), 1);
        let text = report.to_string();
        assert_eq!(
            text,
            "ok    config           gateway.toml is valid\n\
             FAIL  sip.proxy        no answer -- fix: start Asterisk\n\
             skip  odoo             no [odoo]\n\
             1 check failed\n"
        );
    }

    #[test]
    fn invalid_configuration_is_one_failure_per_key() {
        let errors = Config::from_toml_str("[http]\nlisten = \"nowhere\"\nmax_sessions = 0", [])
            .expect_err("invalid");
        let report = config_failure(Some(Path::new("gw.toml")), &errors);
        assert_eq!(report.failures(), 2);
        assert!(report.checks[0].detail.starts_with("gw.toml: http.listen"));
    }
}
