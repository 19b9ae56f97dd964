//! G.711 (ITU-T) µ-law (PCMU, payload type 0) and A-law (PCMA, 8) companding. The relay
//! never transcodes; this is for tests that check audio and for voicemail.

const BIAS: i32 = 0x84;
const CLIP: i32 = 32635;

/// One linear 16-bit sample to µ-law.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let mut exp = 7;
    let mut mask = 0x4000;
    while exp > 0 && s & mask == 0 {
        exp -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exp + 3)) & 0x0f;
    !((sign | (exp << 4) | mantissa) as u8)
}

/// One µ-law byte to a linear 16-bit sample.
pub fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u;
    let exp = i32::from((u >> 4) & 7);
    let mantissa = i32::from(u & 0x0f);
    let s = (((mantissa << 3) + BIAS) << exp) - BIAS;
    (if u & 0x80 != 0 { -s } else { s }) as i16
}

/// One linear 16-bit sample to A-law.
pub fn linear_to_alaw(sample: i16) -> u8 {
    const SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    let mut v = i32::from(sample) >> 3;
    let mask: i32 = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    let Some(seg) = SEG_END.iter().position(|&e| v <= e) else { return (0x7F ^ mask) as u8 };
    let seg = seg as i32;
    let mut a = seg << 4;
    a |= if seg < 2 { (v >> 1) & 0x0f } else { (v >> seg) & 0x0f };
    (a ^ mask) as u8
}

/// One A-law byte to a linear 16-bit sample.
pub fn alaw_to_linear(a: u8) -> i16 {
    let a = i32::from(a ^ 0x55);
    let mut t = (a & 0x0f) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => t = (t + 0x108) << (seg - 1),
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_reference_points() {
        assert_eq!(linear_to_ulaw(0), 0xff);
        assert_eq!(ulaw_to_linear(0xff), 0);
        assert_eq!(linear_to_ulaw(-1), 0x7f);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(linear_to_alaw(0), 0xd5);
        assert_eq!(alaw_to_linear(0xd5), 8);
        assert_eq!(alaw_to_linear(0xaa), 32256);
        assert_eq!(alaw_to_linear(0x2a), -32256);
    }

    #[test]
    fn round_trips_stay_within_the_quantisation_step() {
        for s in (-32000i32..32000).step_by(37) {
            let s = s as i16;
            let u = ulaw_to_linear(linear_to_ulaw(s));
            let a = alaw_to_linear(linear_to_alaw(s));
            let tol = (i32::from(s).abs() / 16).max(16);
            assert!((i32::from(u) - i32::from(s)).abs() <= tol, "µ-law {s} -> {u}");
            assert!((i32::from(a) - i32::from(s)).abs() <= tol, "A-law {s} -> {a}");
        }
    }
}
