//! Call-detail records: the row a finished leg leaves, how it is built, and the two list
//! routes (`GET cdr`, the console's history, and `GET cdr/list`, the billing pull).

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Serialize;

use super::model::{Call, Listener, Party, HUGE_OFFSET};
use super::{
    bad_query, page_of, paging, query_map, query_time, query_value, with_pbx, MediaFile, PbxState,
    DEMO_TRUNK, MAX_PAGE_SIZE,
};
use crate::clock::{compact_cst, format_cst};
use crate::envelope::{self, PbxError};
use crate::wav::fnv1a;
use crate::AppState;

/// One call-detail record, with the seed's field names, order and types (the
/// `GET /api/v1/cdr` example plus the table-only `caller_recording`, `callee_recording`
/// and `direction`).
#[allow(missing_docs)]
#[derive(Debug, Clone, Serialize)]
pub struct CdrRow {
    pub id: u64,
    pub calldate: String,
    pub clid: String,
    pub src: String,
    pub dnid: String,
    pub dst: String,
    pub dept_exten: String,
    pub sipcallid: String,
    pub dcontext: String,
    pub channel: String,
    pub dstchannel: String,
    pub callerip: String,
    pub calledip: String,
    pub lastapp: String,
    pub lastdata: String,
    pub start: String,
    /// `null` when the call was never answered.
    pub answer: Option<String>,
    pub end: String,
    /// Seconds from start to end.
    pub duration: u64,
    /// Seconds from answer to end; 0 if unanswered.
    pub billsec: u64,
    /// `ANSWERED`, `NO ANSWER`, `BUSY` or `FAILED`.
    pub disposition: String,
    pub amaflags: u32,
    pub accountcode: String,
    pub peeraccount: String,
    pub uniqueid: String,
    pub linkedid: String,
    pub userfield: String,
    pub ivrdigit: String,
    pub ivrflow: String,
    pub sequence: String,
    pub billingid: String,
    pub area_code: String,
    pub city: String,
    pub succ: u32,
    pub billed: u32,
    pub bill: String,
    pub musictype: u32,
    pub service_level: i32,
    pub agentid: String,
    pub caller_recording: String,
    pub callee_recording: String,
    /// Relative to the media root; `""` when nothing was recorded.
    pub recording: String,
    /// `in`, `out` or `inter`, as in the seed's rows.
    pub direction: String,
    pub option: String,
    pub numcalls: u64,
    pub loadavg: f64,
    /// The channel of the side that hung up.
    pub hangupsource: String,
    pub hangupcause: String,
    pub create_time: String,
    #[serde(rename = "trunkName")]
    pub trunk_name: String,
}

/// A row as `cdr/list` and the billing push send it: `id` plus the seed's billing keys,
/// in the seed's order.
#[allow(missing_docs)]
#[derive(Debug, Clone, Serialize)]
pub struct BillingRow<'a> {
    pub id: u64,
    pub calldate: &'a str,
    pub clid: &'a str,
    pub src: &'a str,
    pub dnid: &'a str,
    pub dst: &'a str,
    pub dcontext: &'a str,
    pub channel: &'a str,
    pub dstchannel: &'a str,
    pub lastapp: &'a str,
    pub lastdata: &'a str,
    pub start: &'a str,
    pub answer: Option<&'a str>,
    pub end: &'a str,
    pub duration: u64,
    pub billsec: u64,
    pub disposition: &'a str,
    pub uniqueid: &'a str,
    pub linkedid: &'a str,
    pub billingid: &'a str,
    pub recording: &'a str,
    pub direction: &'a str,
    pub hangupsource: &'a str,
}

impl CdrRow {
    /// The billing view of this row.
    pub fn billing(&self) -> BillingRow<'_> {
        BillingRow {
            id: self.id,
            calldate: &self.calldate,
            clid: &self.clid,
            src: &self.src,
            dnid: &self.dnid,
            dst: &self.dst,
            dcontext: &self.dcontext,
            channel: &self.channel,
            dstchannel: &self.dstchannel,
            lastapp: &self.lastapp,
            lastdata: &self.lastdata,
            start: &self.start,
            answer: self.answer.as_deref(),
            end: &self.end,
            duration: self.duration,
            billsec: self.billsec,
            disposition: &self.disposition,
            uniqueid: &self.uniqueid,
            linkedid: &self.linkedid,
            billingid: &self.billingid,
            recording: &self.recording,
            direction: &self.direction,
            hangupsource: &self.hangupsource,
        }
    }
}

