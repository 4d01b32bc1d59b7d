//! English for the PBX's documented error codes (seed 003's table is in
//! Chinese; the codes and the seed's words are in `wire::pbx::codes`).

/// Our English for a documented vendor code, `None` for an unknown one.
pub fn vendor_code_en(code: &str) -> Option<&'static str> {
    Some(match code {
        "510000" => "Invalid parameters for marking a voicemail read",
        "510001" => "Could not mark the voicemail",
        "600000" => "Invalid call parameters",
        "600001" => "The call could not be placed",
        "600002" => "The call could not be hung up",
        "600003" => "The call could not be put on hold",
        "600004" => "The held call could not be resumed",
        "600005" => "Invalid transfer parameters",
        "600006" => "The transfer failed",
        "600007" => "The attended transfer could not be cancelled",
        "600008" => "Invalid pickup parameters",
        "600009" => "The pickup failed",
        "600010" => "Invalid barge parameters",
        "600011" => "The barge failed",
        "600012" => "Invalid monitor parameters",
        "600013" => "Monitoring failed",
        "600014" => "Invalid whisper parameters",
        "600015" => "The whisper failed",
        "600016" => "The call could not be parked",
        "600017" => "Invalid unpark parameters",
        "600018" => "The parked call has already hung up",
        "600019" => "Invalid redirect parameters",
        "600020" => "The redirect failed",
        "600021" => "Invalid parameters for playing a recording on the phone",
        "600022" => "The recording could not be played on the phone",
        "610000" => "Agent sign-in failed",
        "610001" => "Invalid agent sign-out parameters",
        "610002" => "Agent sign-out failed",
        "610003" => "Invalid agent status parameters",
        "610004" => "The agent status could not be set",
        "610005" => "Invalid queue priority parameters",
        "610006" => "The queue priority could not be changed",
        "610007" => "Invalid agent sign-in parameters",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_console_wire::pbx::codes::VENDOR_CODES;

    #[test]
    fn every_documented_code_has_english_and_no_other_does() {
        for c in VENDOR_CODES {
            let en = vendor_code_en(c.code);
            assert!(en.is_some_and(|e| !e.is_empty()), "{} has no English", c.code);
        }
        assert_eq!(vendor_code_en("999999"), None);
        assert_eq!(vendor_code_en("600016"), Some("The call could not be parked"));
    }
}
