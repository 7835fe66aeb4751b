//! Built-in agent kinds that manifests name with `kind = "..."`.

mod echo;

pub use echo::Echo;

use crate::config::AgentSpec;
use crate::runtime::{Runtime, RuntimeError};

/// The kinds `a2a serve` knows.
pub const KINDS: &[&str] = &["echo"];

/// Starts the built-in agent a manifest names.
pub async fn spawn(runtime: &Runtime, spec: AgentSpec) -> Result<(), RuntimeError> {
    match spec.kind.as_str() {
        "echo" | "" => {
            let echo = Echo::from_settings(&spec.settings).map_err(RuntimeError::InvalidSpec)?;
            runtime.add_agent(spec, echo).await
        }
        other => Err(RuntimeError::InvalidSpec(format!(
            "unknown kind {other:?}; built-in kinds are: {}",
            KINDS.join(", ")
        ))),
    }
}
