//! Inbound bindings.
