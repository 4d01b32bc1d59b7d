//! The PBX call log's words: result and direction words, the headers of
//! every column, and the CSV export (headers and words in the agent's
//! language; the cells and quoting are the core's `cdr_view`).

use crate::Lang;
use agent_console_core::pbx::cdr_view::{column_cell, csv_field, extra_column, mmss};
use agent_console_wire::pbx::{Cdr, Disposition};

/// Words for a CDR direction.
pub fn direction_words(d: &str, lang: Lang) -> String {
    let (zh, en) = match d.trim() {
        "in" => ("呼入", "Inbound"),
        "out" => ("呼出", "Outbound"),
        "inter" | "inner" | "internal" => ("内部", "Internal"),
        "" => ("—", "—"),
        other => return other.to_string(),
    };
    lang.pick(zh, en).to_string()
}

/// Words for a disposition.
pub fn disposition_words(d: &Disposition, lang: Lang) -> String {
    let (zh, en) = match d {
        Disposition::Answered => ("已接通", "Answered"),
        Disposition::NoAnswer => ("未接通", "No answer"),
        Disposition::Failed => ("呼叫失败", "Failed"),
        Disposition::Busy => ("忙", "Busy"),
        // As sent (the seed's first example sends `"8"`).
        other => return other.as_wire().to_string(),
    };
    lang.pick(zh, en).to_string()
}

/// The header of an extra column (a seed name of the core's
/// `EXTRA_COLUMNS`) in `lang`: the seed's description where it has one;
/// the name itself for an unknown one.
pub fn column_header(key: &str, lang: Lang) -> &str {
    let (zh, en) = match key {
        "id" => ("记录主键", "Record id"),
        "clid" => ("主叫号码", "Caller ID"),
        "dnid" => ("直入号码", "Dialled number"),
        "dept_exten" => ("部门分机", "Department extension"),
        "sipcallid" => ("SIP通话标识", "SIP Call-ID"),
        "dcontext" => ("目标context", "Context"),
        "channel" => ("通道", "Channel"),
        "dstchannel" => ("目标通道", "Called channel"),
        "callerip" => ("主叫IP", "Caller IP"),
        "calledip" => ("被叫IP", "Called IP"),
        "lastapp" => ("最后进入app", "Last app"),
        "lastdata" => ("app参数", "Last app data"),
        "start" => ("开始时间", "Start"),
        "answer" => ("应答时间", "Answered"),
        "end" => ("结束时间", "End"),
        "amaflags" => ("AMA标志", "AMA flags"),
        "accountcode" => ("账户代码", "Account code"),
        "peeraccount" => ("对端账户", "Peer account"),
        "linkedid" => ("关联标识", "Linkedid"),
        "userfield" => ("用户字段", "User field"),
        "ivrdigit" => ("IVR按键", "IVR digits"),
        "ivrflow" => ("IVR流程", "IVR flow"),
        "sequence" => ("记录序列号", "Sequence"),
        "billingid" => ("计费ID", "Billing id"),
        "area_code" => ("区号", "Area code"),
        "city" => ("号码所在城市", "City"),
        "succ" => ("succ", "succ"),
        "billed" => ("是否已计费", "Billed"),
        "bill" => ("费用", "Charge"),
        "musictype" => ("转接类型", "Transfer type"),
        "service_level" => ("服务水平", "Service level"),
        "caller_recording" => ("主叫录音设置", "Caller recording"),
        "callee_recording" => ("被叫录音设置", "Callee recording"),
        "option" => ("option", "Option"),
        "numcalls" => ("当前通话数", "Calls up"),
        "loadavg" => ("当前通话负载", "Load"),
        "hangupsource" => ("挂断源", "Hung up by"),
        "hangupcause" => ("挂断原因", "Hangup cause"),
        "create_time" => ("记录创建时间", "Record created"),
        "trunkName" => ("中继名称", "Trunk"),
        other => (other, other),
    };
    lang.pick(zh, en)
}

