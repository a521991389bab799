//! What the connection layer (`server`) and the request layer (`middleware`) hand
//! each other through a request's or a response's extensions. A leaf, so that neither
//! layer imports the other.

use std::time::Duration;

/// The idle timeout, handed to the middleware with each request: reading the body is
/// its business.
#[derive(Debug, Clone, Copy)]
pub(super) struct BodyPause(pub Duration);

/// Marks a response whose connection must be dropped instead of answered.
#[derive(Debug, Clone, Copy)]
pub(super) struct DropConnection;
