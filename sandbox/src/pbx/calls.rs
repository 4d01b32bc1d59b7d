//! Call control on the live call model: `call/dial`, `call/hangup`, `call/transfer`
//! (blind, attended, app), `call/cancelAtxfer`, `call/hold`, `call/unhold`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use super::model::{Origin, Party, Talk};
use super::sim::is_robot;
use super::{body_object, dialable, optional_str, req, required_str, with_pbx, PbxState};
use crate::envelope::{self, PbxCode, PbxError};
use crate::AppState;

/// Longest accepted dial string / display number.
pub const MAX_NUMBER_LEN: usize = 32;

fn param(detail: impl Into<String>) -> PbxError {
    PbxError::new(PbxCode::CallParams, detail)
}

fn ok_empty() -> Response {
    envelope::ok(envelope::empty(), 0)
}

/// `POST /api/v1/call/dial {extension, dest, displaycid?}` → `data.uniqueid`.
pub async fn dial(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let p = body_object(body, PbxCode::CallParams)?;
    let extension = required_str(&p, "extension").map_err(param)?;
    let dest = required_str(&p, "dest").map_err(param)?;
    let displaycid = optional_str(&p, "displaycid").map_err(param)?;
    if let Some(cid) = displaycid {
        if cid.len() > MAX_NUMBER_LEN || !cid.chars().all(|c| c.is_ascii_digit()) {
            return Err(param(format!("displaycid 只能包含数字，最长 {MAX_NUMBER_LEN} 位")));
        }
    }
    let uniqueid = with_pbx(&state, |pbx, now| {
        // A number, or one of the PBX's extensions by name (a named PJSIP endpoint).
        if !dialable(pbx, dest) {
            return Err(param(format!(
                "dest 只能包含数字、*、#（可带前导 +），最长 {MAX_NUMBER_LEN} 位，或是已有的分机"
            )));
        }
        if pbx.extension(extension).is_none() {
            return Err(param(format!("分机 {extension} 不存在")));
        }
        if dest == extension {
            return Err(param("dest 不能与 extension 相同"));
        }
        // One call per extension keeps hangup-by-extension unambiguous; a busy
        // destination extension fails the dial like a busy caller.
        if pbx.busy(extension) {
            return Err(PbxError::new(PbxCode::CallFailed, format!("分机 {extension} 正在通话中")));
        }
        if pbx.extension(dest).is_some() && pbx.busy(dest) {
            return Err(PbxError::new(PbxCode::CallFailed, format!("分机 {dest} 正在通话中")));
        }
        let a = pbx.new_party(extension);
        let b = pbx.new_party(dest);
        let answer_at = now.saturating_add(pbx.answer_delay_ms);
        let mut call = pbx.new_call(Origin::Dial, a, b, now, answer_at, None, Talk::Manual);
        call.displaycid = displaycid.map(str::to_string);
        let id = call.uniqueid.clone();
        pbx.calls.push(call);
        Ok(id)
    })?;
    Ok(envelope::ok(json!({ "uniqueid": uniqueid }), 0))
}

/// `POST /api/v1/call/hangup {extension}`: `extension` may also be an outside number.
/// Whatever the party takes part in ends (a call, a queue wait, a parking space, a
/// listener leg) and leaves CDR rows; a transferer hanging up while consulting completes
/// the attended transfer.
pub async fn hangup(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let p = body_object(body, PbxCode::CallParams)?;
    let party = required_str(&p, "extension").map_err(param)?;
    with_pbx(&state, |pbx, now| {
        if pbx.hangup_party(party, now) {
            Ok(ok_empty())
        } else {
            Err(PbxError::new(PbxCode::HangupFailed, format!("{party} 没有进行中的通话")))
        }
    })
}

/// `POST /api/v1/call/hold {extension}`: 600000 malformed, 600003 no answered call or
/// already held.
pub async fn hold(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let p = body_object(body, PbxCode::CallParams)?;
    let ext = req(&p, "extension", PbxCode::CallParams)?;
    with_pbx(&state, |pbx, now| {
        let fail = |d: String| PbxError::new(PbxCode::HoldFailed, d);
        let Some(i) = pbx.active_call_index(ext, now) else {
            return Err(fail(format!("分机 {ext} 没有已接通的通话")));
        };
        match pbx.calls.get_mut(i) {
            Some(c) if c.held_by.is_none() => {
                c.held_by = Some(ext.to_string());
                Ok(ok_empty())
            }
            _ => Err(fail(format!("分机 {ext} 的通话已在保持中"))),
        }
    })
}

