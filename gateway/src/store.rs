//! The gateway's SQLite database (`DATA/gateway.sqlite`): the audit log of
//! every action the gateway forwarded or refused, every webhook received,
//! the events delivered to consoles (kept, so a console that reconnects or a
//! gateway that restarts loses none), and which agent started which
//! callback call. One connection behind a
//! mutex, used from blocking threads; WAL, so a reader never waits on a writer
//! for long and a crash loses no committed row.

use crate::error::GatewayError;
use rusqlite::{params, Connection};
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Most audit rows one read returns.
pub const MAX_AUDIT_READ: u32 = 1000;

/// One forwarded or refused action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    /// When, Unix ms.
    pub at_ms: i64,
    /// Who (the agent's login).
    pub login: String,
    /// `POST call/dial`.
    pub action: String,
    /// The extension or number acted on, as sent (may be empty).
    pub target: String,
    /// `forwarded 200`, `refused: …`, `upstream failed: …`.
    pub result: String,
}

/// The database.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the database in the folder `data`.
    pub fn open(data: &Path) -> Result<Self, GatewayError> {
        std::fs::create_dir_all(data)?;
        let conn = Connection::open(data.join("gateway.sqlite"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS audit (
                id INTEGER PRIMARY KEY,
                at_ms INTEGER NOT NULL,
                login TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                result TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS audit_at ON audit(at_ms);
            CREATE TABLE IF NOT EXISTS webhooks (
                id INTEGER PRIMARY KEY,
                at_ms INTEGER NOT NULL,
                source TEXT NOT NULL,
                body TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at_ms INTEGER NOT NULL,
                login TEXT NOT NULL,
                kind TEXT NOT NULL,
                data TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS events_login ON events(login, id);
            CREATE TABLE IF NOT EXISTS billing_cdrs (
                key TEXT PRIMARY KEY,
                calldate_ms INTEGER NOT NULL,
                row TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS billing_cdrs_at ON billing_cdrs(calldate_ms);
            CREATE TABLE IF NOT EXISTS sip_bills (
                id INTEGER PRIMARY KEY,
                extnumber TEXT NOT NULL,
                start_ms INTEGER NOT NULL,
                bill TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS sip_bills_start ON sip_bills(start_ms);
            CREATE INDEX IF NOT EXISTS sip_bills_ext ON sip_bills(extnumber, start_ms);
            CREATE TABLE IF NOT EXISTS sip_marks (
                login TEXT NOT NULL,
                id INTEGER NOT NULL,
                PRIMARY KEY (login, id)
            ) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS callback_calls (
                callidentifier TEXT PRIMARY KEY,
                login TEXT NOT NULL,
                at_ms INTEGER NOT NULL
            );",
        )?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> Result<T, GatewayError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panicked writer leaves the connection usable: SQLite rolled back.
            let c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&c)
        })
        .await
        .map_err(|e| GatewayError::Io(std::io::Error::other(e.to_string())))?
        .map_err(GatewayError::from)
    }

    /// Appends one row.
    pub async fn audit(&self, row: AuditRow) -> Result<(), GatewayError> {
        self.with(move |c| {
            c.execute(
                "INSERT INTO audit (at_ms, login, action, target, result) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![row.at_ms, row.login, row.action, row.target, row.result],
            )
            .map(|_| ())
        })
        .await
    }

    /// The newest `limit` rows (at most [`MAX_AUDIT_READ`]), newest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditRow>, GatewayError> {
        let limit = limit.clamp(1, MAX_AUDIT_READ);
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT at_ms, login, action, target, result FROM audit ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = st.query_map(params![limit], |r| {
                Ok(AuditRow {
                    at_ms: r.get(0)?,
                    login: r.get(1)?,
                    action: r.get(2)?,
                    target: r.get(3)?,
                    result: r.get(4)?,
                })
            })?;
            rows.collect()
        })
        .await
    }
}

