//! Stream framing of arbitrary bytes fed in arbitrary chunks: never panics, never
//! buffers more than the limit, and yields the same frames as feeding all at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringfence_sip_types::{Framed, Limits, StreamFramer};

fn run(data: &[u8], chunk: usize) -> (Vec<Framed>, bool) {
    let limits = Limits { max_message_size: 4096, ..Limits::default() };
    let mut f = StreamFramer::new(limits);
    let mut frames = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        if f.feed(piece).is_err() {
            return (frames, true);
        }
        loop {
            match f.next() {
                Ok(Framed::Incomplete) => break,
                Ok(fr) => frames.push(fr),
                Err(_) => return (frames, true),
            }
        }
        assert!(f.buffered() <= 2 * limits.max_message_size);
    }
    (frames, false)
}

fuzz_target!(|data: &[u8]| {
    let Some((&c, rest)) = data.split_first() else { return };
    let (small, small_err) = run(rest, usize::from(c % 17) + 1);
    let (whole, whole_err) = run(rest, rest.len().max(1));
    if !small_err && !whole_err {
        assert_eq!(small, whole, "chunking must not change the frames");
    }
});
