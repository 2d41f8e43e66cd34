//! The one error type every validator in this crate returns, and the limits validators
//! share.

use std::fmt;

/// Largest coordinate or dimension we accept, in canvas pixels (4× a 4K canvas).
pub const MAX_COORD: i32 = 16_384;

/// A value a tenant sent that we refuse, with the JSON path of the field that holds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FieldError {
    /// JSON path of the field, e.g. `source.color` or `STREAM_RESOLUTION`.
    pub field: String,
    /// What is wrong with it, as a sentence fragment a human can act on.
    pub message: String,
}

impl FieldError {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Prefixes the field path, so nested validators can report `source.color`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Checks that a number lies in `min..=max`, naming the field otherwise.
pub fn in_range<T: PartialOrd + fmt::Display + Copy>(
    field: &str,
    value: T,
    min: T,
    max: T,
) -> Result<T, FieldError> {
    if value < min || value > max {
        return Err(FieldError::new(
            field,
            format!("must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(value)
}

/// Checks a free-text field's length in characters.
pub fn text_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), FieldError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(FieldError::new(
            field,
            format!("must be {min} to {max} characters long, got {n}"),
        ));
    }
    Ok(())
}

/// Checks a name a tenant gives something (a layer, a scene, a stream): 1 to 100
/// characters, none of them control characters (names end up in logs and dashboards).
pub fn display_name(field: &str, name: &str) -> Result<(), FieldError> {
    text_len(field, name, 1, 100)?;
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}
