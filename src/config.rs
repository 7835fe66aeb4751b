//! The TOML configuration model: agent manifests (`actors/*.toml`).
//!
//! ```toml
//! name = "echo"                 # served at /agents/echo
//! description = "Echoes text"
//! version = "1.0.0"
//! kind = "echo"                 # a built-in agent kind
//! default = true                # also served at / and /.well-known/agent-card.json
//! streaming = true              # capabilities.streaming: false refuses the streaming methods
//! push_notifications = true     # capabilities.pushNotifications: false refuses webhooks
//!
//! [mailbox]
//! capacity = 256                # requests admitted at once (queued + running)
//! admission_timeout_ms = 1000   # a full mailbox makes a request wait this long, then 429
//! concurrency = 64              # handlers running at once
//!
//! [restart]                     # the agent actor, if it dies
//! max_restarts = 5
//! window_secs = 10
//! backoff_ms = 100
//!
//! [recovery]
//! on_restart = "resume"         # or "fail": what happens to tasks a crash interrupted
//!
//! [timeouts]
//! turn_secs = 300               # a handler turn running longer fails its task
//! cancel_grace_ms = 2000        # after CancelTask, the handler is aborted after this long
//!
//! [[skills]]
//! id = "echo"
//! name = "Echo"
//! description = "Repeats the text"
//! tags = ["echo"]
//!
//! [[extensions]]                # capabilities.extensions of the card
//! uri = "urn:example:ext"
//! required = true               # a SendMessage must activate it (A2A-Extensions), or -32008
//!
//! [extended]                    # GetExtendedAgentCard, with `extended_agent_card = true` on top
//! description = "Echoes text, for signed-in callers"
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::protocol::AgentSkill;

/// One agent's manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_version")]
    pub version: String,
    /// The built-in agent kind that implements it (`echo`, ...). Agents embedded from Rust may
    /// leave it empty.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub default: bool,
    #[serde(default = "default_modes")]
    pub input_modes: Vec<String>,
    #[serde(default = "default_modes")]
    pub output_modes: Vec<String>,
    #[serde(default)]
    pub skills: Vec<SkillSpec>,
    #[serde(default)]
    pub mailbox: MailboxSpec,
    #[serde(default)]
    pub restart: RestartSpec,
    #[serde(default)]
    pub recovery: RecoverySpec,
    #[serde(default)]
    pub timeouts: TimeoutSpec,
    /// A repeated `messageId` from the same caller gets the task the first one made, and the
    /// handler runs once (default). `false` makes every send a new message: only for clients
    /// that reuse ids on purpose, like the conformance suite.
    #[serde(default = "yes")]
    pub idempotent_sends: bool,
    /// Declares `capabilities.streaming` (default true). `false` makes SendStreamingMessage and
    /// SubscribeToTask answer UnsupportedOperation.
    #[serde(default = "yes")]
    pub streaming: bool,
    /// Declares `capabilities.pushNotifications` (default true). `false` makes the four
    /// push-config operations, and a SendMessage carrying a webhook, answer
    /// PushNotificationNotSupported.
    #[serde(default = "yes")]
    pub push_notifications: bool,
    /// Extensions the agent supports (the card's `capabilities.extensions`).
    #[serde(default)]
    pub extensions: Vec<ExtensionSpec>,
    /// Declares `capabilities.extendedAgentCard`: GetExtendedAgentCard answers the card with
    /// `[extended]` applied, or ExtendedAgentCardNotConfigured when there is no `[extended]`.
    #[serde(default)]
    pub extended_agent_card: bool,
    /// What the extended card adds (for callers who may see more).
    #[serde(default)]
    pub extended: Option<ExtendedCardSpec>,
    /// Settings of the agent kind, passed to it as they are.
    #[serde(default)]
    pub settings: toml::Table,
}

/// An extension the agent supports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionSpec {
    pub uri: String,
    #[serde(default)]
    pub description: String,
    /// The card says clients must activate it (`A2A-Extensions`).
    #[serde(default)]
    pub required: bool,
    /// Whether the runtime refuses a SendMessage that does not activate a required extension
    /// (ExtensionSupportRequired). `false` leaves the decision to the agent's `admit`.
    #[serde(default = "yes")]
    pub enforced: bool,
    /// The extension's parameters, as the card shows them.
    #[serde(default)]
    pub params: toml::Table,
}

fn yes() -> bool {
    true
}

/// The extended card's additions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendedCardSpec {
    /// Replaces the description.
    #[serde(default)]
    pub description: Option<String>,
    /// Skills shown only on the extended card.
    #[serde(default)]
    pub skills: Vec<SkillSpec>,
}

