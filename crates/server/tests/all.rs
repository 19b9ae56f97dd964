//! Integration tests of `ringfence-server`, built as one test binary (one link, not one per file).
//! Each file is a module; run one with `cargo nextest run -p ringfence-server <file>::`.

mod b2bua_support;
mod common;
mod dns_support;
mod media_support;
mod phone_support;
mod transport_support;
mod trunk_support;

mod calls_baresip;
mod calls_dialogs;
mod calls_hooks;
mod calls_sipp;
mod calls_wire;
mod core_shards;
mod media_baresip;
mod media_wire;
mod registrar_sipp;
mod registrar_tls;
mod registrar_wire;
mod transport_limits;
mod transport_peers;
mod transport_stream;
mod transport_udp;
mod trunk_dns;
mod trunk_egress;
mod trunk_inbound;
mod trunk_new_network;
mod trunk_paths;
mod trunk_register;
mod trunk_suspension;
mod trunk_tls;
mod trunk_webhook;
