//! Integration tests of `ringfence-admin`, built as one test binary (one link, not one per file).
//! Each file is a module; run one with `cargo nextest run -p ringfence-admin <file>::`.

mod common;

mod api_flow;
mod at_rest;
mod calling_api;
mod fraud_api;
mod guard_api;
mod invalid_input;
mod isolation;
mod trunks_api;
mod webhook_api;
