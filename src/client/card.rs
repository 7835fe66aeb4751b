//! Agent cards as the client fetches them: cached as `Cache-Control: max-age` allows,
//! revalidated with `If-None-Match` / `If-Modified-Since` after that, a bounded number kept.

use super::*;

/// Cards fetched by this process, kept as their `Cache-Control: max-age` allows and revalidated
/// with `If-None-Match` / `If-Modified-Since` after that. Bounded.
#[derive(Debug, Clone)]
pub(super) struct CachedCard {
    card: AgentCard,
    etag: Option<String>,
    last_modified: Option<String>,
    fresh_until: std::time::Instant,
}

/// How long fetching a card may take.
pub(super) const CARD_TIMEOUT: Duration = Duration::from_secs(10);

/// Cards kept at most (the one that goes stale first is dropped when full).
pub(super) const CARD_CACHE: usize = 256;

static CARDS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, CachedCard>>> =
    std::sync::LazyLock::new(Default::default);

pub(super) fn max_age(resp: &reqwest::Response) -> Duration {
    resp.headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            if v.contains("no-store") || v.contains("no-cache") {
                return Some(0);
            }
            v.split(',')
                .find_map(|d| d.trim().strip_prefix("max-age="))
                .and_then(|n| n.trim().parse::<u64>().ok())
        })
        .map_or(Duration::ZERO, Duration::from_secs)
}

/// The card at `url`, from the cache while fresh, revalidated when stale.
pub(super) async fn fetch_card(
    http: &reqwest::Client,
    url: &str,
    headers: &reqwest::header::HeaderMap,
) -> Result<AgentCard, ClientError> {
    let cached = CARDS.lock().ok().and_then(|c| c.get(url).cloned());
    if let Some(c) = &cached
        && c.fresh_until > std::time::Instant::now()
    {
        return Ok(c.card.clone());
    }
    // A card is small: an agent that takes longer than this to serve one is not well (a hung
    // node must not hold up a router's fallback for a whole idle timeout).
    let mut req = http.get(url).headers(headers.clone()).timeout(CARD_TIMEOUT);
    if let Some(c) = &cached {
        if let Some(e) = &c.etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, e);
        }
        if let Some(lm) = &c.last_modified {
            req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
        }
    }
    let resp = req.send().await.map_err(transport)?;
    let age = max_age(&resp);
    let header = |h: reqwest::header::HeaderName| {
        resp.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (etag, last_modified) = (
        header(reqwest::header::ETAG),
        header(reqwest::header::LAST_MODIFIED),
    );
    let card = match (resp.status().as_u16(), cached) {
        (304, Some(c)) => c.card,
        (s, _) if (200..300).contains(&s) => {
            let v: Value = resp
                .json()
                .await
                .map_err(|e| ClientError::Protocol(format!("the agent card: {e}")))?;
            // A 0.3 card (`url`, no `supportedInterfaces`) is read as a 1.0 card whose
            // interfaces say 0.3.
            let v = if v.get("supportedInterfaces").is_none() && v.get("url").is_some() {
                v03::card_to_v1(&v)
            } else {
                v
            };
            serde_json::from_value(v)
                .map_err(|e| ClientError::Protocol(format!("the agent card: {e}")))?
        }
        (s, _) => {
            return Err(ClientError::Protocol(format!("GET {url} answered {s}")));
        }
    };
    if let Ok(mut cache) = CARDS.lock() {
        if cache.len() >= CARD_CACHE && !cache.contains_key(url) {
            let oldest = cache
                .iter()
                .min_by_key(|(_, c)| c.fresh_until)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                cache.remove(&k);
            }
        }
        cache.insert(
            url.to_owned(),
            CachedCard {
                card: card.clone(),
                etag,
                last_modified,
                fresh_until: std::time::Instant::now() + age,
            },
        );
    }
    Ok(card)
}
