//! Which calls to the admin API a web page could have made, so that they are refused.
//! Any page open in the developer's browser can send requests to the emulator's port;
//! the admin API takes only what a page cannot send without the emulator's consent.
//! The control API is not guarded, since SDKs call it under the service's own host
//! name.

use std::net::IpAddr;

use axum::extract::Request;
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderValue, Method};

use super::api_error::ApiError;

/// Why an admin call is refused, if it is. It must have
/// - a `Host` naming the address served — not a DNS name that points there (DNS
///   rebinding would let a page read the answers);
/// - no `Origin`, or that same address as origin;
/// - `Content-Type: application/json` on anything but GET: browsers send `text/plain`
///   and form bodies across sites without asking.
pub(super) fn refusal(request: &Request, base_url: &str) -> Option<ApiError> {
    let Ok(served) = url::Url::parse(base_url) else {
        return Some(ApiError::sim_forbidden(format!(
            "cannot tell the address served from {base_url:?}"
        )));
    };
    let headers = request.headers();
    let host = headers.get(HOST).and_then(|value| value.to_str().ok());
    // Read as a URL of the scheme served, so that a missing port means its default.
    let host_ok = host
        .filter(|host| !host.contains(['@', '/', '?', '#', '\\']))
        .and_then(|host| url::Url::parse(&format!("{}://{host}", served.scheme())).ok())
        .is_some_and(|url| names(&served, &url));
    if !host_ok {
        return Some(ApiError::sim_forbidden(format!(
            "the admin API answers only under {}, not under host {:?}",
            served.authority(),
            host.unwrap_or_default()
        )));
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let same = origin
            .to_str()
            .ok()
            .and_then(|origin| url::Url::parse(origin).ok())
            .is_some_and(|origin| origin.scheme() == served.scheme() && names(&served, &origin));
        if !same {
            return Some(ApiError::sim_forbidden(format!(
                "the admin API does not take requests from other sites (origin {:?})",
                String::from_utf8_lossy(origin.as_bytes())
            )));
        }
    }
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    if !safe && !is_json(headers.get(CONTENT_TYPE)) {
        return Some(ApiError::sim_not_json());
    }
    None
}

/// Whether `url`'s host and port name the address served.
fn names(served: &url::Url, url: &url::Url) -> bool {
    url.host_str()
        .is_some_and(|host| serves(served, host, url.port_or_known_default()))
}

/// Whether `host:port` names the address served: that address itself, `localhost`
/// when it is a loopback address, or any address of the machine when it listens on
/// all of them. A DNS name never does.
fn serves(served: &url::Url, host: &str, port: Option<u16>) -> bool {
    let Some(served_ip) = served.host_str().and_then(parse_ip) else {
        return false;
    };
    if port != served.port_or_known_default() {
        return false;
    }
    match parse_ip(host) {
        Some(ip) => ip == served_ip || served_ip.is_unspecified(),
        None => {
            host.eq_ignore_ascii_case("localhost")
                && (served_ip.is_loopback() || served_ip.is_unspecified())
        }
    }
}

/// An IP address, IPv6 with or without its brackets.
fn parse_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_address_served_counts_as_this_host() {
        let served = |base: &str| url::Url::parse(base).unwrap();
        let loopback = served("http://127.0.0.1:8080");
        assert!(serves(&loopback, "127.0.0.1", Some(8080)));
        assert!(serves(&loopback, "LocalHost", Some(8080)));
        assert!(!serves(&loopback, "127.0.0.1", Some(8081)));
        assert!(!serves(&loopback, "rebind.example", Some(8080)));
        assert!(!serves(&loopback, "10.0.0.5", Some(8080)));
        let everywhere = served("https://[::]:443");
        assert!(serves(&everywhere, "10.0.0.5", Some(443)));
        assert!(serves(&everywhere, "[::1]", Some(443)));
        assert!(!serves(&everywhere, "meeting.example", Some(443)));
        let lan = served("http://10.0.0.5:80");
        assert!(!serves(&lan, "localhost", Some(80)));
    }

    #[test]
    fn json_is_told_by_its_media_type() {
        let json = |value: &'static str| is_json(Some(&HeaderValue::from_static(value)));
        assert!(json("application/json"));
        assert!(json("Application/JSON; charset=utf-8"));
        assert!(!json("text/plain"));
        assert!(!json("application/x-www-form-urlencoded"));
        assert!(!json("application/jsonp"));
        assert!(!is_json(None));
    }
}
