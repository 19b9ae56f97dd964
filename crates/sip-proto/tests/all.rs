//! Integration tests of `ringfence-sip-proto`, built as one test binary (one link, not one per file).
//! Each file is a module; run one with `cargo nextest run -p ringfence-sip-proto <file>::`.

mod sim_support;
mod transaction_support;

mod digest_rfc7616;
mod sim_invite;
mod sim_non_invite;
mod transaction_client;
mod transaction_layer;
mod transaction_server;
