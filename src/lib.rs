pub mod protocol;
pub mod store;
