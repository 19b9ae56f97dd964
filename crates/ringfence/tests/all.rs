//! Integration tests of `ringfence`, built as one test binary (one link, not one per file).
//! Each file is a module; run one with `cargo nextest run -p ringfence <file>::`.

mod common;

mod cli;
mod config_samples;
mod guard_attacks;
mod schemathesis;
mod serve_fraud_paths;
mod serve_office;
mod serve_sip;
mod serve_trunk;
