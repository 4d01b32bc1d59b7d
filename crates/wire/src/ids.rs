//! The one rule for identifiers the vendors and sites assign: user ids,
//! channels, extensions, agent ids, queues, trunks.
//!
//! The seeds put no character set on them, and real sites use UUIDs, e-mail
//! addresses and named PJSIP endpoints. So an id is refused only where it
//! matters: empty, a control character, or an absurd length. Ids the PBX
//! splices into an Asterisk dial string or application argument (extensions,
//! agent ids, queues) additionally may not hold the few characters that
//! change what such a string means (see [`DIAL_META`]); that is about safety,
//! not about what a name should look like.

use crate::{InvalidInput, Problem};

/// Longest id accepted, in characters (an e-mail address may be 254).
pub const ID_MAX_CHARS: usize = 256;

/// Characters that change the meaning of an Asterisk dial string or
/// application argument when spliced in: `&` dials in parallel, `,` and `|`
/// separate arguments, `(` `)` open option lists, `$` `{` `}` expand
/// variables and functions, `/` separates technology and resource, `@`
/// turns an endpoint into `number@endpoint`, `;` starts a channel suffix or
/// comment, `^` escapes, and quotes, `\`, `<`, `>` and `` ` `` end or escape
/// fields. Whitespace is refused with them.
pub const DIAL_META: &str = "&,|()${}/@;^\\\"'<>`";

/// Checks `value` as the id `field`: surrounding spaces trimmed, then
/// non-empty, no control characters, at most [`ID_MAX_CHARS`].
pub fn check_id<'a>(field: &'static str, value: &'a str) -> Result<&'a str, InvalidInput> {
    let v = value.trim();
    if v.is_empty() {
        return Err(InvalidInput::new(field, Problem::Required, value));
    }
    if v.chars().any(char::is_control) {
        return Err(InvalidInput::new(field, Problem::ControlChars, &v.escape_debug().to_string()));
    }
    if v.chars().count() > ID_MAX_CHARS {
        return Err(InvalidInput::new(field, Problem::TooLong { max: ID_MAX_CHARS as u64 }, v));
    }
    Ok(v)
}

/// [`check_id`], and no whitespace or [`DIAL_META`] character: for ids the
/// PBX puts into dial strings (extensions, agent ids, queues).
pub fn check_dial_id<'a>(field: &'static str, value: &'a str) -> Result<&'a str, InvalidInput> {
    let v = check_id(field, value)?;
    if v.chars().any(|c| c.is_whitespace() || DIAL_META.contains(c)) {
        return Err(InvalidInput::new(field, Problem::DialChars, v));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_as_sites_make_them() {
        for ok in ["1234", "3f2b8c1e-9a4d-4e2f-8b7a-0c1d2e3f4a5b", "alice@example.com", "用户一", "a b"] {
            assert_eq!(check_id("uid", ok), Ok(ok), "{ok}");
        }
        assert_eq!(check_id("uid", "  x ").ok(), Some("x"));
        assert_eq!(check_id("uid", " ").unwrap_err().problem, Problem::Required);
        assert_eq!(check_id("uid", "a\u{0}b").unwrap_err().problem, Problem::ControlChars);
        assert_eq!(check_id("uid", "a\nb").unwrap_err().problem, Problem::ControlChars);
        assert!(check_id("uid", &"u".repeat(ID_MAX_CHARS)).is_ok());
        assert_eq!(
            check_id("uid", &"u".repeat(ID_MAX_CHARS + 1)).unwrap_err().problem,
            Problem::TooLong { max: ID_MAX_CHARS as u64 }
        );
    }

    #[test]
    fn dial_ids_keep_names_and_refuse_dial_syntax() {
        for ok in ["8001", "alice", "alice.smith", "sales-01", "desk_2", "support+1", "前台"] {
            assert_eq!(check_dial_id("extension", ok), Ok(ok), "{ok}");
        }
        for bad in ["8001&PJSIP/8002", "8001,30", "a b", "${x}", "8001@trunk", "a;b", "a|b", "a(b)"] {
            assert_eq!(check_dial_id("extension", bad).unwrap_err().problem, Problem::DialChars, "{bad}");
        }
    }
}
