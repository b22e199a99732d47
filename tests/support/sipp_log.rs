//! SIPp's message log (`-trace_msg`), parsed: each SIP message with the wall-clock time SIPp
//! sent or received it. Every entry starts with a line of dashes and a local timestamp (SIPp runs
//! with `TZ=UTC`, see sipp.rs), then `UDP message sent (N bytes):` or
//! `UDP message received [N] bytes :`, a blank line and the message.

/// One message of the log.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LoggedMessage {
    /// When SIPp sent or received it: milliseconds since the Unix epoch (microsecond precision).
    pub(crate) at_unix_ms: f64,
    /// SIPp sent it (else received it).
    pub(crate) sent: bool,
    /// The message, from its start line.
    pub(crate) text: String,
}

impl LoggedMessage {
    /// The start line, e.g. `INVITE sip:alice@127.0.0.1:5080 SIP/2.0` or `SIP/2.0 180 Ringing`.
    pub(crate) fn start_line(&self) -> &str {
        self.text.lines().next().unwrap_or_default().trim_end()
    }

    /// A request with this method.
    pub(crate) fn is_request(&self, method: &str) -> bool {
        self.start_line()
            .split_once(' ')
            .is_some_and(|(m, _)| m == method)
    }

    /// A response with this status code (to a request of `method`, per its CSeq, when given).
    pub(crate) fn is_response(&self, code: u16, method: Option<&str>) -> bool {
        let status = self
            .start_line()
            .strip_prefix("SIP/2.0 ")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|c| c.parse::<u16>().ok());
        status == Some(code) && method.is_none_or(|m| self.cseq_method().as_deref() == Some(m))
    }

    /// The method of the CSeq header.
    pub(crate) fn cseq_method(&self) -> Option<String> {
        self.header("CSeq")
            .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
    }

    /// The value of the first header `name` (case-insensitive), trimmed.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.text
            .lines()
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
    }
}

/// Parses the whole log; entries it cannot read are skipped.
pub(crate) fn parse(log: &str) -> Vec<LoggedMessage> {
    let mut out = Vec::new();
    for entry in log
        .split("-----------------------------------------------")
        .skip(1)
    {
        let mut lines = entry.splitn(3, '\n');
        let Some(stamp) = lines.next() else { continue };
        let Some(kind) = lines.next() else { continue };
        let Some(at_unix_ms) = utc_ms(stamp.trim()) else {
            continue;
        };
        let sent = kind.contains("message sent");
        let text = lines
            .next()
            .unwrap_or_default()
            .trim_start_matches(['\r', '\n'])
            .to_owned();
        out.push(LoggedMessage {
            at_unix_ms,
            sent,
            text,
        });
    }
    out
}

/// `2026-11-21 02:39:39.839081` (SIPp) or `2026-11-21T02:39:39.839081Z` (RFC 3339, the
/// gateway's log), UTC, as milliseconds since the Unix epoch.
pub(crate) fn utc_ms(stamp: &str) -> Option<f64> {
    let stamp = stamp.strip_suffix('Z').unwrap_or(stamp);
    let (date, time) = stamp.split_once([' ', 'T'])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':');
    let hours: i64 = t.next()?.parse().ok()?;
    let minutes: i64 = t.next()?.parse().ok()?;
    let seconds: f64 = t.next()?.parse().ok()?;
    let days = days_from_civil(year, month, day);
    let whole = days * 86_400 + hours * 3_600 + minutes * 60;
    // Whole seconds since 1970 fit an f64 exactly; the fraction keeps microseconds.
    Some((whole as f64 + seconds) * 1000.0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sent_and_received_entries_with_their_time() {
        let log = "----------------------------------------------- 2026-11-21 02:40:47.080352\n\
                   UDP message received [20] bytes :\n\n\
                   INVITE sip:alice@127.0.0.1:5080 SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n\n\
                   ----------------------------------------------- 2026-11-21 02:40:47.082402\n\
                   UDP message sent (20 bytes):\n\n\
                   SIP/2.0 180 Ringing\r\nCSeq: 1 INVITE\r\n\r\n\n";
        let messages = parse(log);
        assert_eq!(messages.len(), 2);
        assert!(!messages[0].sent && messages[0].is_request("INVITE"));
        assert!(messages[1].sent && messages[1].is_response(180, Some("INVITE")));
        // date -u -d '2026-11-21 02:40:47' +%s = 1795228847
        assert!((messages[0].at_unix_ms - 1_795_228_847_080.352).abs() < 0.01);
        assert!((messages[1].at_unix_ms - messages[0].at_unix_ms - 2.05).abs() < 0.01);
        assert_eq!(
            utc_ms("2026-11-21T02:40:47.080352Z"),
            Some(messages[0].at_unix_ms)
        );
    }
}
