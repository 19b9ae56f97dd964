//! Integration tests of `ringfence-policy`, built as one test binary (one link, not one per file).
//! Each file is a module; run one with `cargo nextest run -p ringfence-policy <file>::`.

mod classify;
mod egress;
mod inbound;
mod normalise;
mod properties;
