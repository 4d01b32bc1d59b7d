//! `gateway --config FILE` serves; `gateway hash-password` reads a password
//! on stdin and prints its argon2 PHC string for the config's `password_hash`.
//!
//! Prints exactly one line, `gateway listening on http://ADDR:PORT`, once
//! bound (scripts wait for it). SIGTERM or ctrl-c shuts down gracefully.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

use agent_console_gateway::config::Config;
use agent_console_gateway::{app, session, Gateway};
use clap::{Parser, Subcommand};
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "gateway",
    about = "agent-console's gateway: vendor secrets, webhooks and per-agent rights on a server"
)]
struct Cli {
    /// The TOML config file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Overrides the config's `listen` (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Overrides the config's `www` (the console's files).
    #[arg(long, value_name = "DIR")]
    www: Option<PathBuf>,
    /// Overrides the config's `data` (the database's folder).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Reads a password on stdin, prints its argon2 PHC string.
    HashPassword,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::HashPassword) = cli.command {
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).is_err() {
            eprintln!("gateway: cannot read the password from stdin");
            return ExitCode::FAILURE;
        }
        let password = line.trim_end_matches(['\r', '\n']);
        if password.is_empty() {
            eprintln!("gateway: the password is empty");
            return ExitCode::FAILURE;
        }
        return match session::hash_password(password) {
            Ok(h) => {
                println!("{h}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gateway: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let Some(path) = cli.config else {
        eprintln!("gateway: --config FILE is required (or `gateway hash-password`)");
        return ExitCode::FAILURE;
    };
    let mut config = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gateway: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    // The same file serves a developer's `make serve` and the tests.
    if let Some(l) = cli.listen {
        config.listen = l;
    }
    if let Some(w) = cli.www {
        config.www = Some(w);
    }
    if let Some(d) = cli.data {
        config.data = d;
    }
    let listener = match TcpListener::bind(config.listen.as_str()).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("gateway: cannot bind {}: {e}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let gw = match Gateway::new(config) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    Gateway::start(&gw);
    if let Ok(local) = listener.local_addr() {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "gateway listening on http://{local}");
        let _ = out.flush();
    }
    let served = axum::serve(listener, app(gw).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway: {e}");
            ExitCode::FAILURE
        }
    }
}
