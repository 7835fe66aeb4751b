//! Built-in agent kinds that manifests name with `kind = "..."`.

mod echo;
mod relay;
mod router;
mod tck;

pub use echo::Echo;
pub use relay::Relay;
pub use router::Router;
pub use tck::{REQUIRED_EXTENSION, Tck};

use crate::config::AgentSpec;
use crate::runtime::{Runtime, RuntimeError};

/// Reads a `headers = { Name = "value" }` setting: extra headers for calls to remote agents
/// (credentials). `${VAR}` in a value is replaced by the environment variable, so secrets stay
/// out of manifests; a variable that is not set is an error.
pub(crate) fn headers_setting(
    value: Option<&toml::Value>,
    what: &str,
) -> Result<Vec<(String, String)>, String> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let toml::Value::Table(t) = value else {
        return Err(format!("{what} must be a table of header names to values"));
    };
    t.iter()
        .map(|(name, v)| {
            let toml::Value::String(v) = v else {
                return Err(format!("{what}.{name} must be a string"));
            };
            Ok((
                name.clone(),
                expand_env(v).map_err(|e| format!("{what}.{name}: {e}"))?,
            ))
        })
        .collect()
}

/// `${VAR}` → the variable's value.
fn expand_env(v: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = v;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed ${{ in {v:?}"))?;
        let name = &after[..end];
        let value = std::env::var(name)
            .map_err(|_| format!("the environment variable {name} is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The kinds `a2a serve` knows.
pub const KINDS: &[&str] = &["echo", "relay", "router", "tck"];

/// Starts the remote agent a manifest names, with its headers, before any task runs: so a cancel
/// that cascades to it after a restart (found by URL) carries the manifest's credentials. No
/// request is made until a call needs one.
async fn register(
    runtime: &Runtime,
    url: &str,
    headers: &[(String, String)],
) -> Result<(), RuntimeError> {
    runtime
        .remote_with(url, headers)
        .await
        .map(|_| ())
        .map_err(|source| RuntimeError::Remote {
            url: url.to_owned(),
            source,
        })
}

/// Starts the built-in agent a manifest names.
pub async fn spawn(runtime: &Runtime, spec: AgentSpec) -> Result<(), RuntimeError> {
    match spec.kind.as_str() {
        "echo" | "" => {
            let echo = Echo::from_settings(&spec.settings).map_err(RuntimeError::InvalidSpec)?;
            runtime.add_agent(spec, echo).await
        }
        "relay" => {
            let relay = Relay::from_settings(&spec.settings).map_err(RuntimeError::InvalidSpec)?;
            let (url, headers) = relay.target();
            register(runtime, url, headers).await?;
            runtime.add_agent(spec, relay).await
        }
        "router" => {
            let router =
                Router::from_settings(&spec.settings).map_err(RuntimeError::InvalidSpec)?;
            for (url, headers) in router.targets() {
                register(runtime, url, headers).await?;
            }
            runtime.add_agent(spec, router).await
        }
        "tck" => {
            if let Some(k) = spec.settings.keys().next() {
                return Err(RuntimeError::InvalidSpec(format!(
                    "the tck kind takes no settings (got {k:?})"
                )));
            }
            runtime.add_agent(spec, Tck).await
        }
        other => Err(RuntimeError::InvalidSpec(format!(
            "unknown kind {other:?}; built-in kinds are: {}",
            KINDS.join(", ")
        ))),
    }
}
