//! The path of an API call, checked once: `check` refuses a bad `http` path at its
//! position, a templated one is checked again after rendering, and the client only
//! sends an [`ApiPath`]. A path that could leave the endpoint (`@host`, `//host`,
//! `https://…`, `..`, a backslash) would carry the token somewhere else.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An absolute path of the API, such as `/v1/mmc/control/conferences/lock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "String", into = "String")]
#[schemars(with = "String")]
pub struct ApiPath(String);

impl ApiPath {
    /// A path made by emcee itself from constant parts; checked in debug builds.
    pub(crate) fn trusted(path: String) -> ApiPath {
        debug_assert!(check(&path).is_ok(), "{path}");
        ApiPath(path)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's segments, to be appended one by one to the endpoint's URL.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0[1..].split('/')
    }
}

impl From<super::api::Api> for ApiPath {
    fn from(api: super::api::Api) -> ApiPath {
        ApiPath::trusted(api.path().to_owned())
    }
}

impl TryFrom<String> for ApiPath {
    type Error = String;

    fn try_from(path: String) -> Result<ApiPath, String> {
        check(&path)?;
        Ok(ApiPath(path))
    }
}

impl From<ApiPath> for String {
    fn from(path: ApiPath) -> String {
        path.0
    }
}

impl fmt::Display for ApiPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why `path` is not an absolute path of the API, naming the character (1-based) at fault.
/// Only unreserved characters are allowed: the API's paths need nothing else, and
/// anything else (`@`, `:`, `%`, `?`, `#`, `\`) could change where the call goes.
pub(crate) fn check(path: &str) -> Result<(), String> {
    let hint = format!(
        "an absolute path of the API such as {}",
        super::api::Api::Lock.path()
    );
    if !path.starts_with('/') {
        return Err(format!(
            "path `{path}` must start with `/`: give {hint}, without scheme or host"
        ));
    }
    if let Some((at, c)) = path
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '.' | '_' | '~')))
    {
        return Err(format!(
            "path `{path}`: character {} `{}` is not allowed; give {hint}, with parameters under `query:`",
            at + 1,
            c.escape_default()
        ));
    }
    let mut offset = 1;
    for segment in path[1..].split('/') {
        match segment {
            "" => {
                return Err(format!(
                    "path `{path}`: empty segment at character {offset}; a path starts with a single `/` and has no `//`"
                ));
            }
            "." | ".." => {
                return Err(format!(
                    "path `{path}`: `{segment}` at character {} is not allowed",
                    offset + 1
                ));
            }
            _ => {}
        }
        offset += segment.len() + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_api_paths_only() {
        let contract = super::super::api::Api::ALL.iter().map(|api| api.path());
        for good in contract.chain(["/a-b_c.d~e"]) {
            assert!(check(good).is_ok(), "{good}");
        }
        for (bad, says) in [
            ("@evil:8080/x", "must start with `/`"),
            ("evil.example/x", "must start with `/`"),
            ("https://evil.example/x", "must start with `/`"),
            ("", "must start with `/`"),
            ("//evil.example/x", "empty segment at character 1"),
            ("/v1//x", "empty segment at character 4"),
            ("/v1/", "empty segment"),
            ("/v1/../admin", "`..` at character 5"),
            ("/v1/./x", "`.` at character 5"),
            ("/@evil:8080/x", "character 2 `@`"),
            ("/v1\\..\\x", "character 4 `\\\\`"),
            ("/v1/%2e%2e/x", "character 5 `%`"),
            ("/v1/x?conferenceID=1", "`?`"),
            ("/v1/x#y", "`#`"),
            ("/v1/x y", "` `"),
            ("/v1/\u{e9}", "is not allowed"),
        ] {
            let message = check(bad).expect_err(bad);
            assert!(message.contains(says), "{bad}: {message}");
        }
    }

    #[test]
    fn deserializing_checks_and_segments_split() {
        let path: ApiPath = serde_json::from_value(serde_json::json!("/v1/x/y")).unwrap();
        assert_eq!(path.segments().collect::<Vec<_>>(), ["v1", "x", "y"]);
        assert!(serde_json::from_value::<ApiPath>(serde_json::json!("@evil/x")).is_err());
    }
}
