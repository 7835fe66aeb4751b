//! The agent card a manifest describes, with the URLs it is served at.

use crate::config::AgentSpec;
use crate::protocol::{AgentCapabilities, AgentCard, AgentInterface, AgentSkill, PROTOCOL_VERSION};

/// The card of `spec`, whose JSON-RPC endpoint is `url`.
pub fn agent_card(spec: &AgentSpec, url: &str) -> AgentCard {
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
        supported_interfaces: vec![AgentInterface {
            url: url.to_owned(),
            protocol_binding: "JSONRPC".into(),
            tenant: String::new(),
            protocol_version: PROTOCOL_VERSION.into(),
        }],
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
