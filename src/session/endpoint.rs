//! The service a real run calls: `--endpoint`, checked before any credential is sent.

use crate::error::Error;

/// The endpoint must be https, except on loopback or when explicitly allowed: a
/// password must never cross a network in clear text by accident.
pub(crate) fn check_endpoint(endpoint: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let url = url::Url::parse(endpoint)
        .map_err(|e| Error::Usage(format!("--endpoint {endpoint}: {e}")))?;
    // User info would travel with every call (and be printed in run headers); a query
    // or fragment would be mangled by the paths appended to the endpoint.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Usage(
            "--endpoint: user info (`user:password@`) has no place in the endpoint; emcee logs in with the meeting's credentials".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Usage(format!(
            "--endpoint {endpoint}: a query or fragment has no place in the endpoint"
        )));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback || allow_insecure_http => {}
        "http" => {
            return Err(Error::Usage(format!(
                "--endpoint {endpoint}: plain http would send the host password in clear text; use https, or --allow-insecure-http if you must"
            )));
        }
        other => {
            return Err(Error::Usage(format!(
                "--endpoint {endpoint}: unsupported scheme `{other}`"
            )));
        }
    }
    Ok(endpoint.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_endpoints_only_on_loopback_unless_allowed() {
        assert!(check_endpoint("https://api.meeting.huaweicloud.com", false).is_ok());
        assert!(check_endpoint("http://127.0.0.1:8787", false).is_ok());
        assert!(check_endpoint("http://[::1]:8787/", false).is_ok());
        assert!(check_endpoint("http://localhost:8787", false).is_ok());
        assert!(
            check_endpoint("http://10.0.0.5:8787", false)
                .unwrap_err()
                .to_string()
                .contains("clear text")
        );
        assert!(check_endpoint("http://10.0.0.5:8787", true).is_ok());
        assert!(check_endpoint("ftp://x", true).is_err());
        let userinfo = check_endpoint("https://me:hunter22@api.example", false)
            .unwrap_err()
            .to_string();
        assert!(
            userinfo.contains("user info") && !userinfo.contains("hunter22"),
            "{userinfo}"
        );
        assert!(check_endpoint("https://api.example/?x=1", false).is_err());
        assert!(check_endpoint("https://api.example/#x", false).is_err());
    }
}
