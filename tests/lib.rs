//! Helpers for the integration suite live in `it/`.
