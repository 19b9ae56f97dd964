//! The port pool: even RTP ports (RTCP on the odd port above) handed out to sessions
//! and taken back after a quarantine, so late packets of an ended call never reach the
//! next one.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Inner {
    free: VecDeque<u16>,
    resting: VecDeque<(Instant, u16)>,
}

/// Even ports from a range, with quarantine on release.
#[derive(Debug)]
pub struct PortPool {
    inner: Mutex<Inner>,
    quarantine: Duration,
    total: usize,
}

impl PortPool {
    /// Every even port `p` with `min <= p` and `p + 1 <= max`.
    pub fn new(min: u16, max: u16, quarantine: Duration) -> PortPool {
        let first = u32::from(min).div_ceil(2) * 2;
        let free: VecDeque<u16> =
            (first..u32::from(max)).step_by(2).filter_map(|p| u16::try_from(p).ok()).collect();
        let total = free.len();
        PortPool { inner: Mutex::new(Inner { free, resting: VecDeque::new() }), quarantine, total }
    }

    /// The state, with ports whose quarantine is over moved to the free list.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        while g.resting.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, p)) = g.resting.pop_front() {
                g.free.push_back(p);
            }
        }
        g
    }

    /// A free even port, or `None` when all are in use or resting.
    pub fn take(&self) -> Option<u16> {
        self.lock().free.pop_front()
    }

    /// Returns `port` to the pool after the quarantine.
    pub fn release(&self, port: u16) {
        let until = Instant::now() + self.quarantine;
        self.lock().resting.push_back((until, port));
    }

    /// Ports free now (not counting resting ones).
    pub fn free(&self) -> usize {
        self.lock().free.len()
    }

    /// Port pairs in quarantine.
    pub fn resting(&self) -> usize {
        self.lock().resting.len()
    }

    /// Pairs in the pool.
    pub fn total(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_ports_with_quarantine() {
        let pool = PortPool::new(10001, 10008, Duration::from_millis(50));
        assert_eq!(pool.total(), 3, "10002, 10004, 10006 (10008 has no RTCP port)");
        let ports: Vec<u16> = (0..3).map(|_| pool.take().unwrap()).collect();
        assert_eq!(ports, [10002, 10004, 10006]);
        assert_eq!(pool.take(), None);
        pool.release(10004);
        assert_eq!(pool.resting(), 1);
        let long = PortPool::new(20000, 20001, Duration::from_secs(3600));
        let p = long.take().unwrap();
        long.release(p);
        assert_eq!(long.take(), None, "still resting");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(pool.take(), Some(10004), "quarantine over");
        assert_eq!(pool.free(), 0);
    }
}