impl Store {
    /// Keeps billing CDRs (key, calldate ms, JSON, the logins it is for)
    /// not kept yet and, in the same transaction, a `billing_cdr` event for
    /// each of their logins; returns those events. A row kept before gets none.
    pub async fn put_billing(&self, rows: Vec<BillingRow>) -> Result<Vec<StoredEvent>, GatewayError> {
        self.with(move |c| {
            let tx = c.unchecked_transaction()?;
            let mut events = Vec::new();
            {
                let mut row_st = tx.prepare(
                    "INSERT OR IGNORE INTO billing_cdrs (key, calldate_ms, row) VALUES (?1, ?2, ?3)",
                )?;
                let mut ev_st = tx.prepare(
                    "INSERT INTO events (at_ms, login, kind, data) VALUES (?1, ?2, 'billing_cdr', ?3)",
                )?;
                for (key, at, row, logins) in rows {
                    if row_st.execute(params![key, at, row])? == 0 {
                        continue;
                    }
                    for login in logins {
                        ev_st.execute(params![crate::now_ms(), login, row])?;
                        let id = tx.last_insert_rowid();
                        events.push(StoredEvent { id, login, kind: "billing_cdr".into(), data: row.clone() });
                    }
                }
            }
            tx.commit()?;
            Ok(events)
        })
        .await
    }

    /// The newest kept CDR's `calldate` (ms), if any.
    pub async fn newest_billing_ms(&self) -> Result<Option<i64>, GatewayError> {
        self.with(|c| c.query_row("SELECT MAX(calldate_ms) FROM billing_cdrs", [], |r| r.get(0))).await
    }
}

/// Rows deleted by one [`Store::prune`], per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Events.
    pub events: usize,
    /// Webhooks received.
    pub webhooks: usize,
    /// Billing CDRs.
    pub billing: usize,
    /// SIP bills (and their marks).
    pub bills: usize,
    /// Callback call owners.
    pub calls: usize,
}

impl Store {
    /// Deletes what is older than `before_ms` (events and webhooks by
    /// arrival, CDRs by `calldate`, bills by start); the audit log stays.
    pub async fn prune(&self, before_ms: i64) -> Result<Pruned, GatewayError> {
        self.with(move |c| {
            let tx = c.unchecked_transaction()?;
            let del = |sql: &str| tx.execute(sql, params![before_ms]);
            let p = Pruned {
                events: del("DELETE FROM events WHERE at_ms < ?1")?,
                webhooks: del("DELETE FROM webhooks WHERE at_ms < ?1")?,
                billing: del("DELETE FROM billing_cdrs WHERE calldate_ms < ?1")?,
                bills: del("DELETE FROM sip_bills WHERE start_ms < ?1")?,
                calls: del("DELETE FROM callback_calls WHERE at_ms < ?1")?,
            };
            tx.execute("DELETE FROM sip_marks WHERE id NOT IN (SELECT id FROM sip_bills)", [])?;
            tx.commit()?;
            Ok(p)
        })
        .await
    }
}

/// A billing CDR to keep: (key, calldate ms, JSON, the logins it is for).
pub type BillingRow = (String, i64, String, Vec<String>);

/// A bill as kept: (id, extension, start ms, the bill's JSON).
pub type BillRow = (u64, String, i64, String);

impl Store {
    /// Keeps bills not kept yet (by id); returns how many were new.
    pub async fn put_bills(&self, rows: Vec<BillRow>) -> Result<usize, GatewayError> {
        self.with(move |c| {
            let tx = c.unchecked_transaction()?;
            let mut added = 0;
            {
                let mut st = tx.prepare(
                    "INSERT OR IGNORE INTO sip_bills (id, extnumber, start_ms, bill) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for (id, ext, start, bill) in rows {
                    // SQLite integers are signed: an id past i64 is kept as its bit pattern.
                    added += st.execute(params![id as i64, ext, start, bill])?;
                }
            }
            tx.commit()?;
            Ok(added)
        })
        .await
    }

