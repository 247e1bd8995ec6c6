//! Who may write: the checks in front of `POST /upload`, made before a
//! byte of the body is read (issue 10, items 7, 8 and 11).
//!
//! - Cross-site requests: a page on another origin can POST a form here
//!   (CSRF), and a DNS name rebound to 127.0.0.1 reaches a loopback
//!   server with that name as `Host`. Browsers send `Origin` on every
//!   cross-origin POST, so a write whose `Origin` is not this server (or
//!   one allowed with `--allow-origin`) is refused; without a token (the
//!   loopback case), `Host` must also be an IP address, `localhost`, or
//!   the host of an allowed origin: a rebound name is neither.
//! - The token is compared in constant time (`subtle`), and the `Bearer`
//!   scheme matched case-insensitively as RFC 9110 says schemes are.
//! - A body announced larger than the limit is refused at once.
//!
//! Every refusal asks for the connection to close; `listen` reads and
//! drops the unread body first so the client sees the answer.

use super::error::refusal;
use super::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub async fn guard_writes(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    match check_write(&state, req.headers()) {
        Ok(()) => next.run(req).await,
        Err((status, msg)) => {
            tracing::warn!(status = status.as_u16(), "upload refused: {msg}");
            refusal(status, msg)
        }
    }
}

fn check_write(state: &AppState, headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
    let policy = &state.uploads;
    if !policy.enabled {
        return Err((
            StatusCode::FORBIDDEN,
            "uploads are disabled (start the server with --upload)".into(),
        ));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let same = origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host));
        let allowed = policy
            .allow_origins
            .iter()
            .any(|a| a.eq_ignore_ascii_case(origin));
        if !same && !allowed {
            return Err((
                StatusCode::FORBIDDEN,
                format!(
                    "cross-origin upload from {origin:?} refused (start the server with --allow-origin {origin} to allow it)"
                ),
            ));
        }
    }
    match &policy.token {
        Some(token) => check_token(token, headers),
        None if !host_is_trusted(host, &policy.allow_origins) => Err((
            StatusCode::FORBIDDEN,
            format!(
                "upload with Host {host:?} refused: without a token only IP addresses, localhost and --allow-origin hosts may write"
            ),
        )),
        None => Ok(()),
    }?;
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > policy.max_bytes as u64
    {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "upload of {len} bytes is over the limit of {} bytes (--max-upload-mb)",
                policy.max_bytes
            ),
        ));
    }
    Ok(())
}

fn check_token(token: &str, headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match given {
        Some(t) if bool::from(t.as_bytes().ct_eq(token.as_bytes())) => Ok(()),
        _ => Err((
            StatusCode::UNAUTHORIZED,
            "uploads need 'Authorization: Bearer <HOTPOT_UPLOAD_TOKEN>'".into(),
        )),
    }
}

/// A `Host` no DNS rebinding can produce: an IP address or `localhost`
/// (with any port), or the host of an origin the user allowed.
fn host_is_trusted(host: &str, allow_origins: &[String]) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => {
            return v6
                .split(']')
                .next()
                .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok());
        }
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    };
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || allow_origins.iter().any(|o| {
            o.split_once("://")
                .is_some_and(|(_, h)| h.eq_ignore_ascii_case(host) || h.eq_ignore_ascii_case(name))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_that_rebinding_cannot_make() {
        for ok in [
            "127.0.0.1:8080",
            "localhost:3000",
            "[::1]:80",
            "192.168.1.5",
            "LOCALHOST",
        ] {
            assert!(host_is_trusted(ok, &[]), "{ok}");
        }
        for bad in ["evil.example:8080", "", "127.0.0.1.nip.io:80", "[evil]:80"] {
            assert!(!host_is_trusted(bad, &[]), "{bad}");
        }
        assert!(host_is_trusted(
            "heat.example.org",
            &["https://heat.example.org".into()]
        ));
    }

    #[test]
    fn bearer_scheme_in_any_case_and_exact_token() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            check_token("s3cret", &h).is_ok()
        };
        assert!(with("Bearer s3cret") && with("bearer s3cret") && with("BEARER  s3cret"));
        assert!(!with("Bearer s3cre") && !with("Bearer s3cret2") && !with("Basic s3cret"));
        assert!(check_token("s3cret", &HeaderMap::new()).is_err());
    }
}
