//! Integration tests of `ringfence-sip-types`, built as one test binary (one link, not one per file).
//! Each file is a module; run one with `cargo nextest run -p ringfence-sip-types <file>::`.

mod common;

mod properties;
mod regressions;
mod rfc4475;
mod rfc5118;