/// Everything needed to write one CDR row; [`PbxState::write_cdr`] fills in the rest.
#[derive(Debug, Clone, Default)]
pub struct CdrSpec {
    /// The leg's uniqueid.
    pub uniqueid: String,
    /// The conversation's linkedid.
    pub linkedid: String,
    /// Start (calldate), ms.
    pub start_ms: i64,
    /// Answer, ms; `None` if never answered.
    pub answer_ms: Option<i64>,
    /// End, ms.
    pub end_ms: i64,
    /// `clid`.
    pub clid: String,
    /// `src`.
    pub src: String,
    /// `dnid`.
    pub dnid: String,
    /// `dst`.
    pub dst: String,
    /// `dcontext`.
    pub dcontext: String,
    /// `channel`.
    pub channel: String,
    /// `dstchannel`.
    pub dstchannel: String,
    /// `callerip`.
    pub callerip: String,
    /// `calledip`.
    pub calledip: String,
    /// `lastapp`.
    pub lastapp: String,
    /// `lastdata`.
    pub lastdata: String,
    /// `disposition` (when answered it is always `ANSWERED`).
    pub disposition: &'static str,
    /// `direction`.
    pub direction: String,
    /// `agentid`.
    pub agentid: String,
    /// `billingid`.
    pub billingid: String,
    /// Whether the call used the trunk (`trunkName`).
    pub trunk: bool,
    /// `hangupsource`.
    pub hangupsource: String,
    /// For an answered, recorded call: the two names in the recording's file name.
    pub record: Option<(String, String)>,
}

/// `"name" <number>`, the clid of a party without a display name.
pub fn clid_of(number: &str) -> String {
    format!("\"{number}\" <{number}>")
}

/// `in` (from outside), `out` (to outside) or `inter` (extension to extension).
pub fn direction_of(a: &Party, b: &Party) -> &'static str {
    if a.is_outside() {
        "in"
    } else if b.is_outside() {
        "out"
    } else {
        "inter"
    }
}

/// Length of the recording of call `uniqueid`: 2-6 s, fixed by the uniqueid.
pub fn recording_secs(uniqueid: &str) -> f32 {
    2.0 + (fnv1a(uniqueid.as_bytes()) % 5) as f32
}

impl PbxState {
    /// Appends a CDR row built from `spec` (id, recording file, numcalls, timestamps),
    /// and queues it for the billing push when `push` is set. Returns its id.
    pub fn write_cdr(&mut self, spec: CdrSpec, push: bool) -> u64 {
        // `hugeNumbers`: beyond 2^53, yet unique (the small counter runs on either way).
        let huge = if self.cfg.huge_numbers { HUGE_OFFSET } else { 0 };
        let id = self.next_cdr_id + huge;
        self.next_cdr_id += 1;
        let answered = spec.answer_ms.is_some();
        // Whole seconds of the displayed timestamps, so duration = end - start as printed.
        let secs = |ms: i64| ms.div_euclid(1000);
        let span = |from: i64| u64::try_from(secs(spec.end_ms) - secs(from)).unwrap_or(0);
        let duration = span(spec.start_ms) + huge;
        let billsec = spec.answer_ms.map(span).unwrap_or(0);
        let recording = match (&spec.record, answered) {
            (Some((src, dst)), true) => {
                let (day, time) = compact_cst(spec.start_ms);
                let path = format!("monitor/{day}/{day}-{time}-{src}-{dst}-{}.wav", spec.uniqueid);
                self.media.insert(
                    path.clone(),
                    MediaFile { seed: spec.uniqueid.clone(), secs: recording_secs(&spec.uniqueid) },
                );
                path
            }
            _ => String::new(),
        };
        let end = format_cst(spec.end_ms);
        let blank = String::new;
        let row = CdrRow {
            id,
            calldate: format_cst(spec.start_ms),
            clid: spec.clid,
            src: spec.src,
            dnid: spec.dnid,
            dst: spec.dst,
            dept_exten: blank(),
            sipcallid: blank(),
            dcontext: spec.dcontext,
            channel: spec.channel,
            dstchannel: spec.dstchannel,
            callerip: spec.callerip,
            calledip: spec.calledip,
            lastapp: spec.lastapp,
            lastdata: spec.lastdata,
            start: format_cst(spec.start_ms),
            answer: spec.answer_ms.map(format_cst),
            end: end.clone(),
            duration,
            billsec,
            disposition: if answered { "ANSWERED" } else { spec.disposition }.into(),
            amaflags: 3,
            accountcode: blank(),
            peeraccount: blank(),
            uniqueid: spec.uniqueid,
            linkedid: spec.linkedid,
            userfield: blank(),
            ivrdigit: blank(),
            ivrflow: blank(),
            sequence: id.to_string(),
            billingid: spec.billingid,
            area_code: blank(),
            city: blank(),
            succ: u32::from(answered),
            billed: 0,
            bill: "0.000".into(),
            musictype: 0,
            service_level: -1,
            agentid: spec.agentid,
            caller_recording: "force".into(),
            callee_recording: "force".into(),
            recording,
            direction: spec.direction,
            option: blank(),
            numcalls: self.calls.len() as u64,
            loadavg: 0.0,
            hangupsource: spec.hangupsource,
            hangupcause: "16".into(),
            create_time: end,
            trunk_name: if spec.trunk { DEMO_TRUNK.into() } else { blank() },
        };
        if push {
            self.push.queue_row(&row);
        }
        self.cdr.push(row);
        id
    }

