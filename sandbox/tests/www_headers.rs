//! `--www` pages carry the strict headers a call centre serves the console with.

use agent_console_sandbox::{app, Settings, CONSOLE_CSP};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

fn www_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sandbox-www-headers-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>console</h1>").unwrap();
    std::fs::write(dir.join("boot.js"), "export {};").unwrap();
    dir
}

async fn get(settings: Settings, path: &str) -> axum::http::Response<Body> {
    app(settings).oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap()
}

#[tokio::test]
async fn www_files_carry_the_strict_csp_nosniff_and_no_referrer() {
    let dir = www_dir("on");
    for path in ["/", "/index.html", "/boot.js"] {
        let resp = get(Settings { www: Some(dir.clone()), ..Settings::default() }, path).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let h = resp.headers();
        assert_eq!(h["content-security-policy"], CONSOLE_CSP, "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
    // The policy the issue names, directive by directive (a typo in the constant fails here).
    let directives: Vec<&str> = CONSOLE_CSP.split(';').map(str::trim).collect();
    assert_eq!(
        directives,
        [
            "default-src 'none'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "style-src 'self'",
            "worker-src 'self'",
            "connect-src 'self'",
            "media-src 'self' blob:",
            "img-src 'self' data:",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    );
    // A missing file is still a page response with the headers (no unguarded 404 page).
    let resp = get(Settings { www: Some(dir.clone()), ..Settings::default() }, "/nope.html").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["content-security-policy"], CONSOLE_CSP);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn www_no_csp_drops_only_the_policy() {
    let dir = www_dir("off");
    let resp = get(Settings { www: Some(dir.clone()), www_no_csp: true, ..Settings::default() }, "/").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("content-security-policy").is_none());
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn vendor_routes_are_not_given_page_headers() {
    let dir = www_dir("api");
    let resp = get(Settings { www: Some(dir.clone()), ..Settings::default() }, "/sandbox/state").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("content-security-policy").is_none());
    let _ = std::fs::remove_dir_all(&dir);
}
