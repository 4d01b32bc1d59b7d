//! The `gateway` binary as an operator runs it: `hash-password` and
//! `--config` with a wrong file.

use std::io::Write;
use std::process::{Command, Stdio};

fn gateway(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn hash_password_prints_a_phc_string_that_verifies() {
    let (ok, out, _) = gateway(&["hash-password"], "s3cret pass\n");
    assert!(ok);
    let hash = out.trim();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(agent_console_gateway::session::verify_password("s3cret pass", hash));
    assert!(
        !agent_console_gateway::session::verify_password("s3cret pass\n", hash),
        "the line end is not part of it"
    );
    let (ok, _, err) = gateway(&["hash-password"], "\n");
    assert!(!ok && err.contains("empty"), "{err}");
}

#[test]
fn the_example_config_reads_and_a_typo_is_named() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/gateway.example.toml");
    let text = std::fs::read_to_string(example).unwrap();
    let c = agent_console_gateway::config::Config::parse(&text).unwrap();
    assert!(c.agents.iter().any(|a| a.role == agent_console_gateway::config::Role::Supervisor));
    let dir = std::env::temp_dir().join(format!("gw-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, text.replace("client_secret", "client_secert")).unwrap();
    let (ok, _, err) = gateway(&["--config", bad.to_str().unwrap()], "");
    assert!(!ok && err.contains("client_secert"), "{err}");
    let (ok, _, err) = gateway(&[], "");
    assert!(!ok && err.contains("--config"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
