//! One HTTP client for both services: retries on network errors and 5xx,
//! waits out rate limits, and turns answers into JSON or bytes.
//!
//! Strava allows 200 requests per 15 minutes and 2,000 per day (100/1,000
//! for reads on new apps) and says how much is used in `X-RateLimit-*` and
//! `X-ReadRateLimit-*` headers. A backfill of years of history needs more
//! than one window, so the client waits for the next window instead of
//! failing, and says until when.

use super::{Result, SyncError};
use std::sync::Mutex;
use std::time::Duration;

/// Tries for one request when the network or the server fails (5xx).
const TRIES: u32 = 4;
/// First pause after a failure; doubled each time (0.5, 1, 2 s).
const BACKOFF: Duration = Duration::from_millis(500);
/// 429s waited out for one request before giving up.
const RATE_WAITS: u32 = 5;
/// Originals can be big (a day-long FIT with power and HR): ureq's 10 MB
/// default would cut them.
const MAX_BODY: u64 = 256 << 20;

pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Basic { user: &'a str, password: &'a str },
}

/// What a request came back with, whatever the status.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub url: String,
}

impl Reply {
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(|e| SyncError::Malformed {
            url: self.url.clone(),
            message: format!("not JSON ({e})"),
        })
    }

    /// The body, shortened, for error messages.
    pub fn text(&self) -> String {
        let s = String::from_utf8_lossy(&self.body);
        let s = s.trim();
        match s.char_indices().nth(200) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s.to_string(),
        }
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Called with a line for the user when a request waits for a rate limit.
pub(crate) type WaitNotice = Box<dyn Fn(&str) + Send + Sync>;

pub struct Api {
    agent: ureq::Agent,
    base: String,
    on_wait: Option<WaitNotice>,
    /// When the rate limit last said "used up": the next request waits.
    blocked_until_ms: Mutex<Option<i64>>,
}

impl Api {
    pub fn new(base: &str) -> Api {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .user_agent(concat!("hotpot/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Api {
            agent,
            base: base.trim_end_matches('/').to_string(),
            on_wait: None,
            blocked_until_ms: Mutex::new(None),
        }
    }

    /// Where "waiting for the rate limit until ..." goes (the CLI prints it
    /// above its progress bar); without one it is logged.
    pub fn with_wait_notice(mut self, f: WaitNotice) -> Api {
        self.on_wait = Some(f);
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn get(&self, path: &str, query: &[(&str, String)], auth: &Auth) -> Result<Reply> {
        self.send("GET", path, query, auth, None)
    }

    pub(crate) fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        auth: &Auth,
    ) -> Result<Reply> {
        self.send("POST", path, &[], auth, Some(form))
    }

    pub fn delete(&self, path: &str, query: &[(&str, String)]) -> Result<Reply> {
        self.send("DELETE", path, query, &Auth::None, None)
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        auth: &Auth,
        form: Option<&[(&str, &str)]>,
    ) -> Result<Reply> {
        let url = format!("{}{path}", self.base);
        let mut failures = 0;
        let mut rate_waits = 0;
        loop {
            self.wait_if_blocked();
            match self.send_once(method, &url, query, auth, form) {
                Ok((reply, limits)) if reply.status == 429 => {
                    rate_waits += 1;
                    if rate_waits > RATE_WAITS {
                        return Err(http_err(&url, "still rate limited (429) after waiting"));
                    }
                    let until = limits.retry_at_ms(crate::store::now_ms());
                    self.wait_until(until, &limits.describe());
                }
                Ok((reply, _)) if reply.status >= 500 && failures + 1 < TRIES => {
                    failures += 1;
                    tracing::warn!(url, status = reply.status, "server error, retrying");
                    std::thread::sleep(BACKOFF * 2u32.pow(failures - 1));
                }
                Ok((reply, _)) if reply.status >= 500 => {
                    return Err(http_err(
                        &url,
                        &format!(
                            "HTTP {} after {TRIES} tries: {}",
                            reply.status,
                            reply.text()
                        ),
                    ));
                }
                Ok((reply, limits)) => {
                    if let Some(at) = limits.exhausted_until_ms(crate::store::now_ms()) {
                        *self
                            .blocked_until_ms
                            .lock()
                            .unwrap_or_else(|p| p.into_inner()) = Some(at);
                    }
                    return Ok(reply);
                }
                Err(e) if failures + 1 < TRIES => {
                    failures += 1;
                    tracing::warn!(url, "request failed, retrying: {e}");
                    std::thread::sleep(BACKOFF * 2u32.pow(failures - 1));
                }
                Err(e) => return Err(http_err(&url, &format!("{e} (after {TRIES} tries)"))),
            }
        }
    }

    fn send_once(
        &self,
        method: &str,
        url: &str,
        query: &[(&str, String)],
        auth: &Auth,
        form: Option<&[(&str, &str)]>,
    ) -> std::result::Result<(Reply, RateLimits), ureq::Error> {
        let auth_header = match auth {
            Auth::None => None,
            Auth::Bearer(t) => Some(format!("Bearer {t}")),
            Auth::Basic { user, password } => {
                use base64::Engine;
                let raw = format!("{user}:{password}");
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                ))
            }
        };
        let pairs = query.iter().map(|(k, v)| (*k, v.as_str()));
        let mut res = match (method, form) {
            ("POST", Some(form)) => {
                let mut req = self.agent.post(url).query_pairs(pairs);
                if let Some(h) = &auth_header {
                    req = req.header("Authorization", h);
                }
                req.send_form(form.iter().copied())?
            }
            _ => {
                let mut req = match method {
                    "DELETE" => self.agent.delete(url),
                    _ => self.agent.get(url),
                }
                .query_pairs(pairs);
                if let Some(h) = &auth_header {
                    req = req.header("Authorization", h);
                }
                req.call()?
            }
        };
        let limits = RateLimits::from_headers(res.headers());
        let body = res.body_mut().with_config().limit(MAX_BODY).read_to_vec()?;
        Ok((
            Reply {
                status: res.status().as_u16(),
                body,
                url: url.to_string(),
            },
            limits,
        ))
    }

    fn wait_if_blocked(&self) {
        let until = self
            .blocked_until_ms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(until) = until {
            self.wait_until(until, "rate limit used up");
        }
    }

    fn wait_until(&self, until_ms: i64, why: &str) {
        let wait = until_ms - crate::store::now_ms();
        if wait <= 0 {
            return;
        }
        let msg = format!(
            "{why}: waiting until {} ({} s)",
            crate::timefmt::iso8601(until_ms),
            (wait + 999) / 1000
        );
        match &self.on_wait {
            Some(f) => f(&msg),
            None => tracing::warn!("{msg}"),
        }
        std::thread::sleep(Duration::from_millis(wait as u64));
    }
}

