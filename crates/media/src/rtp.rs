//! Just enough RTP and RTCP header reading for a relay (RFC 3550 §5.1, §6.4) and the
//! RTP/RTCP demultiplexing of a muxed port (RFC 5761 §4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! |                           timestamp                           |
//! |           synchronization source (SSRC) identifier            |
//! |            contributing source (CSRC) identifiers             |  CC x 32 bits
//! | defined by profile            |           length              |  if X
//! |                        header extension                       |  length x 32 bits
//! ```

use crate::MediaError;

/// Size of the fixed RTP header.
pub const RTP_HEADER: usize = 12;
/// Size of the RTCP header fields SRTCP leaves in clear (header word + sender SSRC).
pub const RTCP_HEADER: usize = 8;

/// Length of the RTP header (fixed part, CSRCs and extension) of `pkt`.
///
/// # Errors
/// [`MediaError::Malformed`] when it is not RTP version 2 or is cut short.
pub fn rtp_header_len(pkt: &[u8]) -> Result<usize, MediaError> {
    if pkt.len() < RTP_HEADER {
        return Err(MediaError::Malformed("shorter than an RTP header"));
    }
    if pkt[0] >> 6 != 2 {
        return Err(MediaError::Malformed("not RTP version 2"));
    }
    let mut len = RTP_HEADER + 4 * usize::from(pkt[0] & 0x0f);
    if pkt[0] & 0x10 != 0 {
        if pkt.len() < len + 4 {
            return Err(MediaError::Malformed("RTP extension header cut short"));
        }
        let words = usize::from(u16::from_be_bytes([pkt[len + 2], pkt[len + 3]]));
        len += 4 + 4 * words;
    }
    if pkt.len() < len {
        return Err(MediaError::Malformed("RTP header cut short"));
    }
    Ok(len)
}

/// The RTP sequence number (caller checked the length).
pub fn rtp_seq(pkt: &[u8]) -> u16 {
    u16::from_be_bytes([pkt[2], pkt[3]])
}

/// The RTP SSRC (caller checked the length).
pub fn rtp_ssrc(pkt: &[u8]) -> u32 {
    u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]])
}

/// The RTP payload type.
pub fn rtp_payload_type(pkt: &[u8]) -> u8 {
    pkt[1] & 0x7f
}

/// The sender SSRC of an RTCP packet (caller checked the length).
pub fn rtcp_ssrc(pkt: &[u8]) -> u32 {
    u32::from_be_bytes([pkt[4], pkt[5], pkt[6], pkt[7]])
}

/// Checks the first RTCP header of `pkt`.
///
/// # Errors
/// [`MediaError::Malformed`] when it is not RTCP version 2 or shorter than 8 bytes.
pub fn check_rtcp(pkt: &[u8]) -> Result<(), MediaError> {
    if pkt.len() < RTCP_HEADER {
        return Err(MediaError::Malformed("shorter than an RTCP header"));
    }
    if pkt[0] >> 6 != 2 {
        return Err(MediaError::Malformed("not RTCP version 2"));
    }
    Ok(())
}

/// On a muxed port, true when `pkt` is RTCP: its second byte (marker + payload type in
/// RTP) falls in 192..=223, the RTCP packet types 64..=95 with the marker bit set
/// (RFC 5761 §4).
pub fn is_rtcp(pkt: &[u8]) -> bool {
    pkt.len() >= 2 && (192..=223).contains(&pkt[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3550_section_5_1_header_lengths() {
        let mut p = vec![0x80, 0, 0x12, 0x34, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2];
        assert_eq!(rtp_header_len(&p).unwrap(), 12);
        assert_eq!((rtp_seq(&p), rtp_ssrc(&p)), (0x1234, 0xdead_beef));
        p[0] = 0x81; // one CSRC, cut short
        assert!(rtp_header_len(&p).is_err());
        p.extend([3, 4]);
        assert_eq!(rtp_header_len(&p).unwrap(), 16);
        let mut x = vec![0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 1];
        assert!(rtp_header_len(&x).is_err(), "extension of one word missing");
        x.extend([0; 4]);
        assert_eq!(rtp_header_len(&x).unwrap(), 20);
        assert!(rtp_header_len(&[0x40; 12]).is_err(), "version 1");
    }

    #[test]
    fn rfc5761_section_4_demultiplexing() {
        assert!(is_rtcp(&[0x80, 200])); // SR
        assert!(is_rtcp(&[0x81, 201])); // RR
        assert!(!is_rtcp(&[0x80, 0])); // PCMU
        assert!(!is_rtcp(&[0x80, 0x80 | 101])); // telephone-event with marker
        assert!(check_rtcp(&[0x80, 200, 0, 1, 0, 0, 0, 1]).is_ok());
        assert!(check_rtcp(&[0x80, 200, 0, 1]).is_err());
    }
}