/// `POST /api/v1/call/unhold {extension}`: 600000 malformed, 600004 nothing held.
pub async fn unhold(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let p = body_object(body, PbxCode::CallParams)?;
    let ext = req(&p, "extension", PbxCode::CallParams)?;
    with_pbx(&state, |pbx, _| {
        // Either party may take the call off hold.
        match pbx.calls.iter_mut().find(|c| c.involves(ext) && c.held_by.is_some()) {
            Some(c) => {
                c.held_by = None;
                Ok(ok_empty())
            }
            None => Err(PbxError::new(PbxCode::UnholdFailed, format!("分机 {ext} 没有保持中的通话"))),
        }
    })
}

/// `POST /api/v1/call/transfer {type, extension, dest}`. 600005 for a malformed body
/// (type not blind/attended/app, missing fields, a dest that is not a number or not
/// `context,exten,priority`), 600006 when it cannot be done (no answered call, already
/// consulting, dest busy/unknown/unavailable).
pub async fn transfer(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let code = PbxCode::TransferParams;
    let p = body_object(body, code)?;
    let kind = req(&p, "type", code)?;
    if !matches!(kind, "blind" | "attended" | "app") {
        return Err(PbxError::new(code, "type 必须是 blind、attended 或 app"));
    }
    let ext = req(&p, "extension", code)?;
    let dest = req(&p, "dest", code)?;
    let app = if kind == "app" {
        Some(parse_app(dest).ok_or_else(|| PbxError::new(code, "dest 必须是 context,exten,priority 形式"))?)
    } else {
        None
    };
    with_pbx(&state, |pbx, now| {
        if app.is_none() && !dialable(pbx, dest) {
            return Err(PbxError::new(code, "dest 必须是分机或电话号码"));
        }
        match (kind, app) {
            ("attended", _) => pbx.attended(ext, dest, now),
            (_, Some((context, exten))) => pbx.app_transfer(ext, &context, &exten, now),
            _ => pbx.blind(ext, dest, now),
        }
        .map(|()| ok_empty())
    })
}

