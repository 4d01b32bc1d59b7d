//! `make load-gateway`: many consoles against the gateway on loopback,
//! bounded. The sandbox runs in this process; the gateway is its release
//! binary, in its own process, so its memory can be read from /proc.
//! Each console signs in, holds `/events` open and polls `status/endpoint`
//! every 2 s as the desk does; direct pollers ask the sandbox the same at
//! the same time. dapi call-record webhooks go to the gateway meanwhile,
//! each for two consoles. Prints the latency the gateway adds (p50/p99 over
//! the direct calls), the gateway's memory per console, and the events
//! delivered; exits 1 if one was lost or delivered twice.
//!
//! `load [CONSOLES] [SECONDS]` (default 1000, 30).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_secs(2);
const DIRECT_POLLERS: usize = 100;
const EVENTS_PER_SEC: u64 = 50;
const QUERY: &str = "/dscom-api/public/api/v1/status/endpoint?page=1&pageSize=100";

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn cheap_hash(password: &str) -> String {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let params = argon2::Params::new(1024, 1, 1, None).expect("argon2 params");
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    a.hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng)).expect("hash").to_string()
}

fn pct(v: &mut [u64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)] as f64 / 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let consoles: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000).max(1);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(30);

    // The vendors, in-process, with no simulated callers (quiet figures).
    let settings = agent_console_sandbox::Settings { pbx_no_callers: true, ..Default::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let vendors = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, agent_console_sandbox::app(settings)).await });

    // The gateway: its release binary beside this example, a config of `consoles` agents.
    let dir = std::env::temp_dir().join(format!("gw-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let hash = cheap_hash("load-pass");
    let mut cfg = format!(
        "listen = \"127.0.0.1:0\"\ndata = \"{}\"\n\n[pbx]\nbase_url = \"http://{vendors}/dscom-api/public\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nusername = \"{}\"\npassword = \"{}\"\npush_url = \"ws://{vendors}/push/\"\n\n[dapi]\nbase_url = \"http://{vendors}\"\n",
        dir.join("data").display(),
        agent_console_sandbox::pbx::DEMO_CLIENT_ID,
        agent_console_sandbox::pbx::DEMO_CLIENT_SECRET,
        agent_console_sandbox::pbx::DEMO_USERNAME,
        agent_console_sandbox::pbx::DEMO_PASSWORD,
    );
    for i in 0..consoles {
        cfg.push_str(&format!(
            "\n[[agent]]\nlogin = \"c{i}\"\npassword_hash = \"{hash}\"\nextension = \"{}\"\nagent_id = \"{}\"\nrole = \"agent\"\ndapi_uid = \"u{i}\"\n",
            100_000 + i,
            100_000 + i
        ));
    }
    let cfg_path = dir.join("gateway.toml");
    std::fs::write(&cfg_path, cfg).expect("config");
    let bin = std::env::current_exe()
        .expect("exe")
        .parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .join("gateway");
    let mut child = Command::new(&bin)
        .arg("--config")
        .arg(&cfg_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{}: {e} (cargo build --release -p agent-console-gateway)", bin.display())
        });
    let pid = child.id();
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("listening line");
    let base = line.trim().trim_start_matches("gateway listening on ").to_string();
    let idle_kib = rss_kib(pid);

    let http = reqwest::Client::builder().pool_max_idle_per_host(4096).build().expect("client");
    // Sign in every console (a few at a time, as a shift starts).
    let t0 = Instant::now();
    let mut cookies = vec![String::new(); consoles];
    for chunk in (0..consoles).collect::<Vec<_>>().chunks(16) {
        let mut tasks = Vec::new();
        for &i in chunk {
            let (http, base) = (http.clone(), base.clone());
            tasks.push(tokio::spawn(async move {
                let body = format!("{{\"login\":\"c{i}\",\"password\":\"load-pass\"}}");
                let r = http
                    .post(format!("{base}/session"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("sign-in");
                let c = r
                    .headers()
                    .get("set-cookie")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .to_string();
                (i, c)
            }));
        }
        for t in tasks {
            let (i, c) = t.await.expect("task");
            assert!(c.starts_with("agc_session="), "console {i} signed in");
            cookies[i] = c;
        }
    }
    let signin_secs = t0.elapsed().as_secs_f64();

    // Event streams: each console records the ids of the dapi records it got.
    let received: Arc<Mutex<Vec<Vec<i64>>>> = Arc::new(Mutex::new(vec![Vec::new(); consoles]));
    let streams_open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for (i, cookie) in cookies.iter().enumerate() {
        let (http, base, cookie, received, open) =
            (http.clone(), base.clone(), cookie.clone(), received.clone(), streams_open.clone());
        tokio::spawn(async move {
            let Ok(mut r) = http.get(format!("{base}/events")).header("cookie", cookie).send().await else {
                return;
            };
            open.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = String::new();
            while let Ok(Some(chunk)) = r.chunk().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    if block
                        .lines()
                        .any(|l| l.trim() == "event: dapi_record" || l.trim() == "event:dapi_record")
                    {
                        if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) {
                            if let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim()) {
                                if let Some(id) = v["id"].as_i64() {
                                    received.lock().expect("lock")[i].push(id);
                                }
                            }
                        }
                    }
                }
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while streams_open.load(std::sync::atomic::Ordering::SeqCst) < consoles && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The consoles' polling, through the gateway; the same request direct.
    let stop = Instant::now() + Duration::from_secs(secs);
    let via: Arc<Mutex<Vec<u64>>> = Arc::default();
    let direct: Arc<Mutex<Vec<u64>>> = Arc::default();
    let failed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut pollers = Vec::new();
    for (i, cookie) in cookies.iter().enumerate() {
        let (http, url, cookie, via, failed) =
            (http.clone(), format!("{base}{QUERY}"), cookie.clone(), via.clone(), failed.clone());
        pollers.push(tokio::spawn(async move {
            tokio::time::sleep(POLL.mul_f64(i as f64 / consoles as f64)).await;
            while Instant::now() < stop {
                let t = Instant::now();
                let ok = match http.get(&url).header("cookie", &cookie).send().await {
                    Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    via.lock().expect("lock").push(t.elapsed().as_micros() as u64);
                } else {
                    failed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                tokio::time::sleep(POLL.saturating_sub(t.elapsed())).await;
            }
        }));
    }
    let tok = http
        .post(format!("http://{vendors}/dscom-api/public/oauth/token"))
        .header("content-type", "application/json")
        .body(serde_json::json!({"grant_type": "password", "client_id": agent_console_sandbox::pbx::DEMO_CLIENT_ID,
            "client_secret": agent_console_sandbox::pbx::DEMO_CLIENT_SECRET, "username": agent_console_sandbox::pbx::DEMO_USERNAME,
            "password": agent_console_sandbox::pbx::DEMO_PASSWORD, "scope": "*"}).to_string())
        .send().await.expect("token").text().await.expect("token body");
    let bearer = format!(
        "Bearer {}",
        serde_json::from_str::<serde_json::Value>(&tok).expect("token json")["access_token"]
            .as_str()
            .unwrap_or("")
    );
    for i in 0..DIRECT_POLLERS {
        let (http, url, bearer, direct) =
            (http.clone(), format!("http://{vendors}{QUERY}"), bearer.clone(), direct.clone());
        pollers.push(tokio::spawn(async move {
            tokio::time::sleep(POLL.mul_f64(i as f64 / DIRECT_POLLERS as f64)).await;
            while Instant::now() < stop {
                let t = Instant::now();
                if let Ok(r) = http.get(&url).header("authorization", &bearer).send().await {
                    if r.status() == 200 && r.bytes().await.is_ok() {
                        direct.lock().expect("lock").push(t.elapsed().as_micros() as u64);
                    }
                }
                tokio::time::sleep(POLL.saturating_sub(t.elapsed())).await;
            }
        }));
    }
    // Webhooks meanwhile: record k for consoles k % n and (7k + 3) % n.
    let mut expected: HashMap<usize, Vec<i64>> = HashMap::new();
    let mut posted = 0i64;
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / EVENTS_PER_SEC));
    let mut peak_kib = 0;
    while Instant::now() < stop {
        tick.tick().await;
        let k = posted as usize;
        let (a, b) = (k % consoles, (7 * k + 3) % consoles);
        let record = serde_json::json!({"callrecord": {"channel": format!("load-{k}"), "dst_uid": [format!("u{b}")], "id": posted, "src_uid": format!("u{a}")}});
        let r = http
            .post(format!("{base}/hooks/dapi"))
            .header("content-type", "application/json")
            .body(record.to_string())
            .send()
            .await;
        if r.map(|r| r.status() == 200).unwrap_or(false) {
            expected.entry(a).or_default().push(posted);
            if b != a {
                expected.entry(b).or_default().push(posted);
            }
        }
        posted += 1;
        peak_kib = peak_kib.max(rss_kib(pid));
    }
    for p in pollers {
        let _ = p.await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let loaded_kib = rss_kib(pid).max(peak_kib);

    let got = received.lock().expect("lock").clone();
    let (mut delivered, mut duplicates, mut missing, mut stray) = (0usize, 0usize, 0usize, 0usize);
    for (i, ids) in got.iter().enumerate() {
        let want = expected.get(&i).cloned().unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        for id in ids {
            if !seen.insert(*id) {
                duplicates += 1;
            } else if want.contains(id) {
                delivered += 1;
            } else {
                stray += 1;
            }
        }
        missing += want.iter().filter(|id| !seen.contains(id)).count();
    }
    let wanted: usize = expected.values().map(Vec::len).sum();
    let (mut v, mut d) = (via.lock().expect("lock").clone(), direct.lock().expect("lock").clone());
    let (v50, v99, d50, d99) = (pct(&mut v, 0.50), pct(&mut v, 0.99), pct(&mut d, 0.50), pct(&mut d, 0.99));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "gateway load, loopback, 2 cores shared by gateway, sandbox and clients: {consoles} consoles for {secs} s");
    let _ = writeln!(
        out,
        "  sign-in of {consoles} consoles: {signin_secs:.1} s; event streams open: {}",
        streams_open.load(std::sync::atomic::Ordering::SeqCst)
    );
    let _ = writeln!(
        out,
        "  status/endpoint polls: {} through the gateway ({} failed), {} direct",
        v.len(),
        failed.load(std::sync::atomic::Ordering::SeqCst),
        d.len()
    );
    let _ = writeln!(out, "  latency direct:  p50 {d50:.2} ms, p99 {d99:.2} ms");
    let _ = writeln!(out, "  latency gateway: p50 {v50:.2} ms, p99 {v99:.2} ms");
    let _ = writeln!(out, "  added by the gateway: p50 {:.2} ms, p99 {:.2} ms", v50 - d50, v99 - d99);
    let _ = writeln!(
        out,
        "  gateway memory: {:.1} MiB idle, {:.1} MiB with {consoles} consoles: {:.1} KiB per console",
        idle_kib as f64 / 1024.0,
        loaded_kib as f64 / 1024.0,
        loaded_kib.saturating_sub(idle_kib) as f64 / consoles as f64
    );
    let _ = writeln!(out, "  events: {posted} webhooks, {wanted} deliveries due, {delivered} delivered, {missing} missing, {duplicates} twice, {stray} to a console they were not for");
    let _ = out.flush();
    let _ = child.kill();
    let _ = std::fs::remove_dir_all(&dir);
    std::process::exit(if missing == 0 && duplicates == 0 && stray == 0 && delivered == wanted {
        0
    } else {
        1
    });
}
