//! The call-record push: when a record ends and a URL is set, its `{"callrecord": …}` is
//! POSTed once as JSON (the callback module's plain-TCP HTTP/1.1 client). Failures are
//! logged to stderr and kept in the entry, never retried.

use std::sync::{Arc, Mutex};

use serde_json::json;

use super::{DapiState, Delivery};
use crate::callback::webhook::{parse_http_url, post_json};

/// Validates `--dapi-webhook-url` (and `webhookUrl`): `http://` only.
pub fn parse_url_arg(s: &str) -> Result<String, String> {
    parse_http_url(s).map(|_| s.trim().to_string())
}

/// Sends each delivery on its own task and records the outcome in its entry. Outside a
/// tokio runtime the deliveries go back to the outbox for the next settle.
pub fn deliver(dapi: &Arc<Mutex<DapiState>>, outbox: Vec<Delivery>) {
    if outbox.is_empty() {
        return;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        dapi.lock().unwrap_or_else(|e| e.into_inner()).outbox.extend(outbox);
        return;
    };
    for d in outbox {
        let dapi = Arc::clone(dapi);
        rt.spawn(async move {
            let result = match post_json(&d.url, &d.body).await {
                Ok(status) => json!({ "status": status }),
                Err(e) => {
                    eprintln!("sandbox: dapi webhook to {} failed: {e}", d.url);
                    json!({ "error": e })
                }
            };
            let mut state = dapi.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = state.webhooks.get_mut(d.index) {
                entry.result = Some(result);
            }
        });
    }
}
