//! One webhook POST and what its outcome means for retrying.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};

use super::policy::{AddressPolicy, Refused};
use crate::protocol::TaskPushNotificationConfig;

/// Bytes of a webhook's answer read (and ignored) so its connection can be reused.
const ANSWER_BYTES: usize = 64 << 10;

/// Why a delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub message: String,
    /// Retrying cannot help (refused address, bad URL, a 4xx that is not about load): straight
    /// to the dead-letter queue.
    pub permanent: bool,
    /// What the webhook asked for with `Retry-After`.
    pub retry_after: Option<Duration>,
}

impl Failure {
    fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
            retry_after: None,
        }
    }

    fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
            retry_after: None,
        }
    }
}

/// The HTTP client webhooks are called with: addresses filtered by `policy`, no redirects, no
/// proxies from the environment. If it cannot be built, there is no client: a default one would
/// follow redirects and resolve names unfiltered (SSRF), so delivery fails closed instead.
pub(crate) fn client(
    policy: AddressPolicy,
    timeout: Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    guarded(policy, timeout).build()
}

fn guarded(policy: AddressPolicy, timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .dns_resolver(std::sync::Arc::new(super::policy::PolicyResolver(policy)))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .user_agent(concat!("a2a-runtime/", env!("CARGO_PKG_VERSION")))
}

/// Checks a webhook URL as far as it can be without resolving it: http(s), a host, and (for an IP
/// literal, which no resolver sees) an allowed address. Names are checked when connecting.
pub(crate) fn check_url(url: &str, policy: AddressPolicy) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("is not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "must be an http or https URL, not {}:",
            parsed.scheme()
        ));
    }
    let host = parsed.host_str().ok_or_else(|| "has no host".to_owned())?;
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        policy.check(ip).map_err(|e| e.to_string())?;
    }
    Ok(parsed)
}

/// POSTs one event (`body`, a StreamResponse) to a webhook.
pub(crate) async fn post(
    client: &reqwest::Client,
    policy: AddressPolicy,
    cfg: &TaskPushNotificationConfig,
    seq: u64,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(), Failure> {
    let url =
        check_url(&cfg.url, policy).map_err(|e| Failure::permanent(format!("webhook URL {e}")))?;
    let mut req = client
        .post(url)
        .timeout(timeout)
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/a2a+json"),
        )
        .header("X-A2A-Event-Id", seq);
    if let Some(auth) = cfg.authentication.as_ref().filter(|a| !a.scheme.is_empty()) {
        let value = format!("{} {}", auth.scheme, auth.credentials);
        let value = HeaderValue::from_str(value.trim_end())
            .map_err(|_| Failure::permanent("authentication is not a valid header value"))?;
        req = req.header(AUTHORIZATION, value);
    }
    if !cfg.token.is_empty() {
        let value = HeaderValue::from_str(&cfg.token)
            .map_err(|_| Failure::permanent("token is not a valid header value"))?;
        req = req.header("X-A2A-Notification-Token", value);
    }
    let mut resp = match req.body(body).send().await {
        Ok(r) => r,
        Err(e) => return Err(classify(&e, timeout)),
    };
    let status = resp.status();
    if status.is_success() {
        // Read a bounded amount of the answer, so the connection goes back to the pool.
        let mut read = 0;
        while read < ANSWER_BYTES {
            match tokio::time::timeout(timeout, resp.chunk()).await {
                Ok(Ok(Some(c))) => read += c.len(),
                _ => break,
            }
        }
        return Ok(());
    }
    let retry_after = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let code = status.as_u16();
    let message = format!("webhook answered {status}");
    if status.is_redirection() {
        return Err(Failure::permanent(format!(
            "{message}; redirects are not followed"
        )));
    }
    if status.is_server_error() || matches!(code, 408 | 425 | 429) {
        return Err(Failure {
            message,
            permanent: false,
            retry_after,
        });
    }
    Err(Failure::permanent(message))
}

/// Seconds, or an HTTP date.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when =
        time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let secs = (when - time::OffsetDateTime::now_utc()).whole_seconds();
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

fn classify(e: &reqwest::Error, timeout: Duration) -> Failure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return Failure::permanent(r.to_string());
        }
        source = s.source();
    }
    if e.is_timeout() {
        Failure::transient(format!("webhook did not answer within {timeout:?}"))
    } else if e.is_connect() {
        Failure::transient(format!("cannot connect to webhook: {}", root_cause(e)))
    } else {
        Failure::transient(format!("webhook request failed: {}", root_cause(e)))
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_before_any_connection() {
        let strict = AddressPolicy::default();
        for bad in [
            "http://127.0.0.1:9/x",
            "http://10.0.0.1/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/",
            "ftp://example.com/",
            "not a url",
            "http://:80/",
        ] {
            assert!(check_url(bad, strict).is_err(), "{bad}");
        }
        assert!(check_url("https://example.com/hook", strict).is_ok());
        let loopback = AddressPolicy {
            allow_loopback: true,
            ..strict
        };
        assert!(check_url("http://127.0.0.1:9/x", loopback).is_ok());
        // Names are judged by what they resolve to, when connecting.
        assert!(check_url("http://localhost:9/x", strict).is_ok());
    }

    /// The client itself refuses a loopback address that a name resolves to (the URL check
    /// cannot see it), so no code path holds an unguarded client.
    #[tokio::test]
    async fn the_client_refuses_what_the_policy_refuses() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = client(AddressPolicy::default(), Duration::from_secs(2)).unwrap();
        let err = client
            .post(format!("http://localhost:{port}/hook"))
            .send()
            .await
            .expect_err("loopback refused");
        let chain = std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source())
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ");
        assert!(chain.contains("loopback"), "{chain}");
        // A builder that cannot build gives an error, not a default (unguarded) client.
        let broken = guarded(AddressPolicy::default(), Duration::from_secs(2))
            .min_tls_version(reqwest::tls::Version::TLS_1_3)
            .max_tls_version(reqwest::tls::Version::TLS_1_2)
            .build();
        assert!(broken.is_err());
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
