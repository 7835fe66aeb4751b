//! ProtoJSON input tolerance: `null` means unset, int32 may arrive as a numeric string, enums as
//! their name or their number. Used through `#[serde(deserialize_with = ...)]` on wire types.

use serde::{Deserialize, Deserializer, de};

/// A plain (no-presence) field: absent or `null` both mean the default value.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An enum used as a request filter: an unknown name or number reads as unset (the default),
/// as protobuf's lenient JSON parsing does. The official JS SDK sends `"UNRECOGNIZED"` for a
/// filter left out, and means none. A value of the wrong JSON type is still an error.
pub(crate) fn lenient_enum<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(T::default()),
        Some(serde_json::Value::String(s)) => {
            // A name, or a number written as a string (REST query values are all strings).
            match s.trim().parse::<i64>() {
                Ok(n) => Ok(T::deserialize(serde_json::Value::from(n)).unwrap_or_default()),
                Err(_) => Ok(T::deserialize(serde_json::Value::String(s)).unwrap_or_default()),
            }
        }
        Some(v @ serde_json::Value::Number(_)) => Ok(T::deserialize(v).unwrap_or_default()),
        Some(v) => T::deserialize(v).map_err(de::Error::custom),
    }
}

/// An `optional int32`: a JSON number or a numeric string; `null` means unset.
pub(crate) fn opt_i32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(i64),
        Str(String),
    }
    match Option::<NumOrStr>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrStr::Num(n)) => i32::try_from(n)
            .map(Some)
            .map_err(|_| de::Error::custom(format!("{n} is out of range for int32"))),
        Some(NumOrStr::Str(s)) => s
            .trim()
            .parse::<i32>()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("{s:?} is not an int32"))),
    }
}

/// A plain `int32` (absent/null = 0), with the same tolerance as [`opt_i32`].
pub(crate) fn i32_default<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    Ok(opt_i32(d)?.unwrap_or(0))
}

/// An `optional bool`; `null` means unset.
pub(crate) fn opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

/// Declares a ProtoJSON enum: serialized as its name, parsed from its name or its number.
macro_rules! proto_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $num:literal => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            #[default]
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The wire name, e.g. `TASK_STATE_WORKING`.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }
            /// The proto enum number.
            pub fn number(self) -> i32 {
                match self { $(Self::$variant => $num),+ }
            }
            /// Parses the wire name.
            pub fn from_name(s: &str) -> Option<Self> {
                match s { $($wire => Some(Self::$variant),)+ _ => None }
            }
            /// Parses the proto enum number.
            pub fn from_number(n: i64) -> Option<Self> {
                match n { $($num => Some(Self::$variant),)+ _ => None }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " name or number"))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::from_name(v).ok_or_else(|| E::custom(format!(concat!("unknown ", stringify!($name), " {:?}"), v)))
                    }
                    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$name, E> {
                        $name::from_number(v).ok_or_else(|| E::custom(format!(concat!("unknown ", stringify!($name), " number {}"), v)))
                    }
                    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$name, E> {
                        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
                    }
                    fn visit_unit<E: serde::de::Error>(self) -> Result<$name, E> {
                        Ok($name::default())
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}
pub(crate) use proto_enum;
