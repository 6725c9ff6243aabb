//! The server's integration tests, one module per area, in one test binary: each test
//! binary links the whole server, so one binary instead of fifteen saves minutes of every
//! build. Run one area with `cargo test --release -p interview-ide --test integration accounts::`.

mod accounts;
mod api;
mod assistant;
mod chaos;
mod cluster;
mod cockpit;
mod common;
mod execute;
mod layers;
mod live;
mod persistence;
mod questions;
mod routes;
mod sandbox;
mod storage;
mod workspace;
