//! The AgentCard and everything in it (spec digest §4).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::de::{null_default, opt};
use super::types::Metadata;

/// What an agent is and how to reach it, served at `/.well-known/agent-card.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCard {
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub description: String,
    #[serde(
        default,
        alias = "supported_interfaces",
        deserialize_with = "null_default"
    )]
    pub supported_interfaces: Vec<AgentInterface>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<AgentProvider>,
    #[serde(default, deserialize_with = "null_default")]
    pub version: String,
    #[serde(
        default,
        alias = "documentation_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub documentation_url: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub capabilities: AgentCapabilities,
    #[serde(
        default,
        alias = "security_schemes",
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub security_schemes: BTreeMap<String, SecurityScheme>,
    #[serde(
        default,
        alias = "security_requirements",
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub security_requirements: Vec<SecurityRequirement>,
    #[serde(
        default,
        alias = "default_input_modes",
        deserialize_with = "null_default"
    )]
    pub default_input_modes: Vec<String>,
    #[serde(
        default,
        alias = "default_output_modes",
        deserialize_with = "null_default"
    )]
    pub default_output_modes: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub skills: Vec<AgentSkill>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub signatures: Vec<AgentCardSignature>,
    #[serde(default, alias = "icon_url", skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

/// One binding at one URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentInterface {
    #[serde(default, deserialize_with = "null_default")]
    pub url: String,
    /// `JSONRPC`, `HTTP+JSON`, `GRPC` or a custom URI.
    #[serde(default, alias = "protocol_binding", deserialize_with = "null_default")]
    pub protocol_binding: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub tenant: String,
    #[serde(default, alias = "protocol_version", deserialize_with = "null_default")]
    pub protocol_version: String,
}

/// Who runs the agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentProvider {
    #[serde(default, deserialize_with = "null_default")]
    pub url: String,
    #[serde(default, deserialize_with = "null_default")]
    pub organization: String,
}

/// Optional features; absent means false.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCapabilities {
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub streaming: Option<bool>,
    #[serde(
        default,
        alias = "push_notifications",
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub push_notifications: Option<bool>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extensions: Vec<AgentExtension>,
    #[serde(
        default,
        alias = "extended_agent_card",
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub extended_agent_card: Option<bool>,
}

/// An extension the agent supports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentExtension {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub uri: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Metadata>,
}

/// Something the agent can do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSkill {
    #[serde(default, deserialize_with = "null_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub description: String,
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub examples: Vec<String>,
    #[serde(
        default,
        alias = "input_modes",
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub input_modes: Vec<String>,
    #[serde(
        default,
        alias = "output_modes",
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub output_modes: Vec<String>,
    #[serde(
        default,
        alias = "security_requirements",
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub security_requirements: Vec<SecurityRequirement>,
}

/// A detached JWS over the canonical card.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentCardSignature {
    #[serde(default, deserialize_with = "null_default")]
    pub protected: String,
    #[serde(default, deserialize_with = "null_default")]
    pub signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Metadata>,
}

/// Scheme names mapped to the scopes each needs; all of them together (AND).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecurityRequirement {
    #[serde(default, deserialize_with = "null_default")]
    pub schemes: BTreeMap<String, StringList>,
}

/// A `StringList` message: `{"list": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StringList {
    #[serde(default, deserialize_with = "null_default")]
    pub list: Vec<String>,
}

/// How a client authenticates (a oneof: exactly one member).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SecurityScheme {
    #[serde(alias = "api_key_security_scheme")]
    ApiKeySecurityScheme(ApiKeySecurityScheme),
    #[serde(alias = "http_auth_security_scheme")]
    HttpAuthSecurityScheme(HttpAuthSecurityScheme),
    #[serde(alias = "oauth2_security_scheme")]
    Oauth2SecurityScheme(OAuth2SecurityScheme),
    #[serde(alias = "open_id_connect_security_scheme")]
    OpenIdConnectSecurityScheme(OpenIdConnectSecurityScheme),
    #[serde(alias = "mtls_security_scheme")]
    MtlsSecurityScheme(MutualTlsSecurityScheme),
}

/// An API key in a header, query parameter or cookie.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiKeySecurityScheme {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    /// `query`, `header` or `cookie`.
    #[serde(default, deserialize_with = "null_default")]
    pub location: String,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
}

/// HTTP authentication (`Bearer`, `Basic`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpAuthSecurityScheme {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    #[serde(default, deserialize_with = "null_default")]
    pub scheme: String,
    #[serde(
        default,
        alias = "bearer_format",
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub bearer_format: String,
}

/// OAuth 2.0 with one flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2SecurityScheme {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    pub flows: OAuthFlows,
    #[serde(
        default,
        alias = "oauth2_metadata_url",
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub oauth2_metadata_url: String,
}

/// OpenID Connect discovery.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenIdConnectSecurityScheme {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    #[serde(
        default,
        alias = "open_id_connect_url",
        deserialize_with = "null_default"
    )]
    pub open_id_connect_url: String,
}

/// Mutual TLS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MutualTlsSecurityScheme {
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
}

/// The one OAuth flow of a scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OAuthFlows {
    #[serde(alias = "authorization_code")]
    AuthorizationCode(OAuthFlow),
    #[serde(alias = "client_credentials")]
    ClientCredentials(OAuthFlow),
    #[serde(alias = "device_code")]
    DeviceCode(OAuthFlow),
    /// Deprecated by the spec; still parsed.
    Implicit(OAuthFlow),
    /// Deprecated by the spec; still parsed.
    Password(OAuthFlow),
}

/// The URLs and scopes of one OAuth flow (the union of the fields the flow kinds use).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthFlow {
    #[serde(
        default,
        alias = "authorization_url",
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub authorization_url: String,
    #[serde(
        default,
        alias = "device_authorization_url",
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub device_authorization_url: String,
    #[serde(
        default,
        alias = "token_url",
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub token_url: String,
    #[serde(
        default,
        alias = "refresh_url",
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub refresh_url: String,
    #[serde(default, deserialize_with = "null_default")]
    pub scopes: BTreeMap<String, String>,
    #[serde(
        default,
        alias = "pkce_required",
        deserialize_with = "null_default",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub pkce_required: bool,
}
