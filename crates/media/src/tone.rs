//! Tones: a sine generator and a Goertzel detector, to check that audio crossed the
//! relay (tests) and for voicemail prompts.

use std::f64::consts::PI;

/// `n` samples of a sine of `freq` Hz at `rate` Hz with peak `amplitude`.
pub fn sine(freq: f64, rate: u32, n: usize, amplitude: f64) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let v = amplitude * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin();
            v.round().clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

/// Power of `freq` in `samples` (Goertzel algorithm), normalised by the length.
pub fn goertzel(samples: &[i16], freq: f64, rate: u32) -> f64 {
    let k = 2.0 * (2.0 * PI * freq / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - k * s1 * s2;
    power / (samples.len().max(1) as f64).powi(2)
}

/// The frequency among `candidates` with the most power in `samples`.
pub fn dominant(samples: &[i16], candidates: &[f64], rate: u32) -> Option<f64> {
    candidates
        .iter()
        .copied()
        .map(|f| (f, goertzel(samples, f, rate)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goertzel_finds_the_tone_through_g711() {
        let tone = sine(1000.0, 8000, 8000, 8000.0);
        let through: Vec<i16> = tone
            .iter()
            .map(|s| crate::g711::ulaw_to_linear(crate::g711::linear_to_ulaw(*s)))
            .collect();
        let cands = [440.0, 697.0, 1000.0, 1633.0];
        assert_eq!(dominant(&through, &cands, 8000), Some(1000.0));
        assert!(goertzel(&through, 1000.0, 8000) > 100.0 * goertzel(&through, 440.0, 8000));
        assert_eq!(dominant(&sine(440.0, 8000, 4000, 3000.0), &cands, 8000), Some(440.0));
    }
}
