//! What the caller hears when no device of the callee answers, and how the record names
//! it (RFC 3261 §16.7 step 6, adapted to a B2BUA that never relays challenges or
//! redirects from the callee's devices).

use ringfence_store::Disposition;

/// The final status for the caller, given each fork's final status (a timeout counts as
/// 408, a transport failure as 503):
/// 1. a 6xx from any device ends the search: it is relayed (600 busy everywhere,
///    603 decline, ...);
/// 2. else any `486 Busy Here` gives 486;
/// 3. else a `488 Not Acceptable Here` (no common media) gives 488;
/// 4. else `480 Temporarily Unavailable`: devices that timed out, were unreachable,
///    challenged us (401/407) or redirected (3xx) all mean "not reachable now".
pub(crate) fn choose_final(statuses: &[u16]) -> u16 {
    if let Some(s) = statuses.iter().find(|s| (600..700).contains(*s)) {
        return *s;
    }
    if statuses.contains(&486) {
        return 486;
    }
    if statuses.contains(&488) {
        return 488;
    }
    480
}

/// The disposition of a call refused or failed with `status` before an answer.
pub(crate) fn disposition_for(status: u16) -> Disposition {
    match status {
        486 | 600 => Disposition::Busy,
        603 => Disposition::Rejected,
        480 | 404 | 410 => Disposition::Unavailable,
        _ => Disposition::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3261_16_7_six_hundreds_win() {
        assert_eq!(choose_final(&[486, 603, 408]), 603);
        assert_eq!(choose_final(&[600]), 600);
    }

    #[test]
    fn busy_beats_unreachable() {
        assert_eq!(choose_final(&[486, 486]), 486);
        assert_eq!(choose_final(&[408, 486, 503]), 486);
        assert_eq!(choose_final(&[488, 408]), 488);
    }

    #[test]
    fn challenges_redirects_and_failures_mean_unavailable() {
        assert_eq!(choose_final(&[401]), 480);
        assert_eq!(choose_final(&[407, 302]), 480);
        assert_eq!(choose_final(&[408, 503, 500]), 480);
        assert_eq!(choose_final(&[]), 480);
    }

    #[test]
    fn dispositions() {
        assert_eq!(disposition_for(486), Disposition::Busy);
        assert_eq!(disposition_for(600), Disposition::Busy);
        assert_eq!(disposition_for(603), Disposition::Rejected);
        assert_eq!(disposition_for(480), Disposition::Unavailable);
        assert_eq!(disposition_for(488), Disposition::Failed);
    }
}
