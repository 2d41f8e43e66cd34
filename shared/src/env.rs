//! Reading settings from environment variables with errors that name the variable.

use std::str::FromStr;

/// A setting that is missing or cannot be parsed.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} has an invalid value {value:?}: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// The variable's value, if set and not empty.
pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The variable's value, or an error naming it.
pub fn required(name: &'static str) -> Result<String, EnvError> {
    optional(name).ok_or(EnvError::Missing(name))
}

/// The variable's value, or `default` when unset.
pub fn or(name: &'static str, default: &str) -> String {
    optional(name).unwrap_or_else(|| default.to_owned())
}

/// The variable parsed as `T`, or `default` when unset.
pub fn parse_or<T>(name: &'static str, default: T) -> Result<T, EnvError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match optional(name) {
        None => Ok(default),
        Some(value) => value.parse().map_err(|e: T::Err| EnvError::Invalid {
            name,
            reason: e.to_string(),
            value,
        }),
    }
}
