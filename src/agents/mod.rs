//! Built-in agent kinds.
