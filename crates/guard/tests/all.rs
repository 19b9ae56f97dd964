//! Integration tests of `ringfence-guard`, built as one test binary (one link, not one per file).
//! Each file is a module; run one with `cargo nextest run -p ringfence-guard <file>::`.

mod office_nat;
mod properties;
