//! Version negotiation (spec digest §6): the `A2A-Version` service parameter.

use super::error::{A2aError, ErrorKind};

/// The protocol version this server speaks.
pub const PROTOCOL_VERSION: &str = "1.0";

/// The header (and query parameter) that carries the version.
pub const VERSION_HEADER: &str = "A2A-Version";

/// The versions a request can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1_0,
}

/// Reads the requested version. Missing or empty means 0.3 (spec §3.6.2), which this server does
/// not serve yet; patch numbers are ignored (`1.0.2` is `1.0`); anything else is -32009.
pub fn negotiate(requested: Option<&str>) -> Result<Version, A2aError> {
    let v = requested.map(str::trim).unwrap_or("");
    if v.is_empty() {
        return Err(A2aError::with_message(
            ErrorKind::VersionNotSupported,
            "Version not supported: no A2A-Version header means protocol 0.3, which this server does not serve; send A2A-Version: 1.0",
        )
        .meta("requestedVersion", "0.3")
        .meta("supportedVersions", PROTOCOL_VERSION));
    }
    let mut parts = v.split('.');
    let (major, minor) = (parts.next(), parts.next());
    if major == Some("1") && minor.is_none_or(|m| m == "0") {
        return Ok(Version::V1_0);
    }
    Err(A2aError::with_message(
        ErrorKind::VersionNotSupported,
        format!("Version not supported: {v}; this server speaks A2A {PROTOCOL_VERSION}"),
    )
    .meta("requestedVersion", v)
    .meta("supportedVersions", PROTOCOL_VERSION))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(Some("1.0")), Ok(Version::V1_0));
        assert_eq!(negotiate(Some(" 1.0.1 ")), Ok(Version::V1_0));
        assert_eq!(negotiate(Some("1")), Ok(Version::V1_0));
        for bad in [
            None,
            Some(""),
            Some("0.3"),
            Some("2.0"),
            Some("1.1"),
            Some("abc"),
        ] {
            let e = negotiate(bad).unwrap_err();
            assert_eq!(e.kind.code(), -32009, "{bad:?}");
        }
    }
}
