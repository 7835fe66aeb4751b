//! `router`: hands each task to one of several remote agents, picked by the skills and tags in
//! their cards, and falls back to the next when one cannot be reached, fails before it starts a
//! task, or has its circuit breaker open. The chosen agent's task is mirrored as the router's
//! own (see [`TaskContext::delegate`]); follow-ups go to the agent that asked for them;
//! canceling cancels the remote task.
//!
//! Ranking, per task: a message whose metadata names a `skill` goes only to agents whose card
//! has a skill of that id. Otherwise each agent scores one point per word of the message that
//! is one of its skills' tags, ids or name words; higher scores first, ties in manifest order.
//! Agents whose breaker is open go last. Once a remote task has started, the router does not
//! move the work elsewhere (it would run twice); a remote lost mid-task fails the task.
//!
//! Settings (`[settings]` in the manifest):
//! - `targets` (required): the remote agents, in order of preference: each a base URL, or
//!   `{ url = "...", headers = { Name = "value" } }` with headers (credentials) of its own.
//! - `headers` (optional): headers sent to every target; `${VAR}` in a value is read from the
//!   environment.

use std::cmp::Reverse;
use std::collections::HashSet;

use crate::client::BreakerState;
use crate::protocol::AgentCard;
use crate::runtime::remote::RemoteAgent;
use crate::runtime::{Agent, AgentError, Delegated, TaskContext};

/// The router agent.
#[derive(Debug, Clone)]
pub struct Router {
    /// Each target's URL and the headers to call it with.
    targets: Vec<(String, Vec<(String, String)>)>,
}

impl Router {
    pub fn new(targets: Vec<String>) -> Self {
        Self {
            targets: targets.into_iter().map(|u| (u, Vec::new())).collect(),
        }
    }

    /// Reads `[settings]`.
    pub fn from_settings(settings: &toml::Table) -> Result<Self, String> {
        if let Some(k) = settings
            .keys()
            .find(|k| !matches!(k.as_str(), "targets" | "headers"))
        {
            return Err(format!(
                "unknown router setting {k:?} (known: targets, headers)"
            ));
        }
        let common = super::headers_setting(settings.get("headers"), "settings.headers")?;
        let target = |v: &toml::Value| -> Result<(String, Vec<(String, String)>), String> {
            let (url, own) = match v {
                toml::Value::String(u) => (u.clone(), Vec::new()),
                toml::Value::Table(t) => {
                    if let Some(k) = t.keys().find(|k| !matches!(k.as_str(), "url" | "headers")) {
                        return Err(format!(
                            "settings.targets: unknown key {k:?} (known: url, headers)"
                        ));
                    }
                    let url = match t.get("url") {
                        Some(toml::Value::String(u)) => u.clone(),
                        _ => return Err("settings.targets: a table needs url".into()),
                    };
                    let own = super::headers_setting(t.get("headers"), "settings.targets.headers")?;
                    (url, own)
                }
                other => {
                    return Err(format!(
                        "settings.targets: {other:?} is not a URL or a table"
                    ));
                }
            };
            if !url.starts_with("http") {
                return Err(format!("settings.targets: {url:?} is not an http(s) URL"));
            }
            let mut headers = common.clone();
            headers.extend(own);
            Ok((url, headers))
        };
        let targets = match settings.get("targets") {
            Some(toml::Value::Array(a)) => a.iter().map(target).collect::<Result<Vec<_>, _>>()?,
            _ => return Err("settings.targets must be a list of remote agents".into()),
        };
        if targets.is_empty() {
            return Err("settings.targets is empty".into());
        }
        Ok(Self { targets })
    }
}

impl Router {
    /// The remote agents and the headers each is called with.
    pub fn targets(&self) -> impl Iterator<Item = (&str, &[(String, String)])> {
        self.targets.iter().map(|(u, h)| (u.as_str(), h.as_slice()))
    }
}

fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '-' && c != '_')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// How well a card fits the message's words.
fn score(card: &AgentCard, words: &HashSet<String>) -> usize {
    card.skills
        .iter()
        .map(|s| {
            let mut terms: HashSet<String> = s.tags.iter().map(|t| t.to_lowercase()).collect();
            terms.insert(s.id.to_lowercase());
            terms.extend(self::words(&s.name));
            terms.intersection(words).count()
        })
        .sum()
}

/// The targets in the order to try them; `Err` when the message asks for a skill nobody has.
pub fn rank(
    targets: &[(RemoteAgent, Option<AgentCard>)],
    text: &str,
    skill: Option<&str>,
) -> Result<Vec<RemoteAgent>, String> {
    let words = words(text);
    let mut ranked: Vec<(bool, Reverse<usize>, usize, &RemoteAgent)> = targets
        .iter()
        .enumerate()
        .filter(|(_, (_, card))| match skill {
            // An agent whose card is unknown (down) may still have it: keep it, last.
            Some(id) => card
                .as_ref()
                .is_none_or(|c| c.skills.iter().any(|s| s.id == id)),
            None => true,
        })
        .map(|(i, (remote, card))| {
            let open = remote.breaker_state() == BreakerState::Open;
            // With a skill asked for, a card known to have it beats an unknown one; else words.
            let fit = match (card, skill) {
                (Some(_), Some(_)) => usize::MAX,
                (Some(c), None) => score(c, &words),
                (None, _) => 0,
            };
            (open, Reverse(fit), i, remote)
        })
        .collect();
    if ranked.is_empty() {
        return Err(format!(
            "none of the router's agents has the skill {:?}",
            skill.unwrap_or_default()
        ));
    }
    ranked.sort_by_key(|(open, fit, i, _)| (*open, *fit, *i));
    Ok(ranked.into_iter().map(|(.., r)| r.clone()).collect())
}

impl Agent for Router {
    async fn on_message(&self, ctx: TaskContext) -> Result<(), AgentError> {
        // A follow-up goes back to the agent that asked for it.
        if let Some(d) = ctx.delegated_to() {
            let headers = self
                .targets
                .iter()
                .find(|(u, _)| u.trim_end_matches('/') == d.url)
                .map(|(_, h)| h.as_slice())
                .unwrap_or_default();
            let remote = ctx.remote_with(&d.url, headers).await?;
            return match ctx.delegate(&remote, Some(&d.task_id)).await? {
                Delegated::Finished => Ok(()),
                Delegated::Unreachable(e) => Err(AgentError::Failed(format!(
                    "the agent that asked for this input ({}) cannot be reached: {e}",
                    d.url
                ))),
            };
        }
        let mut targets = Vec::with_capacity(self.targets.len());
        for (url, headers) in &self.targets {
            let remote = ctx.remote_with(url, headers).await?;
            let card = match remote.known_card() {
                Some(c) => Some(c),
                None => remote.card().await.ok(),
            };
            targets.push((remote, card));
        }
        let skill = ctx
            .message()
            .metadata
            .as_ref()
            .and_then(|m| m.get("skill")?.as_str());
        let order = match rank(&targets, &ctx.text(), skill) {
            Ok(o) => o,
            Err(why) => return ctx.reject(why).await,
        };
        let mut failures = Vec::new();
        for (i, remote) in order.iter().enumerate() {
            match ctx.delegate(remote, None).await? {
                Delegated::Finished => return Ok(()),
                Delegated::Unreachable(e) => {
                    tracing::warn!(task = %ctx.task_id(), remote = %remote.url(), error = %e, "router: falling back");
                    metrics::counter!("a2a_router_fallbacks_total").increment(1);
                    if let Some(next) = order.get(i + 1) {
                        ctx.working(format!(
                            "{} failed ({}); trying {}",
                            remote.url(),
                            e.name(),
                            next.url()
                        ))
                        .await?;
                    }
                    failures.push(format!("{}: {e}", remote.url()));
                }
            }
        }
        Err(AgentError::Failed(format!(
            "no agent could take the task: {}",
            failures.join("; ")
        )))
    }
}
