//! Typed configuration from environment variables.
//!
//! Each service has a `Config` struct with a `from_env()` built from these readers, so a bad or
//! missing variable stops the service at startup with a message naming the variable.
use std::{fmt::Display, str::FromStr};

#[derive(Debug, thiserror::Error)]
#[error("configuration variable {var}: {reason}")]
pub struct ConfigError {
    pub var: String,
    pub reason: String,
}

/// Reads a required variable and parses it.
pub fn required<T>(var: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => parse(var, &v),
        _ => Err(ConfigError { var: var.into(), reason: "is required but not set".into() }),
    }
}

/// Reads an optional variable, parsing it when present and falling back to `default` otherwise.
pub fn optional<T>(var: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => parse(var, &v),
        _ => Ok(default),
    }
}

/// Reads a variable that may be absent altogether.
pub fn maybe<T>(var: &str) -> Result<Option<T>, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => parse(var, &v).map(Some),
        _ => Ok(None),
    }
}

fn parse<T>(var: &str, value: &str) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    value.trim().parse().map_err(|e: T::Err| ConfigError { var: var.into(), reason: format!("cannot parse: {e}") })
}

/// The configuration, or — when it is missing or malformed — a log line naming the variable and
/// exit status 2, so an orchestrator sees a configuration error rather than a crash.
pub fn or_exit<T>(config: Result<T, ConfigError>) -> T {
    config.unwrap_or_else(|e| {
        tracing::error!(error = %e, "invalid configuration");
        std::process::exit(2)
    })
}

/// A secret read from the environment: its `Debug` never shows the value, so a config struct
/// can be logged whole.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_required_variable_names_the_variable() {
        let err = required::<u16>("STAGECAST_SURELY_UNSET_VARIABLE").unwrap_err();
        assert_eq!(err.to_string(), "configuration variable STAGECAST_SURELY_UNSET_VARIABLE: is required but not set");
    }

    #[test]
    fn secret_debug_output_hides_the_value() {
        let s: Secret = "hunter2".parse().unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }
}
