//! Reading an answer's body, bounded, and telling what it is. The API answers with
//! small JSON bodies (or none); anything larger than [`MAX_BODY`] is not the API, and
//! an HTML page or other text usually comes from a proxy or a login portal in the way.

use serde_json::Value;

/// The largest body read; the API's biggest answers (the online list of a large
/// meeting) are far below it.
pub(crate) const MAX_BODY: usize = 4 * 1024 * 1024;

/// What an answer's body turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Body {
    Empty,
    Json(Value),
    /// An HTML page, by its content type or its first character.
    Html,
    /// Something else that does not parse as JSON, with the parser's reason.
    NotJson(String),
}

impl Body {
    pub(super) fn classify(content_type: Option<&str>, bytes: &[u8]) -> Body {
        let text = bytes.trim_ascii();
        if text.is_empty() {
            return Body::Empty;
        }
        let html_type = content_type.is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/html"))
        });
        if html_type || text.starts_with(b"<") {
            return Body::Html;
        }
        match serde_json::from_slice(text) {
            Ok(value) => Body::Json(value),
            Err(error) => Body::NotJson(error.to_string()),
        }
    }

    /// How a body that is not the API's JSON is described in a failure.
    pub(super) fn complaint(&self) -> Option<String> {
        match self {
            Body::Empty | Body::Json(_) => None,
            Body::Html => Some("the answer is an HTML page, not the API's JSON".into()),
            Body::NotJson(reason) => Some(format!("the answer is not JSON ({reason})")),
        }
    }
}

/// Reads a body chunk by chunk, giving up once it passes `cap` bytes.
pub(super) async fn read_capped(
    response: &mut reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLarge(cap));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[derive(Debug)]
pub(super) enum BodyError {
    TooLarge(usize),
    Read(reqwest::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_json_html_and_other_text_apart() {
        assert_eq!(Body::classify(None, b""), Body::Empty);
        assert_eq!(
            Body::classify(Some("application/json"), b" \n"),
            Body::Empty
        );
        assert_eq!(
            Body::classify(Some("application/json"), br#"{"a":1}"#),
            Body::Json(serde_json::json!({"a": 1}))
        );
        // The content type is not trusted for JSON: the body decides.
        assert_eq!(
            Body::classify(Some("text/plain"), b"[1]"),
            Body::Json(serde_json::json!([1]))
        );
        assert_eq!(
            Body::classify(Some("text/html; charset=utf-8"), b"{}"),
            Body::Html
        );
        assert_eq!(
            Body::classify(Some("application/json"), b"  <!DOCTYPE html><html>"),
            Body::Html
        );
        assert!(matches!(
            Body::classify(Some("application/json"), b"Service Unavailable"),
            Body::NotJson(_)
        ));
        assert!(matches!(Body::classify(None, b"{\"a\":"), Body::NotJson(_)));
        assert!(Body::Html.complaint().unwrap().contains("HTML"));
        assert!(
            Body::NotJson("x".into())
                .complaint()
                .unwrap()
                .contains("not JSON")
        );
        assert_eq!(Body::Empty.complaint(), None);
    }
}
