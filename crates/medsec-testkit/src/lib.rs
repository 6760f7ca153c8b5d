#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Test support: failing loudly is the right behaviour here.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

mod postgres;

pub use postgres::PgCluster;
