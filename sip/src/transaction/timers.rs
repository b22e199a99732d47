//! The RFC 3261 §17 timer table (Table 4, plus RFC 6026's L and M), after quinn-proto's
//! `connection/timer.rs`: one optional deadline per timer, no clock inside.

use std::time::Instant;

/// A transaction timer, named as in RFC 3261 Table 4 and RFC 6026 §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// INVITE request retransmit (client, unreliable transports).
    A,
    /// INVITE transaction timeout (client).
    B,
    /// Wait for response retransmits after a non-2xx final response (client INVITE).
    D,
    /// Non-INVITE request retransmit (client, unreliable transports).
    E,
    /// Non-INVITE transaction timeout (client).
    F,
    /// INVITE final response retransmit (server, unreliable transports).
    G,
    /// Wait for ACK receipt (server INVITE).
    H,
    /// Wait for ACK retransmits (server INVITE, Confirmed).
    I,
    /// Wait for request retransmits (server non-INVITE, Completed).
    J,
    /// Wait for response retransmits (client non-INVITE, Completed).
    K,
    /// Wait in Accepted for ACK and INVITE retransmits (server INVITE, RFC 6026).
    L,
    /// Wait in Accepted for 2xx retransmits and forks (client INVITE, RFC 6026).
    M,
    /// Send 100 Trying when the TU has not responded within 200 ms (RFC 3261 §17.2.1).
    Trying,
}

impl Timer {
    /// Every timer, in table order.
    pub const VALUES: [Timer; 13] = [
        Timer::A,
        Timer::B,
        Timer::D,
        Timer::E,
        Timer::F,
        Timer::G,
        Timer::H,
        Timer::I,
        Timer::J,
        Timer::K,
        Timer::L,
        Timer::M,
        Timer::Trying,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// One optional deadline per [`Timer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerTable {
    data: [Option<Instant>; Timer::VALUES.len()],
}

impl TimerTable {
    /// Arms `timer` to fire at `deadline`, replacing any earlier setting.
    pub fn set(&mut self, timer: Timer, deadline: Instant) {
        self.data[timer.index()] = Some(deadline);
    }

    /// The deadline of `timer`, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.data[timer.index()]
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.data[timer.index()] = None;
    }

    /// Disarms every timer.
    pub fn stop_all(&mut self) {
        self.data = Default::default();
    }

    /// The earliest armed deadline.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.data.iter().flatten().min().copied()
    }

    /// The armed timer with the earliest deadline at or before `now`.
    pub fn expired(&self, now: Instant) -> Option<Timer> {
        Timer::VALUES
            .iter()
            .filter_map(|&t| self.get(t).filter(|&d| d <= now).map(|d| (d, t)))
            .min_by_key(|&(d, _)| d)
            .map(|(_, t)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[allow(clippy::disallowed_methods)] // the origin of virtual time; never read again
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn empty_table_has_no_expiry() {
        let table = TimerTable::default();
        assert_eq!(table.next_expiry(), None);
        assert_eq!(table.expired(t0()), None);
    }

    #[test]
    fn next_expiry_is_the_minimum_and_expired_the_earliest_due() {
        let now = t0();
        let mut table = TimerTable::default();
        table.set(Timer::B, now + Duration::from_secs(32));
        table.set(Timer::A, now + Duration::from_millis(500));
        table.set(Timer::Trying, now + Duration::from_millis(200));
        assert_eq!(table.next_expiry(), Some(now + Duration::from_millis(200)));
        assert_eq!(table.expired(now), None);
        assert_eq!(
            table.expired(now + Duration::from_secs(40)),
            Some(Timer::Trying)
        );
        table.stop(Timer::Trying);
        assert_eq!(table.expired(now + Duration::from_secs(40)), Some(Timer::A));
        assert_eq!(table.expired(now + Duration::from_millis(499)), None);
        table.set(Timer::A, now + Duration::from_secs(33));
        assert_eq!(table.next_expiry(), Some(now + Duration::from_secs(32)));
        assert_eq!(table.get(Timer::A), Some(now + Duration::from_secs(33)));
        table.stop_all();
        assert_eq!(table.next_expiry(), None);
    }
}