    /// Bills that started in `from..=to` ms (of `exts`, or all when empty),
    /// by id; at most `limit + 1`, so the caller sees it went over.
    pub async fn bills_in(
        &self,
        from: i64,
        to: i64,
        exts: Vec<String>,
        limit: usize,
    ) -> Result<Vec<(u64, String)>, GatewayError> {
        self.with(move |c| {
            let cap = limit.saturating_add(1) as i64;
            let mut out = Vec::new();
            let mut read = |sql: &str, ext: Option<&str>| -> Result<(), rusqlite::Error> {
                let mut st = c.prepare(sql)?;
                let rows = match ext {
                    Some(e) => st.query_map(params![from, to, e, cap], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
                        .collect::<Result<Vec<_>, _>>()?,
                    None => st.query_map(params![from, to, cap], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
                        .collect::<Result<Vec<_>, _>>()?,
                };
                out.extend(rows);
                Ok(())
            };
            if exts.is_empty() {
                read("SELECT id, bill FROM sip_bills WHERE start_ms BETWEEN ?1 AND ?2 ORDER BY id LIMIT ?3", None)?;
            } else {
                for e in &exts {
                    read(
                        "SELECT id, bill FROM sip_bills WHERE start_ms BETWEEN ?1 AND ?2 AND extnumber = ?3 ORDER BY id LIMIT ?4",
                        Some(e),
                    )?;
                }
                out.sort_by_key(|r| r.0);
                out.dedup_by_key(|r| r.0);
            }
            out.truncate(limit.saturating_add(1));
            Ok(out)
        })
        .await
    }

    /// The newest kept bill's start (ms), if any.
    pub async fn newest_bill_ms(&self) -> Result<Option<i64>, GatewayError> {
        self.with(|c| c.query_row("SELECT MAX(start_ms) FROM sip_bills", [], |r| r.get(0))).await
    }

    /// Which of `ids` `login` has fetched with `syncflag=1`.
    pub async fn marked(
        &self,
        login: String,
        ids: Vec<u64>,
    ) -> Result<std::collections::HashSet<u64>, GatewayError> {
        self.with(move |c| {
            let mut st = c.prepare_cached("SELECT 1 FROM sip_marks WHERE login = ?1 AND id = ?2")?;
            let mut out = std::collections::HashSet::new();
            for id in ids {
                if st.exists(params![login, id as i64])? {
                    out.insert(id);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Marks `ids` fetched for `login`.
    pub async fn mark(&self, login: String, ids: Vec<u64>) -> Result<(), GatewayError> {
        self.with(move |c| {
            let tx = c.unchecked_transaction()?;
            {
                let mut st = tx.prepare("INSERT OR IGNORE INTO sip_marks (login, id) VALUES (?1, ?2)")?;
                for id in ids {
                    st.execute(params![login, id as i64])?;
                }
            }
            tx.commit()
        })
        .await
    }
}

/// An event for one agent's consoles, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its id (increasing): the SSE `id`, so a console resumes after it.
    pub id: i64,
    /// Whose.
    pub login: String,
    /// `callback_status`, `dapi_record`, `billing_cdr`.
    pub kind: String,
    /// The payload, JSON text.
    pub data: String,
}

/// Most events one read returns.
pub const MAX_REPLAY: u32 = 100;

impl Store {
    /// Keeps a webhook body as received (`source`: `callback`, `dapi`).
    pub async fn webhook(&self, source: &'static str, body: String) -> Result<i64, GatewayError> {
        self.with(move |c| {
            c.execute(
                "INSERT INTO webhooks (at_ms, source, body) VALUES (?1, ?2, ?3)",
                params![crate::now_ms(), source, body],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    /// Stores an event for `login`; returns it with its id.
    pub async fn event(
        &self,
        login: String,
        kind: &'static str,
        data: String,
    ) -> Result<StoredEvent, GatewayError> {
        self.with(move |c| {
            c.execute(
                "INSERT INTO events (at_ms, login, kind, data) VALUES (?1, ?2, ?3, ?4)",
                params![crate::now_ms(), login, kind, data],
            )?;
            Ok(StoredEvent { id: c.last_insert_rowid(), login, kind: kind.to_string(), data })
        })
        .await
    }

    /// `login`'s events after `after`, oldest first, at most [`MAX_REPLAY`].
    pub async fn events_after(&self, login: String, after: i64) -> Result<Vec<StoredEvent>, GatewayError> {
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT id, login, kind, data FROM events WHERE login = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            )?;
            let rows = st.query_map(params![login, after, MAX_REPLAY], |r| {
                Ok(StoredEvent { id: r.get(0)?, login: r.get(1)?, kind: r.get(2)?, data: r.get(3)? })
            })?;
            rows.collect()
        })
        .await
    }

    /// The newest event id (0 when none): where a console that asks for no
    /// history starts.
    pub async fn last_event_id(&self) -> Result<i64, GatewayError> {
        self.with(|c| c.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))).await
    }

    /// Remembers that `login` started callback call `id`.
    pub async fn bind_callback(&self, id: String, login: String) -> Result<(), GatewayError> {
        self.with(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO callback_calls (callidentifier, login, at_ms) VALUES (?1, ?2, ?3)",
                params![id, login, crate::now_ms()],
            )
            .map(|_| ())
        })
        .await
    }

    /// Who started callback call `id`.
    pub async fn callback_owner(&self, id: String) -> Result<Option<String>, GatewayError> {
        self.with(move |c| {
            let mut st = c.prepare("SELECT login FROM callback_calls WHERE callidentifier = ?1")?;
            let mut rows = st.query_map(params![id], |r| r.get::<_, String>(0))?;
            rows.next().transpose()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn prune_deletes_only_what_is_older_and_keeps_the_audit_log() {
        let dir = std::env::temp_dir().join(format!("gw-store-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir).unwrap();
        let recent = crate::now_ms();
        let old = recent - 100 * 86_400_000;
        s.audit(AuditRow {
            at_ms: old,
            login: "li".into(),
            action: "a".into(),
            target: String::new(),
            result: "r".into(),
        })
        .await
        .unwrap();
        s.event("li".into(), "dapi_record", "{}".into()).await.unwrap();
        s.with(move |c| {
            c.execute(
                "INSERT INTO events (at_ms, login, kind, data) VALUES (?1, 'li', 'dapi_record', '{}')",
                params![old],
            )?;
            c.execute("INSERT INTO webhooks (at_ms, source, body) VALUES (?1, 'dapi', '{}')", params![old])
        })
        .await
        .unwrap();
        let sent = s
            .put_billing(vec![
                ("old".into(), old, "{}".into(), vec![]),
                ("new".into(), recent, "{}".into(), vec!["li".into()]),
            ])
            .await
            .unwrap();
        assert_eq!(sent.len(), 1);
        assert!(s
            .put_billing(vec![("new".into(), recent, "{}".into(), vec!["li".into()])])
            .await
            .unwrap()
            .is_empty());
        s.put_bills(vec![(1, "8001".into(), old, "{}".into()), (2, "8001".into(), recent, "{}".into())])
            .await
            .unwrap();
        s.mark("li".into(), vec![1, 2]).await.unwrap();
        let p = s.prune(recent - 90 * 86_400_000).await.unwrap();
        assert_eq!((p.events, p.webhooks, p.billing, p.bills), (1, 1, 1, 1));
        assert_eq!(
            s.events_after("li".into(), 0).await.unwrap().len(),
            2,
            "the recent dapi and billing events"
        );
        assert_eq!(s.newest_billing_ms().await.unwrap(), Some(recent));
        assert_eq!(s.marked("li".into(), vec![1, 2]).await.unwrap(), [2].into_iter().collect());
        assert_eq!(s.audit_log(10).await.unwrap().len(), 1, "the audit log stays");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn rows_survive_a_reopen_newest_first() {
        let dir = std::env::temp_dir().join(format!("gw-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir).unwrap();
        for i in 0..3 {
            let row = AuditRow {
                at_ms: i,
                login: "li".into(),
                action: "POST call/dial".into(),
                target: format!("800{i}"),
                result: "forwarded 200".into(),
            };
            s.audit(row).await.unwrap();
        }
        drop(s);
        let s = Store::open(&dir).unwrap();
        let rows = s.audit_log(2).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.target.as_str()).collect::<Vec<_>>(), ["8002", "8001"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn events_replay_after_an_id_per_login_and_calls_remember_their_agent() {
        let dir = std::env::temp_dir().join(format!("gw-store-ev-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir).unwrap();
        assert_eq!(s.last_event_id().await.unwrap(), 0);
        let a = s.event("li".into(), "callback_status", "{}".into()).await.unwrap();
        s.event("wang".into(), "callback_status", "{}".into()).await.unwrap();
        let b = s.event("li".into(), "dapi_record", "[1]".into()).await.unwrap();
        let after = s.events_after("li".into(), a.id).await.unwrap();
        assert_eq!(after, vec![b.clone()]);
        assert_eq!(s.events_after("li".into(), 0).await.unwrap().len(), 2);
        assert_eq!(s.last_event_id().await.unwrap(), b.id);
        s.bind_callback("cid-1".into(), "li".into()).await.unwrap();
        assert_eq!(s.callback_owner("cid-1".into()).await.unwrap().as_deref(), Some("li"));
        assert_eq!(s.callback_owner("cid-2".into()).await.unwrap(), None);
        assert!(s.webhook("callback", "{}".into()).await.unwrap() > 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
