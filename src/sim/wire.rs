//! How the emulator reads a request body: the types are the contract's
//! ([`crate::meeting::wire`]); this parses one strictly and says which field is wrong,
//! as the real service's 400 answers do.

use serde::de::DeserializeOwned;

use super::api_error::ApiError;

/// Parses the body of an API call; a bad one is the service's 400 naming the field.
pub(super) fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_body(bytes).map_err(ApiError::bad_request)
}

/// Parses a JSON body, naming the offending field in the message.
pub(super) fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("request body is required".into());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." || path == "?" {
            format!("invalid body: {inner}")
        } else {
            format!("invalid parameter {path}: {inner}")
        }
    })?;
    deserializer
        .end()
        .map_err(|error| format!("invalid body: {error}"))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meeting::wire::{Flag, MuteBody};

    #[test]
    fn flags_accept_only_zero_and_one() {
        assert_eq!(
            parse_body::<MuteBody>(br#"{"isMute":1}"#).unwrap().is_mute,
            Flag(true)
        );
        let error = parse_body::<MuteBody>(br#"{"isMute":2}"#).unwrap_err();
        assert!(error.starts_with("invalid parameter isMute:"), "{error}");
        assert!(
            parse_body::<MuteBody>(br#"{"isMute":true}"#)
                .unwrap_err()
                .contains("isMute")
        );
        assert!(parse_body::<MuteBody>(br#"{"isMute":"1"}"#).is_err());
        assert!(
            parse_body::<MuteBody>(br#"{"isMute":1,"x":0}"#)
                .unwrap_err()
                .contains("unknown field")
        );
        assert!(
            parse_body::<MuteBody>(b"{}")
                .unwrap_err()
                .contains("missing field `isMute`")
        );
        assert!(
            parse_body::<MuteBody>(b"")
                .unwrap_err()
                .contains("required")
        );
        assert!(parse_body::<MuteBody>(br#"{"isMute":1} x"#).is_err());
    }
}
