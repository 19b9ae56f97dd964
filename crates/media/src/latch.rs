//! Symmetric RTP latching: the relay learns where a device really sends from (behind
//! NAT that is rarely the address in its SDP) and sends its media back there. Until a
//! source is latched the first packets are accepted from anywhere; a source matching
//! the SDP address is preferred (it replaces a tentative latch on another source);
//! once latched, packets from any other source are dropped, so injected RTP never
//! reaches the other party. On SRTP legs the relay latches only on packets that
//! authenticated. An offer or answer that changes the address starts over.

use std::net::SocketAddr;

/// The latch of one socket of a leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latch {
    expected: Option<SocketAddr>,
    latched: Option<SocketAddr>,
}

/// What to do with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// From the latched source (or it just latched).
    Accept,
    /// From another source: drop it.
    Drop,
}

impl Latch {
    /// A latch expecting `expected` (from SDP; `None` when unknown or on hold).
    pub fn new(expected: Option<SocketAddr>) -> Latch {
        Latch { expected, latched: None }
    }

    /// How well `src` matches the SDP address: 2 exactly, 1 same IP, 0 not at all.
    fn score(&self, src: SocketAddr) -> u8 {
        match self.expected {
            Some(e) if e == src => 2,
            Some(e) if e.ip() == src.ip() => 1,
            _ => 0,
        }
    }

    /// True when a packet from `src` would be dropped whatever it holds (a cheap check
    /// before spending crypto on it).
    pub fn rejects(&self, src: SocketAddr) -> bool {
        match self.latched {
            None => false,
            Some(l) => l != src && self.score(src) <= self.score(l),
        }
    }

    /// Judges a (valid, authenticated) packet from `src`, latching as described above.
    pub fn offer(&mut self, src: SocketAddr) -> Verdict {
        if self.rejects(src) {
            return Verdict::Drop;
        }
        if self.latched != Some(src) {
            tracing::debug!(%src, expected = ?self.expected, "media source latched");
            self.latched = Some(src);
        }
        Verdict::Accept
    }

    /// Where to send to this device: the latched source, else the SDP address.
    pub fn destination(&self) -> Option<SocketAddr> {
        self.latched.or(self.expected)
    }

    /// The latched source, if any.
    pub fn latched(&self) -> Option<SocketAddr> {
        self.latched
    }

    /// The SDP address.
    pub fn expected(&self) -> Option<SocketAddr> {
        self.expected
    }

    /// A new SDP address: if it differs, start over (re-latching).
    pub fn update(&mut self, expected: Option<SocketAddr>) {
        if expected != self.expected {
            *self = Latch::new(expected);
        }
    }

    /// Forget the latched source, keeping the SDP address.
    pub fn relatch(&mut self) {
        self.latched = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn device_behind_nat_latches_and_injection_is_dropped() {
        let mut l = Latch::new(Some(a("10.0.0.5:4000")));
        assert_eq!(l.destination(), Some(a("10.0.0.5:4000")));
        assert_eq!(l.offer(a("203.0.113.9:61000")), Verdict::Accept);
        assert_eq!(l.destination(), Some(a("203.0.113.9:61000")));
        assert_eq!(l.offer(a("203.0.113.9:61001")), Verdict::Drop, "other port");
        assert_eq!(l.offer(a("198.51.100.1:4000")), Verdict::Drop, "other host");
        assert!(l.rejects(a("198.51.100.1:4000")));
        assert_eq!(l.offer(a("203.0.113.9:61000")), Verdict::Accept);
    }

    #[test]
    fn the_sdp_address_wins_over_a_tentative_latch() {
        let mut l = Latch::new(Some(a("192.0.2.7:5000")));
        assert_eq!(l.offer(a("198.51.100.66:9999")), Verdict::Accept, "first packet, anywhere");
        assert_eq!(l.offer(a("192.0.2.7:5002")), Verdict::Accept, "same IP is better");
        assert_eq!(l.offer(a("198.51.100.66:9999")), Verdict::Drop);
        assert_eq!(l.offer(a("192.0.2.7:5000")), Verdict::Accept, "exact match is best");
        assert_eq!(l.offer(a("192.0.2.7:5002")), Verdict::Drop, "final");
        assert_eq!(l.latched(), Some(a("192.0.2.7:5000")));
    }

    #[test]
    fn a_new_address_from_a_reinvite_relatches() {
        let mut l = Latch::new(Some(a("192.0.2.7:5000")));
        l.offer(a("192.0.2.7:5000"));
        l.update(Some(a("192.0.2.7:5000")));
        assert_eq!(l.latched(), Some(a("192.0.2.7:5000")), "unchanged SDP keeps the latch");
        l.update(Some(a("192.0.2.8:6000")));
        assert_eq!(l.latched(), None);
        assert_eq!(l.offer(a("192.0.2.8:6000")), Verdict::Accept);
        l.relatch();
        assert_eq!(l.destination(), Some(a("192.0.2.8:6000")));
        let mut unknown = Latch::new(None);
        assert_eq!(unknown.destination(), None);
        assert_eq!(unknown.offer(a("192.0.2.1:1")), Verdict::Accept);
    }
}
