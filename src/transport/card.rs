//! The agent card a manifest describes, with the URLs it is served at.

use crate::config::AgentSpec;
use crate::protocol::{
    A2aError, AgentCapabilities, AgentCard, AgentExtension, AgentInterface, AgentSkill, ErrorKind,
    PROTOCOL_VERSION,
};

/// Where an agent is served: `base` (an origin plus the agent's path, no trailing slash) for
/// JSON-RPC (POSTed to `base`, `base/` for the root) and REST (routes below it), and the gRPC
/// `host:port` when the agent is served over gRPC too.
#[derive(Debug, Clone, Default)]
pub struct CardUrls {
    pub base: String,
    pub grpc: Option<String>,
}

/// The card of `spec`, served at `urls`.
pub fn agent_card(spec: &AgentSpec, urls: &CardUrls) -> AgentCard {
    let base = urls.base.as_str();
    let mut interfaces = vec![
        interface("JSONRPC", jsonrpc_url(base)),
        interface("HTTP+JSON", base.to_owned()),
    ];
    if let Some(grpc) = &urls.grpc {
        interfaces.push(interface("GRPC", grpc.clone()));
    }
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
        supported_interfaces: interfaces,
        version: spec.version.clone(),
        capabilities: AgentCapabilities {
            streaming: Some(spec.streaming),
            push_notifications: Some(spec.push_notifications),
            extensions: spec
                .extensions
                .iter()
                .map(|e| AgentExtension {
                    uri: e.uri.clone(),
                    description: e.description.clone(),
                    required: e.required,
                    params: (!e.params.is_empty())
                        .then(|| serde_json::to_value(&e.params).ok())
                        .flatten()
                        .and_then(|v| serde_json::from_value(v).ok()),
                })
                .collect(),
            extended_agent_card: Some(spec.extended_agent_card),
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

/// GetExtendedAgentCard: the card with `[extended]` applied; UnsupportedOperation when the
/// agent does not declare `extendedAgentCard`, ExtendedAgentCardNotConfigured when it declares
/// it but has no `[extended]`.
pub fn extended_card(spec: &AgentSpec, urls: &CardUrls) -> Result<AgentCard, A2aError> {
    if !spec.extended_agent_card {
        return Err(A2aError::with_message(
            ErrorKind::UnsupportedOperation,
            "GetExtendedAgentCard: this agent does not declare capabilities.extendedAgentCard",
        ));
    }
    let Some(ext) = &spec.extended else {
        return Err(A2aError::with_message(
            ErrorKind::ExtendedAgentCardNotConfigured,
            "this agent declares an extended card but none is configured",
        ));
    };
    let mut card = agent_card(spec, urls);
    if let Some(d) = &ext.description {
        card.description.clone_from(d);
    }
    card.skills.extend(ext.skills.iter().map(|s| s.to_skill()));
    Ok(card)
}
