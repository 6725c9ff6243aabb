//! y-websocket load generator.
//!
//! `loadgen run` opens R rooms x C clients against any y-websocket server, makes every client
//! edit a shared Y.Text K times per second and measures how long each edit takes to reach the
//! other clients of its room. `loadgen startup` measures how long a server binary takes from
//! spawn to a 200 on its readiness URL.

mod client;
mod http;
mod procstat;
mod run;
mod startup;
mod stats;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process; boxing the arguments buys nothing"
)]
enum Cmd {
    /// Run a load test and print propagation latency, throughput and errors.
    Run(run::RunArgs),
    /// Spawn a server repeatedly and time spawn -> readiness URL answering 200.
    Startup(startup::StartupArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.cmd {
        Cmd::Run(args) => run::main(args),
        Cmd::Startup(args) => startup::main(args),
    };
    std::process::exit(code);
}