    /// The registration IP of extension `number` (`""` for anything else).
    fn ip_of(&self, party: &Party) -> String {
        if !party.is_extension() {
            return String::new();
        }
        self.extension(&party.number)
            .and_then(|e| e.registration.as_ref())
            .map(|r| r.ip.clone())
            .unwrap_or_default()
    }

    /// The CDR spec of `call` ended at `end_ms`, hung up by the channel `hangupsource`.
    pub fn call_spec(&self, call: &Call, end_ms: i64, hangupsource: String) -> CdrSpec {
        let answered = call.answered(end_ms);
        // With a display number the seed's row shows `" <number>"` and src = that number.
        let (clid, src) = match &call.displaycid {
            Some(cid) => (format!(" <{cid}>"), cid.clone()),
            None => (clid_of(&call.a.number), call.a.number.clone()),
        };
        CdrSpec {
            uniqueid: call.uniqueid.clone(),
            linkedid: call.linkedid.clone(),
            start_ms: call.start_ms,
            answer_ms: answered.then_some(call.answer_at_ms),
            end_ms,
            clid,
            src,
            dnid: call.info.dnid.clone(),
            dst: call.info.dst.clone(),
            dcontext: call.info.dcontext.clone(),
            channel: call.a.channel.clone(),
            dstchannel: call.b.channel.clone(),
            callerip: self.ip_of(&call.a),
            calledip: self.ip_of(&call.b),
            lastapp: call.info.lastapp.clone(),
            lastdata: call.info.lastdata.clone(),
            disposition: "NO ANSWER",
            direction: call.info.direction.clone(),
            agentid: call.info.agentid.clone(),
            billingid: call.info.billingid.clone(),
            trunk: call.a.is_outside() || call.b.is_outside(),
            hangupsource,
            record: Some((call.a.number.clone(), call.b.number.clone())),
        }
    }

    /// The CDR spec of a listener's ChanSpy leg on `call`, ended at `end_ms`.
    pub fn listener_spec(&self, l: &Listener, call: &Call, end_ms: i64) -> CdrSpec {
        CdrSpec {
            uniqueid: l.uniqueid.clone(),
            linkedid: call.linkedid.clone(),
            start_ms: l.since_ms,
            answer_ms: Some(l.since_ms),
            end_ms,
            clid: clid_of(&l.extension),
            src: l.extension.clone(),
            dnid: l.target.clone(),
            dst: l.target.clone(),
            dcontext: "from-internal".into(),
            channel: l.channel.clone(),
            dstchannel: String::new(),
            callerip: self
                .extension(&l.extension)
                .and_then(|e| e.registration.as_ref())
                .map(|r| r.ip.clone())
                .unwrap_or_default(),
            calledip: String::new(),
            lastapp: "ChanSpy".into(),
            lastdata: format!("PJSIP/{},{}", l.target, l.mode.chanspy_options()),
            disposition: "ANSWERED",
            direction: "inter".into(),
            agentid: String::new(),
            billingid: String::new(),
            trunk: false,
            hangupsource: l.channel.clone(),
            record: None,
        }
    }
}

