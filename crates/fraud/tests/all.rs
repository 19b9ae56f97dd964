//! Integration tests of `ringfence-fraud`, built as one test binary (one link, not one per file).
//! Each file is a module; run one with `cargo nextest run -p ringfence-fraud <file>::`.

mod common;

mod attacks;
mod office_week;
mod properties;
mod snapshot;