fn default_version() -> String {
    "1.0.0".into()
}
fn default_modes() -> Vec<String> {
    vec!["text/plain".into()]
}

/// A skill, as the card shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillSpec {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub examples: Vec<String>,
}

impl SkillSpec {
    /// The card's form.
    pub fn to_skill(&self) -> AgentSkill {
        AgentSkill {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            tags: self.tags.clone(),
            examples: self.examples.clone(),
            ..AgentSkill::default()
        }
    }
}

/// The bounded mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailboxSpec {
    pub capacity: usize,
    pub admission_timeout_ms: u64,
    pub concurrency: usize,
}

impl Default for MailboxSpec {
    fn default() -> Self {
        Self {
            capacity: 256,
            admission_timeout_ms: 1000,
            concurrency: 64,
        }
    }
}

/// Restart policy of the agent actor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestartSpec {
    pub max_restarts: u32,
    pub window_secs: u64,
    pub backoff_ms: u64,
}

impl Default for RestartSpec {
    fn default() -> Self {
        Self {
            max_restarts: 5,
            window_secs: 10,
            backoff_ms: 100,
        }
    }
}

/// What to do with tasks a crash interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnRestart {
    /// Run the handler again with the task's history; it can tell it is a retry.
    #[default]
    Resume,
    /// Fail the task with a message saying the server restarted.
    Fail,
}

/// Recovery policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoverySpec {
    pub on_restart: OnRestart,
}

/// Timeouts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutSpec {
    pub turn_secs: u64,
    pub cancel_grace_ms: u64,
}

impl Default for TimeoutSpec {
    fn default() -> Self {
        Self {
            turn_secs: 300,
            cancel_grace_ms: 2000,
        }
    }
}

impl TimeoutSpec {
    pub fn turn(&self) -> Duration {
        Duration::from_secs(self.turn_secs)
    }
    pub fn cancel_grace(&self) -> Duration {
        Duration::from_millis(self.cancel_grace_ms)
    }
}

impl AgentSpec {
    /// A manifest with defaults, for agents embedded from Rust.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: String::new(),
            version: default_version(),
            kind: String::new(),
            default: false,
            input_modes: default_modes(),
            output_modes: default_modes(),
            skills: Vec::new(),
            mailbox: MailboxSpec::default(),
            restart: RestartSpec::default(),
            recovery: RecoverySpec::default(),
            timeouts: TimeoutSpec::default(),
            idempotent_sends: true,
            streaming: true,
            push_notifications: true,
            extensions: Vec::new(),
            extended_agent_card: false,
            extended: None,
            settings: toml::Table::new(),
        }
    }

    /// Checks values a parser cannot.
    pub fn validate(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(format!(
                "name {:?} must be non-empty and use only letters, digits, '-' and '_'",
                self.name
            ));
        }
        if self.mailbox.capacity == 0 {
            return Err("mailbox.capacity must be at least 1".into());
        }
        if self.mailbox.concurrency == 0 {
            return Err("mailbox.concurrency must be at least 1".into());
        }
        if self.timeouts.turn_secs == 0 {
            return Err("timeouts.turn_secs must be at least 1".into());
        }
        Ok(())
    }
}

/// A manifest that could not be used, naming the file and the problem.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct ManifestError {
    pub path: PathBuf,
    pub message: String,
}

/// Reads every `*.toml` in `dir`, sorted by file name.
pub fn load_manifests(dir: &Path) -> Result<Vec<(PathBuf, AgentSpec)>, ManifestError> {
    let err = |path: &Path, message: String| ManifestError {
        path: path.to_owned(),
        message,
    };
    let entries = std::fs::read_dir(dir)
        .map_err(|e| err(dir, format!("cannot read the actors directory: {e}")))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut specs = Vec::with_capacity(paths.len());
    for path in paths {
        let text =
            std::fs::read_to_string(&path).map_err(|e| err(&path, format!("cannot read: {e}")))?;
        let spec: AgentSpec = toml::from_str(&text).map_err(|e| err(&path, e.to_string()))?;
        spec.validate().map_err(|m| err(&path, m))?;
        if specs
            .iter()
            .any(|(_, s): &(PathBuf, AgentSpec)| s.name == spec.name)
        {
            return Err(err(
                &path,
                format!(
                    "another manifest already defines an agent named {:?}",
                    spec.name
                ),
            ));
        }
        specs.push((path, spec));
    }
    if specs.is_empty() {
        return Err(err(dir, "no agent manifests (*.toml) found".into()));
    }
    if specs.iter().filter(|(_, s)| s.default).count() > 1 {
        return Err(err(
            dir,
            "more than one manifest is marked default = true".into(),
        ));
    }
    Ok(specs)
}
