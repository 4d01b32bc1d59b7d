//! `sandbox`: serves the agent-console vendor stand-ins on one port.
//!
//! Prints exactly one line, `sandbox listening on http://ADDR:PORT`, to stdout once bound
//! (scripts wait for it and read the port from it; `--port 0` picks a free one). Request
//! logs go to stderr. SIGTERM or ctrl-c shuts down gracefully.

// Nothing from outside may panic: server code decodes to typed errors.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]
#![deny(clippy::await_holding_refcell_ref)]

use std::io::Write;
use std::process::ExitCode;

use agent_console_sandbox::{app_with_state, pbx, AppState, Settings};
use clap::Parser;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = Settings::parse();
    let listener = match TcpListener::bind((settings.addr.as_str(), settings.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sandbox: cannot bind {}:{}: {e}", settings.addr, settings.port);
            return ExitCode::FAILURE;
        }
    };
    let local = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sandbox: cannot read the bound address: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    // A closed stdout must not kill the server; the line is best-effort.
    let _ = writeln!(out, "sandbox listening on http://{local}");
    let _ = out.flush();
    drop(out);

    let state = AppState::new(settings.clone());
    if let Some(port) = settings.push_port {
        // The vendor's billing socket on a port of its own (`wss://HOST:8282/`).
        match TcpListener::bind((settings.addr.as_str(), port)).await {
            Ok(push) => {
                eprintln!("sandbox: billing push also on ws://{}:{port}/", settings.addr);
                let router = pbx::push::standalone_router(state.clone());
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(push, router).await {
                        eprintln!("sandbox: push server error: {e}");
                    }
                });
            }
            Err(e) => {
                eprintln!("sandbox: cannot bind push port {}:{port}: {e}", settings.addr);
                return ExitCode::FAILURE;
            }
        }
    }

    if let Err(e) =
        axum::serve(listener, app_with_state(state)).with_graceful_shutdown(shutdown_signal()).await
    {
        eprintln!("sandbox: server error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Resolves on ctrl-c or (on Unix) SIGTERM, whichever comes first.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No ctrl-c handler available: rely on SIGTERM alone.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("sandbox: shutting down");
}
