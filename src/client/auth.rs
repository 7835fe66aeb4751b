//! Credentials for the client: a fixed API key is a header ([`ClientOptions::api_key`]); a
//! bearer token comes from a [`TokenProvider`], is kept until shortly before it expires, and is
//! fetched again then, or at once when the agent answers 401 (revoked or rotated early).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use a2a_runtime::client::{ClientOptions, Token};
//!
//! let opts = ClientOptions::default().bearer(|| async {
//!     // Ask your identity provider here.
//!     Ok(Token { value: "eyJ…".into(), expires_at: Some(Instant::now() + Duration::from_secs(3600)) })
//! });
//! ```
//!
//! [`ClientOptions::api_key`]: super::ClientOptions::api_key

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A bearer token and when it stops being valid.
#[derive(Debug, Clone)]
pub struct Token {
    pub value: String,
    /// `None`: valid until the agent refuses it (401).
    pub expires_at: Option<Instant>,
}

/// The boxed future a provider returns.
pub type TokenFuture = Pin<Box<dyn Future<Output = Result<Token, String>> + Send>>;

/// Where bearer tokens come from. Any `Fn() -> impl Future<Output = Result<Token, String>>` is one.
pub trait TokenProvider: Send + Sync + 'static {
    /// A fresh token.
    fn token(&self) -> TokenFuture;
}

impl<F, Fut> TokenProvider for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Token, String>> + Send + 'static,
{
    fn token(&self) -> TokenFuture {
        Box::pin(self())
    }
}

/// A token is fetched again this long before it expires, so no call carries one that expires
/// on the way.
const EARLY: Duration = Duration::from_secs(30);

/// One provider's current token, shared by every client given the same options.
pub struct TokenCache {
    provider: Arc<dyn TokenProvider>,
    current: tokio::sync::Mutex<Option<Token>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").finish_non_exhaustive()
    }
}

impl TokenCache {
    pub fn new(provider: impl TokenProvider) -> Self {
        Self {
            provider: Arc::new(provider),
            current: tokio::sync::Mutex::new(None),
        }
    }

    /// The token to send: the current one while it is valid, else a fresh one (one fetch at a
    /// time; callers that wait get the token it fetched).
    pub(crate) async fn get(&self) -> Result<String, String> {
        let mut current = self.current.lock().await;
        if let Some(t) = current.as_ref()
            && t.expires_at.is_none_or(|at| at > Instant::now() + EARLY)
        {
            return Ok(t.value.clone());
        }
        let fresh = self.provider.token().await?;
        let value = fresh.value.clone();
        *current = Some(fresh);
        Ok(value)
    }

    /// The agent refused `value`: the next call fetches a new token (unless another caller
    /// already replaced it).
    pub(crate) async fn refused(&self, value: &str) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|t| t.value == value) {
            *current = None;
        }
    }
}
