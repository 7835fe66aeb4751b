//! Checks of REQUIRED fields and oneofs that serde cannot express, run on every request before it
//! reaches the runtime. Each failure names the field at fault.

use base64::Engine;

use super::error::A2aError;
use super::requests::SendMessageRequest;
use super::types::{Message, Part, Role};

/// Checks a SendMessage request and returns its message.
pub fn send_message(req: &SendMessageRequest) -> Result<&Message, A2aError> {
    let msg = req
        .message
        .as_ref()
        .ok_or_else(|| A2aError::invalid_field("message", "is required"))?;
    message(msg, "message")?;
    if let Some(cfg) = &req.configuration {
        history_length(cfg.history_length, "configuration.historyLength")?;
    }
    Ok(msg)
}

/// Checks a message from a client.
pub fn message(msg: &Message, at: &str) -> Result<(), A2aError> {
    if msg.message_id.is_empty() {
        return Err(A2aError::invalid_field(
            format!("{at}.messageId"),
            "is required",
        ));
    }
    if msg.role == Role::Unspecified {
        return Err(A2aError::invalid_field(
            format!("{at}.role"),
            "is required (ROLE_USER)",
        ));
    }
    if msg.parts.is_empty() {
        return Err(A2aError::invalid_field(
            format!("{at}.parts"),
            "must hold at least one part",
        ));
    }
    for (i, p) in msg.parts.iter().enumerate() {
        part(p, &format!("{at}.parts[{i}]"))?;
    }
    Ok(())
}

/// Checks that a part holds exactly one of text, raw, url, data, and that raw is base64.
pub fn part(p: &Part, at: &str) -> Result<(), A2aError> {
    match p.content_count() {
        1 => {}
        0 => {
            return Err(A2aError::invalid_field(
                at,
                "a part needs one of text, raw, url or data",
            ));
        }
        _ => {
            return Err(A2aError::invalid_field(
                at,
                "a part may hold only one of text, raw, url or data",
            ));
        }
    }
    if let Some(raw) = &p.raw {
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        if !engines.iter().any(|e| e.decode(raw).is_ok()) {
            return Err(A2aError::invalid_field(
                format!("{at}.raw"),
                "is not base64",
            ));
        }
    }
    Ok(())
}

/// `historyLength` must not be negative.
pub fn history_length(n: Option<i32>, at: &str) -> Result<(), A2aError> {
    match n {
        Some(n) if n < 0 => Err(A2aError::invalid_field(at, "must not be negative")),
        _ => Ok(()),
    }
}

/// A required id.
pub fn required_id(id: &str, at: &str) -> Result<(), A2aError> {
    if id.is_empty() {
        Err(A2aError::invalid_field(at, "is required"))
    } else {
        Ok(())
    }
}
