//! The agent card a manifest describes, with the URLs it is served at.

use crate::config::AgentSpec;
use crate::protocol::{AgentCapabilities, AgentCard, AgentInterface, AgentSkill, PROTOCOL_VERSION};

/// The card of `spec`, served at `base` (an origin plus the agent's path, no trailing slash):
/// JSON-RPC is POSTed to `base` (`base/` for the root), REST routes hang below it.
pub fn agent_card(spec: &AgentSpec, base: &str) -> AgentCard {
    let skills = if spec.skills.is_empty() {
        vec![AgentSkill {
            id: spec.name.clone(),
            name: spec.name.clone(),
            description: spec.description.clone(),
            tags: vec![spec.kind.clone()]
                .into_iter()
                .filter(|k| !k.is_empty())
                .collect(),
            ..AgentSkill::default()
        }]
    } else {
        spec.skills.iter().map(|s| s.to_skill()).collect()
    };
    AgentCard {
        name: spec.name.clone(),
        description: spec.description.clone(),
        supported_interfaces: vec![
            interface("JSONRPC", jsonrpc_url(base)),
            interface("HTTP+JSON", base.to_owned()),
        ],
        version: spec.version.clone(),
        capabilities: AgentCapabilities {
            streaming: Some(true),
            push_notifications: Some(true),
            extensions: Vec::new(),
            extended_agent_card: Some(false),
        },
        default_input_modes: spec.input_modes.clone(),
        default_output_modes: spec.output_modes.clone(),
        skills,
        ..AgentCard::default()
    }
}

fn interface(binding: &str, url: String) -> AgentInterface {
    AgentInterface {
        url,
        protocol_binding: binding.into(),
        tenant: String::new(),
        protocol_version: PROTOCOL_VERSION.into(),
    }
}

/// A bare origin gets its `/`, so the URL is one a client can POST to as is.
fn jsonrpc_url(base: &str) -> String {
    let path_starts = base.find("://").map_or(0, |i| i + 3);
    if base[path_starts..].contains('/') {
        base.to_owned()
    } else {
        format!("{base}/")
    }
}