/// The rows as CSV (RFC 4180: CRLF line ends, fields with a comma, quote
/// or line break quoted, quotes doubled), with a UTF-8 byte-order mark so
/// Excel reads the Chinese, headers and words in `lang`: the page's ten
/// columns.
pub fn to_csv(rows: &[Cdr], lang: Lang) -> String {
    to_csv_with(rows, &[], lang)
}

/// [`to_csv`] plus the extra columns (core's `EXTRA_COLUMNS`) named in `extra` (seed names, in
/// the order given; unknown names are left out), each cell exactly as the
/// PBX sent it.
pub fn to_csv_with<'a>(rows: impl IntoIterator<Item = &'a Cdr>, extra: &[&str], lang: Lang) -> String {
    let rows = rows.into_iter();
    let extra: Vec<&'static str> = extra.iter().filter_map(|k| extra_column(k)).collect();
    let head: [(&str, &str); 10] = [
        ("时间", "Time"),
        ("主叫", "From"),
        ("被叫", "To"),
        ("时长", "Duration"),
        ("计费时长（秒）", "Billed (s)"),
        ("结果", "Result"),
        ("方向", "Direction"),
        ("录音", "Recording"),
        ("唯一标识", "Uniqueid"),
        ("工号", "Agent"),
    ];
    let mut out = String::with_capacity(64 + rows.size_hint().0.saturating_mul(120));
    out.push('\u{feff}');
    for (i, (zh, en)) in head.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(&mut out, lang.pick(zh, en));
    }
    for c in &extra {
        out.push(',');
        csv_field(&mut out, column_header(c, lang));
    }
    out.push_str("\r\n");
    for r in rows {
        let cells = [
            r.calldate.clone(),
            r.src.clone(),
            r.dst.clone(),
            mmss(r.duration),
            r.billsec.to_string(),
            disposition_words(&r.disposition, lang),
            direction_words(&r.direction, lang),
            r.recording.clone(),
            r.uniqueid.clone(),
            r.agentid.clone(),
        ];
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, c);
        }
        for c in &extra {
            out.push(',');
            csv_field(&mut out, &column_cell(r, c));
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_console_core::pbx::cdr_view::{Rows, EXTRA_COLUMNS};
    use serde_json::json;

    fn cdr(i: u64) -> Cdr {
        serde_json::from_value(json!({
            "id": i, "calldate": "2024-11-15 10:31:35", "src": "8002", "dst": "8003", "duration": 125,
            "billsec": 120, "disposition": "ANSWERED", "uniqueid": format!("hwd-1.{i}"), "direction": "in",
            "recording": "monitor/20241115/a.wav",
        }))
        .unwrap()
    }

    /// A row with every one of the seed's 50 `GET cdr` columns filled.
    fn full_row() -> Cdr {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../../tests/fixtures/pbx/cdr_every_column.json"))
                .unwrap();
        serde_json::from_value(v["data"][0].clone()).unwrap()
    }

    #[test]
    fn csv_quoting_bom_and_words() {
        let mut r = cdr(1);
        r.src = "\"Li, Lei\" <8002>".into();
        r.dst = "line\nbreak".into();
        r.agentid = "=cmd()".into();
        let csv = to_csv(&[r, cdr(2)], Lang::Zh);
        assert!(csv.starts_with('\u{feff}'));
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(lines[0], "时间,主叫,被叫,时长,计费时长（秒）,结果,方向,录音,唯一标识,工号");
        assert!(lines[1].starts_with(
            "2024-11-15 10:31:35,\"\"\"Li, Lei\"\" <8002>\",\"line\nbreak\",02:05,120,已接通,呼入,"
        ));
        assert!(lines[1].ends_with(",hwd-1.1,'=cmd()"));
        assert_eq!(
            lines[2],
            "2024-11-15 10:31:35,8002,8003,02:05,120,已接通,呼入,monitor/20241115/a.wav,hwd-1.2,"
        );
        assert_eq!(*lines.last().unwrap(), "");
        let en = to_csv(&[], Lang::En);
        assert_eq!(
            en,
            "\u{feff}Time,From,To,Duration,Billed (s),Result,Direction,Recording,Uniqueid,Agent\r\n"
        );
    }

    #[test]
    fn csv_guards_all_six_formula_starts() {
        // OWASP's CSV-injection list: = + - @ tab CR.
        for lead in ['=', '+', '-', '@', '\t', '\r'] {
            let mut r = cdr(1);
            r.agentid = format!("{lead}1+1");
            r.src = format!("{lead}HYPERLINK(\"http://x\")");
            let csv = to_csv(&[r], Lang::En);
            // A CR quotes the cell; the guard sits inside the quotes.
            let agent = if lead == '\r' { format!("\"'{lead}1+1\"") } else { format!("'{lead}1+1") };
            assert!(csv.contains(&format!(",{agent}")), "{lead:?}: {csv:?}");
            let src = format!(",\"'{lead}HYPERLINK(\"\"http://x\"\")\",");
            assert!(csv.contains(&src), "{lead:?}: {csv:?}");
        }
        // Inside a cell, and plain numbers, nothing changes.
        let mut r = cdr(1);
        r.agentid = "a-b+c=d@e".into();
        let csv = to_csv(&[r], Lang::En);
        assert!(csv.contains(",a-b+c=d@e"), "{csv:?}");
        assert!(csv.contains(",8002,8003,"), "{csv:?}");
    }

    #[test]
    fn words() {
        assert_eq!(direction_words("out", Lang::En), "Outbound");
        assert_eq!(direction_words("weird", Lang::Zh), "weird");
        assert_eq!(disposition_words(&Disposition::NoAnswer, Lang::Zh), "未接通");
        assert_eq!(disposition_words(&Disposition::Other("8".into()), Lang::En), "8");
        assert_eq!(disposition_words(&Disposition::Busy, Lang::En), "Busy");
    }

    #[test]
    fn every_extra_column_has_its_own_header_in_both_languages() {
        for lang in [Lang::Zh, Lang::En] {
            let mut h: Vec<&str> = EXTRA_COLUMNS.iter().map(|k| column_header(k, lang)).collect();
            assert!(h.iter().all(|w| !w.is_empty()));
            h.sort_unstable();
            h.dedup();
            // `succ` and `option` have no Chinese in the seed: their names.
            assert_eq!(h.len(), EXTRA_COLUMNS.len(), "{lang:?}");
        }
        assert_eq!(column_header("hangupcause", Lang::Zh), "挂断原因");
        assert_eq!(column_header("nope", Lang::En), "nope");
    }

    #[test]
    fn the_export_reads_paged_rows_in_order() {
        let mut rows = Rows::default();
        rows.push_page((0..3).map(cdr).collect());
        rows.push_page((3..5).map(cdr).collect());
        let flat: Vec<Cdr> = (0..5).map(cdr).collect();
        assert_eq!(to_csv_with(&rows, &[], Lang::En), to_csv(&flat, Lang::En));
    }

    #[test]
    fn csv_exports_the_chosen_extra_columns_with_huge_numbers_exact() {
        let mut r = full_row();
        r.id = Some(9_007_199_254_740_993);
        r.duration = 18_446_744_073_709_551_615;
        let csv = to_csv_with(&[r.clone()], &["hangupcause", "id", "nope", "loadavg"], Lang::En);
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(
            lines[0],
            "Time,From,To,Duration,Billed (s),Result,Direction,Recording,Uniqueid,Agent,Hangup cause,Record id,Load"
        );
        assert!(lines[1].ends_with(",1011,16,9007199254740993,4.36"), "{}", lines[1]);
        let all: Vec<&str> = EXTRA_COLUMNS.to_vec();
        let csv = to_csv_with(&[r], &all, Lang::Zh);
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert!(
            lines[0].starts_with("时间,主叫,被叫,") && lines[0].ends_with(",记录创建时间,中继名称"),
            "{}",
            lines[0]
        );
        assert!(lines[1].contains(",hwd-1731637895.49,1011,9007199254740993,"), "{}", lines[1]);
        assert!(lines[1].ends_with(",2024-11-15 10:36:36,trunkHWD"), "{}", lines[1]);
        // Without extra columns the export is the page's ten, as before.
        assert_eq!(to_csv_with(&[], &[], Lang::En), to_csv(&[], Lang::En));
    }
}