/// `POST /api/v1/call/cancelAtxfer {extension}`: 600005 malformed, 600007 no attended
/// transfer in progress.
pub async fn cancel_atxfer(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PbxError> {
    let p = body_object(body, PbxCode::TransferParams)?;
    let ext = req(&p, "extension", PbxCode::TransferParams)?;
    with_pbx(&state, |pbx, now| {
        let Some(i) = pbx.calls.iter().position(|c| c.consult_of.is_some() && c.a.number == ext) else {
            return Err(PbxError::new(
                PbxCode::CancelAtxferFailed,
                format!("分机 {ext} 没有进行中的咨询转接"),
            ));
        };
        let hs = pbx.calls.get(i).map(|c| c.a.channel.clone()).unwrap_or_default();
        pbx.end_call(i, now, hs);
        Ok(ok_empty())
    })
}

/// `context,exten,priority` with a numeric priority → (context, exten).
fn parse_app(dest: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = dest.split(',').map(str::trim).collect();
    let [context, exten, priority] = parts.as_slice() else {
        return None;
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    (word(context) && word(exten) && priority.parse::<u32>().is_ok())
        .then(|| ((*context).to_string(), (*exten).to_string()))
}

fn transfer_failed(detail: impl Into<String>) -> PbxError {
    PbxError::new(PbxCode::TransferFailed, detail)
}

impl PbxState {
    /// The check every transfer starts with: `ext`'s answered call (its index) and the
    /// other party, unless `ext` is already consulting.
    fn transferable(&self, ext: &str, now: i64) -> Result<(usize, Party), PbxError> {
        if self.calls.iter().any(|c| c.consult_of.is_some() && c.a.number == ext) {
            return Err(transfer_failed(format!("分机 {ext} 正在咨询转接中，请先完成或取消")));
        }
        let i = self
            .active_call_index(ext, now)
            .ok_or_else(|| transfer_failed(format!("分机 {ext} 没有已接通的通话")))?;
        let other = self
            .calls
            .get(i)
            .and_then(|c| c.other(ext))
            .cloned()
            .ok_or_else(|| transfer_failed(format!("分机 {ext} 没有已接通的通话")))?;
        Ok((i, other))
    }

    /// Checks that `dest` can be rung for a transfer from `ext` whose other party is
    /// `other`.
    fn transfer_target(&self, ext: &str, other: &Party, dest: &str) -> Result<(), PbxError> {
        if dest == ext || dest == other.number {
            return Err(transfer_failed(format!("{dest} 已在此通话中")));
        }
        if self.extension(dest).is_some() && !self.available(dest) {
            return Err(transfer_failed(format!("分机 {dest} 忙或不在线")));
        }
        Ok(())
    }

    /// Blind transfer: `ext` leaves (its leg's CDR row), the other party rings `dest`.
    pub fn blind(&mut self, ext: &str, dest: &str, now: i64) -> Result<(), PbxError> {
        let (i, other) = self.transferable(ext, now)?;
        self.transfer_target(ext, &other, dest)?;
        let Some(first) = self.calls.get(i).cloned() else {
            return Err(transfer_failed("通话已结束"));
        };
        let hs = first.party(ext).map(|p| p.channel.clone()).unwrap_or_default();
        self.end_call(i, now, hs);
        let b = self.new_party(dest);
        let talk = if is_robot(dest) { Talk::Auto } else { Talk::Manual };
        let answer_at = now.saturating_add(self.answer_delay_ms);
        let call = self.new_call(Origin::Transfer, other, b, now, answer_at, Some(first.linkedid), talk);
        self.calls.push(call);
        Ok(())
    }

    /// Attended transfer: the first call is held, `ext` consults `dest` on a second call.
    pub fn attended(&mut self, ext: &str, dest: &str, now: i64) -> Result<(), PbxError> {
        let (i, other) = self.transferable(ext, now)?;
        self.transfer_target(ext, &other, dest)?;
        let Some(first) = self.calls.get_mut(i) else {
            return Err(transfer_failed("通话已结束"));
        };
        first.held_by = Some(ext.to_string());
        let (first_id, linkedid) = (first.uniqueid.clone(), first.linkedid.clone());
        let a = self.new_party(ext);
        let b = self.new_party(dest);
        let answer_at = now.saturating_add(self.answer_delay_ms);
        let mut call = self.new_call(Origin::Consult, a, b, now, answer_at, Some(linkedid), Talk::Manual);
        call.consult_of = Some(first_id);
        self.calls.push(call);
        Ok(())
    }

    /// App transfer: `ext-queues,<queue>,1` sends the other party back to the front of
    /// the queue; `aa_…` (an IVR) takes it away and the call ends with lastapp
    /// `BackGround`.
    pub fn app_transfer(&mut self, ext: &str, context: &str, exten: &str, now: i64) -> Result<(), PbxError> {
        let queue = context == "ext-queues";
        if queue && !self.queues.iter().any(|q| q == exten) {
            return Err(transfer_failed(format!("队列 {exten} 不存在")));
        }
        if !queue && !context.starts_with("aa_") {
            return Err(transfer_failed(format!("未知的目标 app {context}")));
        }
        let (i, other) = self.transferable(ext, now)?;
        let Some(first) = self.calls.get(i).cloned() else {
            return Err(transfer_failed("通话已结束"));
        };
        if queue {
            let hs = first.party(ext).map(|p| p.channel.clone()).unwrap_or_default();
            self.end_call(i, now, hs);
            let uniqueid = self.new_uniqueid(now);
            self.waiting.push(super::model::Waiting {
                uniqueid,
                linkedid: first.linkedid.clone(),
                caller: other,
                queue: exten.to_string(),
                prio: 1,
                ivr: String::new(),
                ac: "0755".into(),
                start_ms: now,
                entered_ms: now,
                offer: None,
            });
        } else {
            if let Some(c) = self.calls.get_mut(i) {
                c.info.lastapp = "BackGround".into();
                c.info.lastdata = format!("custom/{context}");
            }
            self.end_call(i, now, other.channel.clone());
        }
        Ok(())
    }

    /// Completes `x`'s attended transfer, if it is consulting: the first call's other
    /// party is connected to the consulted party and `x` leaves.
    fn complete_attended(&mut self, x: &str, now: i64) -> bool {
        let Some(c2) = self.calls.iter().find(|c| c.consult_of.is_some() && c.a.number == x) else {
            return false;
        };
        let (c2_id, c1_id) = (c2.uniqueid.clone(), c2.consult_of.clone().unwrap_or_default());
        let Some(i1) = self.calls.iter().position(|c| c.uniqueid == c1_id) else {
            return false;
        };
        let Some(c1) = self.calls.get(i1).cloned() else {
            return false;
        };
        let (Some(other), Some(mine)) = (c1.other(x).cloned(), c1.party(x).cloned()) else {
            return false;
        };
        self.end_call(i1, now, mine.channel);
        let talk_ms = {
            let mean = i64::try_from(self.cfg.talk_ms).unwrap_or(i64::MAX / 4);
            self.rng.range(mean / 2, mean.saturating_add(mean / 2))
        };
        if let Some(c2) = self.calls.iter_mut().find(|c| c.uniqueid == c2_id) {
            c2.info.direction = super::cdr::direction_of(&other, &c2.b).into();
            c2.a = other;
            c2.origin = Origin::Transfer;
            c2.consult_of = None;
            c2.held_by = None;
            if is_robot(&c2.b.number) {
                c2.talk = Talk::Auto;
                if c2.answer_handled {
                    c2.end_at_ms = Some(now.saturating_add(talk_ms));
                }
            }
        }
        true
    }

    /// Hangs up everything `party` takes part in at `now`; false if there was nothing.
    pub fn hangup_party(&mut self, party: &str, now: i64) -> bool {
        if self.complete_attended(party, now) {
            return true;
        }
        let mut any = false;
        while let Some(i) = self.waiting.iter().position(|w| w.caller.number == party) {
            self.abandon(i, now);
            any = true;
        }
        while let Some(i) = self.calls.iter().position(|c| c.involves(party)) {
            let Some(c) = self.calls.get(i) else { break };
            if c.origin == Origin::Queue && !c.answered(now) && c.b.number == party {
                // An agent rejecting a queue call: the caller stays in the queue.
                let uid = c.uniqueid.clone();
                self.cancel_offer(&uid);
                for w in self.waiting.iter_mut().filter(|w| w.offer.as_deref() == Some(uid.as_str())) {
                    w.offer = None;
                }
                if let Some(l) = self.line_mut(party) {
                    l.retry_after = Some(now.saturating_add(super::model::REJECT_RETRY_MS));
                }
            } else {
                let hs = c.party(party).map(|p| p.channel.clone()).unwrap_or_default();
                self.end_call(i, now, hs);
            }
            any = true;
        }
        // A listener leaves the call it listens to.
        let mut left = Vec::new();
        for c in &mut self.calls {
            let (gone, stay): (Vec<_>, Vec<_>) =
                std::mem::take(&mut c.listeners).into_iter().partition(|l| l.extension == party);
            c.listeners = stay;
            left.extend(gone.into_iter().map(|l| (l, c.clone())));
        }
        for (l, c) in left {
            let spec = self.listener_spec(&l, &c, now);
            self.write_cdr(spec, true);
            any = true;
        }
        while let Some(i) = self.parked.iter().position(|p| p.parkee.number == party) {
            let hs = self.parked.get(i).map(|p| p.parkee.channel.clone()).unwrap_or_default();
            self.end_parked(i, now, hs);
            any = true;
        }
        while let Some(i) = self.leaving.iter().position(|r| r.caller.caller.number == party) {
            self.voicemail_done(i, now);
            any = true;
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::parse_app;

    #[test]
    fn app_dests() {
        assert_eq!(parse_app("ext-queues,200,1"), Some(("ext-queues".into(), "200".into())));
        assert_eq!(parse_app("aa_1001315,s,1"), Some(("aa_1001315".into(), "s".into())));
        for bad in ["", "a,b", "a,b,c", "a,,1", "a,b,1,2", "a b,c,1"] {
            assert_eq!(parse_app(bad), None, "{bad}");
        }
    }
}
