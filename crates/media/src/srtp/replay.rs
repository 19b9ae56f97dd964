//! Replay protection: a sliding window over packet indices (RFC 3711 §3.3.2), 128
//! packets wide (the RFC's minimum is 64).

/// Width of the window.
pub(crate) const WINDOW: u64 = 128;

/// The highest index seen and a bitmap of the `WINDOW` indices below and at it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReplayWindow {
    top: Option<u64>,
    bits: u128,
}

impl ReplayWindow {
    /// True when `index` is new and inside the window (check before authenticating).
    pub(crate) fn check(&self, index: u64) -> bool {
        let Some(top) = self.top else { return true };
        if index > top {
            return true;
        }
        let delta = top - index;
        delta < WINDOW && self.bits & (1u128 << delta) == 0
    }

    /// Records `index` (after it authenticated).
    pub(crate) fn accept(&mut self, index: u64) {
        match self.top {
            None => {
                self.top = Some(index);
                self.bits = 1;
            }
            Some(top) if index > top => {
                let shift = index - top;
                self.bits = if shift >= WINDOW { 0 } else { self.bits << shift };
                self.bits |= 1;
                self.top = Some(index);
            }
            Some(top) => {
                let delta = top - index;
                if delta < WINDOW {
                    self.bits |= 1u128 << delta;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3711_section_3_3_2_window() {
        let mut w = ReplayWindow::default();
        assert!(w.check(1000));
        w.accept(1000);
        assert!(!w.check(1000), "duplicate");
        assert!(w.check(999) && w.check(1001));
        w.accept(1002);
        assert!(w.check(1001), "a late packet inside the window");
        w.accept(1001);
        assert!(!w.check(1001));
        assert!(!w.check(1002 - WINDOW), "too old");
        assert!(w.check(1003 - WINDOW));
        w.accept(5000);
        assert!(!w.check(1002) && w.check(4999) && !w.check(5000));
    }
}
