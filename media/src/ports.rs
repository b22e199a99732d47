//! RTP/RTCP port pair allocation: even RTP port, RTCP on the next one (RFC 3550 §11).
//!
//! Ports are handed out round-robin so a port just released (whose late packets may still be in
//! flight) is the last to be reused. The lock is taken per call setup, never per packet.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{Error, Result};

/// An inclusive UDP port range for media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    start: u16,
    end: u16,
}

impl PortRange {
    /// A range from `start` to `end` inclusive; it must hold at least one even port and its successor.
    pub fn new(start: u16, end: u16) -> Result<Self> {
        let first = start.checked_add(start % 2);
        match first {
            Some(p) if p < end => Ok(Self { start, end }),
            _ => Err(Error::InvalidPortRange { start, end }),
        }
    }

    /// First port of the range.
    pub fn start(&self) -> u16 {
        self.start
    }

    /// Last port of the range (inclusive).
    pub fn end(&self) -> u16 {
        self.end
    }

    /// The first even port.
    fn first_rtp(&self) -> u16 {
        self.start + self.start % 2
    }

    /// Number of RTP/RTCP pairs in the range.
    pub fn pairs(&self) -> usize {
        // `new` guarantees first_rtp < end, so this does not underflow.
        usize::from(self.end - 1 - self.first_rtp()) / 2 + 1
    }
}

#[derive(Debug)]
struct State {
    in_use: Vec<bool>,
    next: usize,
}

/// Hands out RTP/RTCP port pairs; cheap to clone, shared between threads.
#[derive(Debug, Clone)]
pub struct PortAllocator {
    range: PortRange,
    state: Arc<Mutex<State>>,
}

/// A held port pair; dropping it returns the pair to the allocator.
#[derive(Debug)]
pub struct PortLease {
    rtp: u16,
    index: usize,
    state: Arc<Mutex<State>>,
}

/// The state is a list of flags that every operation leaves consistent, so a panic elsewhere while
/// the lock was held cannot corrupt it: recover from poisoning instead of propagating it.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PortAllocator {
    /// An allocator over `range` with every pair free.
    pub fn new(range: PortRange) -> Self {
        Self {
            range,
            state: Arc::new(Mutex::new(State {
                in_use: vec![false; range.pairs()],
                next: 0,
            })),
        }
    }

    /// The range this allocator serves.
    pub fn range(&self) -> PortRange {
        self.range
    }

    /// The next free pair after the last one handed out, `None` when all are held.
    ///
    /// If binding the pair fails (another program holds it), drop the lease and ask again: the
    /// round-robin order moves on to the next pair.
    pub fn allocate(&self) -> Option<PortLease> {
        let mut state = lock(&self.state);
        let n = state.in_use.len();
        let index = (0..n)
            .map(|i| (state.next + i) % n)
            .find(|&i| !state.in_use[i])?;
        state.in_use[index] = true;
        state.next = (index + 1) % n;
        Some(PortLease {
            rtp: self.range.first_rtp() + 2 * index as u16,
            index,
            state: Arc::clone(&self.state),
        })
    }

    /// Pairs currently free.
    pub fn available(&self) -> usize {
        lock(&self.state)
            .in_use
            .iter()
            .filter(|&&used| !used)
            .count()
    }
}

impl PortLease {
    /// The (even) RTP port.
    pub fn rtp_port(&self) -> u16 {
        self.rtp
    }

    /// The RTCP port (RTP port + 1).
    pub fn rtcp_port(&self) -> u16 {
        self.rtp + 1
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        if let Some(used) = lock(&self.state).in_use.get_mut(self.index) {
            *used = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_need_an_even_port_and_its_successor() {
        assert_eq!(PortRange::new(10_000, 10_001).unwrap().pairs(), 1);
        assert_eq!(PortRange::new(10_000, 10_003).unwrap().pairs(), 2);
        assert_eq!(PortRange::new(10_001, 10_004).unwrap().pairs(), 1);
        assert_eq!(PortRange::new(10_001, 10_005).unwrap().pairs(), 2);
        assert!(PortRange::new(10_000, 10_000).is_err());
        assert!(PortRange::new(10_001, 10_002).is_err());
        assert!(PortRange::new(10_002, 10_000).is_err());
        assert!(PortRange::new(65_535, 65_535).is_err());
        assert_eq!(PortRange::new(65_534, 65_535).unwrap().pairs(), 1);
    }

    /// RFC 3550 §11: RTP on an even port, RTCP on the next higher (odd) one.
    #[test]
    fn hands_out_even_pairs_round_robin() {
        let alloc = PortAllocator::new(PortRange::new(20_001, 20_008).unwrap());
        let a = alloc.allocate().unwrap();
        assert_eq!((a.rtp_port(), a.rtcp_port()), (20_002, 20_003));
        let b = alloc.allocate().unwrap();
        assert_eq!(b.rtp_port(), 20_004);
        drop(a);
        // Round robin: the released pair is not reused before the others.
        let c = alloc.allocate().unwrap();
        assert_eq!(c.rtp_port(), 20_006);
        let d = alloc.allocate().unwrap();
        assert_eq!(d.rtp_port(), 20_002);
        assert_eq!(alloc.range().start(), 20_001);
        assert_eq!(alloc.range().end(), 20_008);
    }

    #[test]
    fn exhaustion_returns_none_until_a_lease_is_dropped() {
        let alloc = PortAllocator::new(PortRange::new(30_000, 30_005).unwrap());
        let leases: Vec<_> = std::iter::from_fn(|| alloc.allocate()).collect();
        assert_eq!(leases.len(), 3);
        assert_eq!(alloc.available(), 0);
        assert!(alloc.allocate().is_none());
        let ports: Vec<_> = leases.iter().map(PortLease::rtp_port).collect();
        assert_eq!(ports, vec![30_000, 30_002, 30_004]);
        let mut leases = leases;
        drop(leases.remove(1));
        assert_eq!(alloc.available(), 1);
        assert_eq!(alloc.allocate().unwrap().rtp_port(), 30_002);
        drop(leases);
        assert_eq!(alloc.available(), 3);
    }

    #[test]
    fn concurrent_callers_never_share_a_pair() {
        let alloc = PortAllocator::new(PortRange::new(40_000, 40_199).unwrap());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let alloc = alloc.clone();
                std::thread::spawn(move || {
                    (0..25)
                        .map(|_| alloc.allocate().unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let leases: Vec<PortLease> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        assert!(alloc.allocate().is_none());
        let mut ports: Vec<u16> = leases.iter().map(PortLease::rtp_port).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 100);
        assert!(ports.iter().all(|p| p % 2 == 0));
    }
}
