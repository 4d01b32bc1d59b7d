//! `SipCdrClient` for JS: GetBill pages and the once-only sync.

use super::{from_js, to_js, to_js_error};
use crate::api::sipcdr::BillQueryInput;
use crate::core::{Error, SipCdrSession};
use crate::i18n::Lang;
use crate::transport::{self, FetchClient};
use js_sys::Promise;
use serde::Deserialize;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

#[wasm_bindgen(typescript_custom_section)]
const TS_SIPCDR: &'static str = r#"
/** Settings of a `SipCdrClient`. */
export interface SipCdrSettings {
  /** Where GetBill is POSTed, e.g. `http://127.0.0.1:8080`. */
  apiUrl: string;
  /** The token from the vendor's authorisation call. */
  token: string;
  /** Language of error messages; default `zh-CN`. */
  language?: string;
}
/** A GetBill query; field names are the vendor's. Times are `YYYY-MM-DD HH:MM:SS`. */
export interface BillQuery {
  starttime: string;
  endtime: string;
  /** 1 not fetched yet (default), 2 fetched, 3 all. */
  syncflag?: 1 | 2 | 3;
  /** 1 in, 2 out, 3 all (default). */
  direction?: 1 | 2 | 3;
  /** 0 any, 1 ext-to-ext, 2 manual, 3 API, 4 API two-way, 5 predictive, 6 IVR/group.
   * Default: 3 (the seed's) for `bills`, 0 (all bills) for `syncBills`. */
  callmethod?: 0 | 1 | 2 | 3 | 4 | 5 | 6;
  /** From 1; default 1. */
  currentpage?: number;
  /** 1-1000; default 10. */
  itemsperpage?: number;
  /** Comma-separated extensions; empty for all. */
  extnumber?: string;
  destnumber?: string;
  userid?: string;
  memberid?: string;
  chengshudu?: string;
  customuuid?: string;
}
export interface Bill {
  id: WireInt;
  extnumber: string;
  destnumber: string;
  displaynumber: string;
  starttime: string;
  /** null when the call was not answered. */
  answertime: string | null;
  endtime: string;
  duration: WireInt;
  billsec: WireInt;
  direction: string;
  callmethod: WireInt;
  userid: string;
  memberid: string;
  chengshudu: string;
  customuuid: string;
  recordfilename: string;
  downloadip: string;
  hangupdirection: WireInt;
  hangupcause: WireInt;
  userkey: string;
}
export interface BillPage {
  totalitems: WireInt; currentpage: WireInt; itemsperpage: WireInt; bills: Bill[];
  /** Bills of this page that did not decode and were left out. */
  skipped: SkippedRows;
  /** When the server took the request and answered, Unix seconds (the reply's `data.reqtime`/`rsptime`); null when not sent. */
  reqtime: WireInt | null; rsptime: WireInt | null;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `SipCdrSettings` in TypeScript.
    #[wasm_bindgen(typescript_type = "SipCdrSettings")]
    pub type SipCdrSettingsArg;
    /// `BillQuery` in TypeScript.
    #[wasm_bindgen(typescript_type = "BillQuery")]
    pub type BillQueryArg;
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SettingsIn {
    #[serde(deserialize_with = "crate::api::de::string_lenient")]
    api_url: String,
    #[serde(deserialize_with = "crate::api::de::string_lenient")]
    token: String,
    language: Option<String>,
}

/// The SIP call-record API for embedders.
///
/// ```ts
/// const cdr = new SipCdrClient({ apiUrl: 'http://127.0.0.1:8080', token: 'ABCDEFG' });
/// const page = await cdr.bills({ starttime: '2024-01-01 00:00:00', endtime: '2024-01-31 23:59:59', syncflag: 3 });
/// const fresh = await cdr.syncBills({ starttime: '2024-01-01 00:00:00', endtime: '2024-01-31 23:59:59' });
/// ```
#[wasm_bindgen]
pub struct SipCdrClient {
    session: Rc<SipCdrSession<FetchClient>>,
    lang: Lang,
}

#[wasm_bindgen]
impl SipCdrClient {
    /// Checks the settings; throws an `AgentConsoleError` naming the bad field.
    #[wasm_bindgen(constructor)]
    pub fn new(settings: SipCdrSettingsArg) -> Result<SipCdrClient, JsValue> {
        let s: SettingsIn = from_js("settings", settings.into()).map_err(|e| to_js_error(&e, Lang::Zh))?;
        let lang = s.language.as_deref().map(Lang::from_tag).unwrap_or_default();
        let session = transport::open_sipcdr(&s.api_url, &s.token).map_err(|e| to_js_error(&e, lang))?;
        Ok(SipCdrClient { session: Rc::new(session), lang })
    }

    fn query(&self, q: BillQueryArg, sync: bool) -> Result<crate::api::sipcdr::BillQuery, Error> {
        let input: BillQueryInput = from_js("query", q.into())?;
        Ok(if sync { input.check_sync()? } else { input.check()? })
    }

    /// One page of bills, as the query asks. With `syncflag: 1` the server
    /// marks the returned bills fetched: use `syncBills` to lose none.
    #[wasm_bindgen(unchecked_return_type = "Promise<BillPage>")]
    pub fn bills(&self, query: BillQueryArg) -> Promise {
        let lang = self.lang;
        let q = match self.query(query, false) {
            Ok(q) => q,
            Err(e) => return Promise::reject(&to_js_error(&e, lang)),
        };
        let s = self.session.clone();
        future_to_promise(async move {
            s.bills(&q).await.and_then(|p| to_js(&p)).map_err(|e| to_js_error(&e, lang))
        })
    }

    /// Every bill not fetched before in the query's window and filters
    /// (`syncflag` and `currentpage` are ignored), each handed over once
    /// across calls. Left out, `callmethod` is 0 (any) and `direction` 3
    /// (both): all bills, not the seed's default of API calls only. After a
    /// failure, the next call delivers what the failed one had fetched and
    /// re-reads the window for bills whose reply was lost.
    /// The array also carries `skipped` (`{count, reasons}`): bills the
    /// server marked fetched that did not decode, so cannot be handed over.
    #[wasm_bindgen(js_name = syncBills, unchecked_return_type = "Promise<Bill[] & { skipped: SkippedRows }>")]
    pub fn sync_bills(&self, query: BillQueryArg) -> Promise {
        let lang = self.lang;
        let q = match self.query(query, true) {
            Ok(q) => q,
            Err(e) => return Promise::reject(&to_js_error(&e, lang)),
        };
        let s = self.session.clone();
        future_to_promise(async move {
            s.sync(q)
                .await
                .and_then(|b| super::to_js_listed(&b.rows, &b.skipped))
                .map_err(|e| to_js_error(&e, lang))
        })
    }
}