/// `GET /api/v1/cdr?page&pageSize&start&end&src&dst&disposition&direction`: newest
/// first; `start`/`end` select by `calldate`, both inclusive; `src`/`dst` match the whole
/// number; `disposition` is one of ANSWERED (also the seed's `ANSWERD`),
/// NO ANSWER, FAILED, BUSY; `direction` one of in, out, inter (`inner` is taken as
/// inter).
pub async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, PbxError> {
    let q = query_map(raw.as_deref());
    let (page, page_size) = paging(&q)?;
    let start = query_time(&q, "start")?;
    let end = query_time(&q, "end")?;
    let src = query_value(&q, "src");
    let dst = query_value(&q, "dst");
    let disposition = match query_value(&q, "disposition") {
        None => None,
        Some("ANSWERED" | "ANSWERD") => Some("ANSWERED"),
        Some(d @ ("NO ANSWER" | "FAILED" | "BUSY")) => Some(d),
        Some(_) => return Err(bad_query("disposition 必须是 ANSWERED、NO ANSWER、FAILED 或 BUSY")),
    };
    let direction = match query_value(&q, "direction") {
        None => None,
        Some(d @ ("in" | "out" | "inter")) => Some(d),
        Some("inner") => Some("inter"),
        Some(_) => return Err(bad_query("direction 必须是 in 或 out")),
    };
    with_pbx(&state, |pbx, _| {
        let rows: Vec<&CdrRow> = pbx
            .cdr
            .iter()
            .rev()
            .filter(|r| start.as_deref().is_none_or(|s| r.calldate.as_str() >= s))
            .filter(|r| end.as_deref().is_none_or(|e| r.calldate.as_str() <= e))
            .filter(|r| src.is_none_or(|s| r.src == s))
            .filter(|r| dst.is_none_or(|d| r.dst == d))
            .filter(|r| disposition.is_none_or(|d| r.disposition == d))
            .filter(|r| direction.is_none_or(|d| r.direction == d))
            .collect();
        let total = rows.len() as u64;
        Ok(envelope::ok(
            super::list_json(
                pbx,
                page_of(rows, super::served_page(pbx, page), page_size),
                super::Odd::Drop("uniqueid"),
            ),
            total,
        ))
    })
}

/// `GET /api/v1/cdr/list?page&page_size&start_time&end_time&sort_by&order`: the billing
/// rows (with `id`) whose `calldate` is in `[start_time, end_time)`; `page` default 1,
/// `page_size` default and maximum 1000, `sort_by` id|calldate|start|answer|end
/// (default id), `order` asc|desc (default asc); ties keep id order.
pub async fn billing_list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PbxError> {
    let q = query_map(raw.as_deref());
    let number = |key: &str, default: u64| -> Result<u64, PbxError> {
        match query_value(&q, key) {
            None => Ok(default),
            Some(s) => match s.parse::<u64>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(bad_query(format!("{key} 必须是正整数"))),
            },
        }
    };
    let page = number("page", 1)?;
    let page_size = number("page_size", MAX_PAGE_SIZE)?;
    if page_size > MAX_PAGE_SIZE {
        return Err(bad_query(format!("page_size 不能大于 {MAX_PAGE_SIZE}")));
    }
    let start = query_time(&q, "start_time")?.ok_or_else(|| bad_query("start_time 不能为空"))?;
    let end = query_time(&q, "end_time")?.ok_or_else(|| bad_query("end_time 不能为空"))?;
    let sort_by = query_value(&q, "sort_by").unwrap_or("id");
    if !matches!(sort_by, "id" | "calldate" | "start" | "answer" | "end") {
        return Err(bad_query("sort_by 必须是 id、calldate、start、answer 或 end"));
    }
    let desc = match query_value(&q, "order") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(bad_query("order 必须是 asc 或 desc")),
    };
    with_pbx(&state, |pbx, _| {
        let mut rows: Vec<&CdrRow> = pbx
            .cdr
            .iter()
            .filter(|r| r.calldate.as_str() >= start.as_str() && r.calldate.as_str() < end.as_str())
            .collect();
        // The timestamps are fixed-width `YYYY-MM-DD HH:MM:SS`: text order is time order.
        let key = |r: &CdrRow| -> (Option<String>, u64) {
            let k = match sort_by {
                "calldate" => Some(r.calldate.clone()),
                "start" => Some(r.start.clone()),
                "answer" => r.answer.clone(),
                "end" => Some(r.end.clone()),
                _ => None,
            };
            (k, r.id)
        };
        rows.sort_by_cached_key(|r| key(r));
        if desc {
            rows.reverse();
        }
        let total = rows.len() as u64;
        let page_rows: Vec<BillingRow<'_>> = page_of(rows, super::served_page(pbx, page), page_size)
            .into_iter()
            .map(CdrRow::billing)
            .collect();
        Ok(envelope::ok(super::list_json(pbx, page_rows, super::Odd::Drop("uniqueid")), total))
    })
}
