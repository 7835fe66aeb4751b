//! `google.protobuf.Timestamp` in ProtoJSON: RFC 3339 in UTC. We emit milliseconds (`…sss Z`, as
//! the spec prefers) and accept 0 to 9 fractional digits and any offset.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{
    OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339, macros::format_description,
};

/// A point in time, stored with nanosecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i128);

impl Timestamp {
    /// The current time, in whole milliseconds: the precision the wire form carries, so a
    /// timestamp read back from JSON equals the one written (the log's indexes rely on it).
    pub fn now() -> Self {
        let n = OffsetDateTime::now_utc().unix_timestamp_nanos();
        Self(n - n.rem_euclid(1_000_000))
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(self) -> i128 {
        self.0
    }

    /// From nanoseconds since the Unix epoch.
    pub fn from_unix_nanos(n: i128) -> Self {
        Self(n)
    }

    /// Parses RFC 3339 (`2025-11-09T10:30:00Z`, `…00.123456789+02:00`).
    pub fn parse(s: &str) -> Option<Self> {
        OffsetDateTime::parse(s, &Rfc3339)
            .ok()
            .map(|t| Self(t.unix_timestamp_nanos()))
    }

    fn datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.0)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .to_offset(UtcOffset::UTC)
    }

    /// The HTTP date form (RFC 9110 IMF-fixdate), for `Last-Modified`.
    pub fn http_date(self) -> String {
        let fmt = format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        self.datetime().format(&fmt).unwrap_or_default()
    }

    /// Parses the HTTP date form (RFC 9110 IMF-fixdate).
    pub fn parse_http_date(s: &str) -> Option<Self> {
        let fmt = format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        time::PrimitiveDateTime::parse(s.trim(), &fmt)
            .ok()
            .map(|t| Self(t.assume_utc().unix_timestamp_nanos()))
    }
}

impl fmt::Display for Timestamp {
    /// `2025-11-09T10:30:00.123Z`, written field by field: every event carries a timestamp, and
    /// this is cheaper than interpreting a format description into a fresh string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.datetime();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 timestamp")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_0_3_6_9_fractional_digits() {
        for s in [
            "2025-11-09T10:30:00Z",
            "2025-11-09T10:30:00.123Z",
            "2025-11-09T10:30:00.123456Z",
            "2025-11-09T10:30:00.123456789Z",
        ] {
            assert!(Timestamp::parse(s).is_some(), "{s}");
        }
        let t = Timestamp::parse("2025-11-09T10:30:00.123456789Z").unwrap();
        assert_eq!(t.to_string(), "2025-11-09T10:30:00.123Z");
        assert!(Timestamp::parse("yesterday").is_none());
        // Written in UTC, every field zero-padded, always three fractional digits.
        for (input, out) in [
            ("2025-11-09T12:30:00.5+02:00", "2025-11-09T10:30:00.500Z"),
            ("0099-01-02T03:04:05.006Z", "0099-01-02T03:04:05.006Z"),
            ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59.000Z"),
        ] {
            assert_eq!(Timestamp::parse(input).unwrap().to_string(), out, "{input}");
        }
    }

    #[test]
    fn now_survives_a_json_round_trip() {
        let t = Timestamp::now();
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
    }

    #[test]
    fn http_date_round_trips() {
        let t = Timestamp::parse("2025-11-09T10:30:00Z").unwrap();
        assert_eq!(t.http_date(), "Sun, 09 Nov 2025 10:30:00 GMT");
        assert_eq!(Timestamp::parse_http_date(&t.http_date()), Some(t));
    }
}
