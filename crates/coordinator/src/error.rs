//! The coordinator's error type and the transport error.

use std::fmt;

use vecshard_shard::{ErrorCode, WireError};

/// Why a shard could not answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The shard is down, restarting, or not reachable.
    Unavailable,
    /// The shard did not answer within its deadline.
    Timeout,
    /// The shard trapped (crashed or ran out of memory) while handling the
    /// request; it is restarted from its data, the request did not apply.
    Trapped,
    /// The reply could not be decoded, or a remote peer answered nonsense.
    Protocol,
}

impl TransportErrorKind {
    /// A stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportErrorKind::Unavailable => "shard_unavailable",
            TransportErrorKind::Timeout => "shard_timeout",
            TransportErrorKind::Trapped => "shard_trapped",
            TransportErrorKind::Protocol => "shard_protocol",
        }
    }
}

/// A shard could not be reached or did not answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    /// What happened.
    pub kind: TransportErrorKind,
    /// Details for people.
    pub message: String,
}

impl TransportError {
    /// A new transport error.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> TransportError {
        TransportError { kind, message: message.into() }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.as_str())
    }
}

impl std::error::Error for TransportError {}

/// An error from the coordinator. Match on [`Error::kind`].
#[derive(Clone, Debug, PartialEq)]
pub struct Error(Box<ErrorKind>);

/// What went wrong.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request is invalid (checked before anything was sent, or
    /// reported by a shard); nothing changed.
    BadInput(WireError),
    /// A shard could not be reached. For writes, the other shards' parts of
    /// the batch may have applied (`applied` lists the shards that did).
    Shard {
        /// The shard id.
        shard: u32,
        /// Why.
        error: TransportError,
        /// Shards whose part of a write applied before the failure.
        applied: Vec<u32>,
    },
    /// Strict mode: some shards did not answer a query, or none did.
    Incomplete {
        /// The shards that did not answer.
        missing: Vec<u32>,
        /// The first failure, for the message.
        first: TransportError,
    },
    /// A shard answered with a response of the wrong type.
    Unexpected {
        /// The shard id.
        shard: u32,
        /// What arrived.
        got: String,
    },
    /// The coordinator was built wrong (no shards).
    Config(String),
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    pub(crate) fn into_kind(self) -> ErrorKind {
        *self.0
    }

    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error(Box::new(kind))
    }

    pub(crate) fn bad_input(code: ErrorCode, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::BadInput(WireError::new(code, message)))
    }

    /// A stable snake_case code: the shard's error code for bad input,
    /// the transport kind for shard failures.
    pub fn code(&self) -> &'static str {
        match self.kind() {
            ErrorKind::BadInput(w) => w.code.as_str(),
            ErrorKind::Shard { error, .. } => error.kind.as_str(),
            ErrorKind::Incomplete { .. } => "shards_unavailable",
            ErrorKind::Unexpected { .. } => "shard_protocol",
            ErrorKind::Config(_) => "invalid_config",
        }
    }

    /// Whether the caller's input is at fault (an HTTP 4xx).
    pub fn is_bad_input(&self) -> bool {
        matches!(self.kind(), ErrorKind::BadInput(w) if w.code.is_bad_input())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            ErrorKind::BadInput(w) => write!(f, "{}", w.message),
            ErrorKind::Shard { shard, error, applied } => {
                write!(f, "shard {shard} failed: {}", error.message)?;
                if !applied.is_empty() {
                    write!(f, "; the parts of the batch for shards {applied:?} were applied, retry the batch (upserts and removes are idempotent)")?;
                }
                Ok(())
            }
            ErrorKind::Incomplete { missing, first } => write!(
                f,
                "shards {missing:?} did not answer ({}); retry, or ask for partial results",
                first.message
            ),
            ErrorKind::Unexpected { shard, got } => {
                write!(f, "shard {shard} answered with an unexpected response: {got}")
            }
            ErrorKind::Config(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {}
