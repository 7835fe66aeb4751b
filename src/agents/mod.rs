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

/// The kinds `a2a serve` knows.
pub const KINDS: &[&str] = &["echo", "relay", "router", "tck"];

/// Starts the built-in agent a manifest names.
pub async fn spawn(runtime: &Runtime, spec: AgentSpec) -> Result<(), RuntimeError> {
    match spec.kind.as_str() {
        "echo" | "" => {
            let echo = Echo::from_settings(&spec.settings).map_err(RuntimeError::InvalidSpec)?;
            runtime.add_agent(spec, echo).await
        }
        "relay" => {
            let relay = Relay::from_settings(&spec.settings).map_err(RuntimeError::InvalidSpec)?;
            runtime.add_agent(spec, relay).await
        }
        "router" => {
            let router =
                Router::from_settings(&spec.settings).map_err(RuntimeError::InvalidSpec)?;
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