fn http_err(url: &str, message: &str) -> SyncError {
    SyncError::Http {
        url: url.to_string(),
        message: message.to_string(),
    }
}

/// What a response said about the rate limits: `(limit, usage)` for the
/// 15-minute window and the day, from the overall and the read headers.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct RateLimits {
    pub windows: Vec<[(u64, u64); 2]>,
    pub(crate) retry_after_s: Option<u64>,
}

const QUARTER_MS: i64 = 15 * 60 * 1000;
const DAY_MS: i64 = 24 * 3600 * 1000;

impl RateLimits {
    pub(crate) fn from_headers(h: &ureq::http::HeaderMap) -> RateLimits {
        let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut windows = Vec::new();
        for prefix in ["x-ratelimit", "x-readratelimit"] {
            let (Some(limit), Some(usage)) = (
                get(&format!("{prefix}-limit")),
                get(&format!("{prefix}-usage")),
            ) else {
                continue;
            };
            let nums = |s: &str| -> Vec<u64> {
                s.split(',').filter_map(|v| v.trim().parse().ok()).collect()
            };
            if let ([l15, lday], [u15, uday]) = (&nums(&limit)[..], &nums(&usage)[..]) {
                windows.push([(*l15, *u15), (*lday, *uday)]);
            }
        }
        RateLimits {
            windows,
            retry_after_s: get("retry-after").and_then(|v| v.trim().parse().ok()),
        }
    }

    /// When a window that is used up opens again (Strava's windows reset
    /// at the quarter hours and at midnight UTC), if one is.
    pub(crate) fn exhausted_until_ms(&self, now_ms: i64) -> Option<i64> {
        let mut until = None;
        for [(l15, u15), (lday, uday)] in &self.windows {
            if uday >= lday {
                until = until.max(Some((now_ms / DAY_MS + 1) * DAY_MS));
            } else if u15 >= l15 {
                until = until.max(Some((now_ms / QUARTER_MS + 1) * QUARTER_MS));
            }
        }
        until
    }

    /// When to try again after a 429: `Retry-After` when given, else the
    /// end of the window that is used up, else the next quarter hour.
    pub(crate) fn retry_at_ms(&self, now_ms: i64) -> i64 {
        if let Some(s) = self.retry_after_s {
            return now_ms + s as i64 * 1000;
        }
        self.exhausted_until_ms(now_ms)
            .unwrap_or((now_ms / QUARTER_MS + 1) * QUARTER_MS)
    }

    pub fn describe(&self) -> String {
        match self.windows.first() {
            Some([(l15, u15), (lday, uday)]) => {
                format!("rate limited (429; used {u15}/{l15} per 15 min, {uday}/{lday} per day)")
            }
            None => "rate limited (429)".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(limit: &str, usage: &str) -> RateLimits {
        let mut h = ureq::http::HeaderMap::new();
        h.insert("X-RateLimit-Limit", limit.parse().unwrap());
        h.insert("X-RateLimit-Usage", usage.parse().unwrap());
        RateLimits::from_headers(&h)
    }

    #[test]
    fn windows_reset_at_the_quarter_hour_and_at_midnight() {
        // 2024-01-01T10:07:30Z
        let now = 1_704_103_650_000;
        assert_eq!(limits("200,2000", "12,100").exhausted_until_ms(now), None);
        let q = limits("200,2000", "200,300")
            .exhausted_until_ms(now)
            .unwrap();
        assert_eq!(crate::timefmt::iso8601(q), "2024-01-01T10:15:00Z");
        let d = limits("200,2000", "20,2000")
            .exhausted_until_ms(now)
            .unwrap();
        assert_eq!(crate::timefmt::iso8601(d), "2024-01-02T00:00:00Z");
        assert!(limits("200,2000", "200,300").describe().contains("200/200"));
        // Garbage headers are no limits, not a panic.
        assert!(limits("lots", "x,y,z").windows.is_empty());
    }

    #[test]
    fn retry_after_wins() {
        let mut l = limits("200,2000", "200,300");
        l.retry_after_s = Some(3);
        assert_eq!(l.retry_at_ms(1000), 4000);
    }
}
