//! The crate's one error type.
//!
//! Two families share it. *Framing* errors ([`ErrorKind::Protocol`],
//! [`ErrorKind::LimitExceeded`]) mean the byte stream can no longer be
//! trusted: the caller writes the error line and closes the connection, as
//! Redis does. *Command* errors ([`ErrorKind::Command`],
//! [`ErrorKind::Backend`]) are answers: the connection goes on. Every kind
//! renders to the exact line Redis would send ([`Error::redis_line`]), so a
//! caller never has to invent error text.

use core::fmt;
use vecshard_shard::protocol::{ErrorCode, WireError};

/// An error of this crate; match on [`Error::kind`].
#[derive(Clone, Debug, PartialEq)]
pub struct Error(Box<ErrorKind>);

/// What went wrong.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bytes are not RESP (a bad header, a missing CRLF, unbalanced
    /// quotes in an inline command). The connection must be closed.
    Protocol {
        /// What was wrong, in Redis's words where Redis has some.
        message: String,
    },
    /// A request over one of the [`Limits`](crate::Limits); detected before
    /// the memory is allocated. The connection must be closed.
    LimitExceeded {
        /// Which limit (`"bulk length"`, `"arguments"`, `"buffered bytes"`,
        /// `"inline length"`).
        what: &'static str,
        /// The configured limit.
        limit: usize,
        /// What the request asked for.
        got: usize,
    },
    /// A command that Redis itself would refuse; `line` is the whole error
    /// line without the leading `-` (`"ERR syntax error"`).
    Command {
        /// The reply line, starting with the error code (`ERR`, `NOAUTH`, ...).
        line: String,
    },
    /// The backend refused or failed a request.
    Backend {
        /// The shard error code.
        code: ErrorCode,
        /// A message for people.
        message: String,
    },
}

impl Error {
    /// A framing error.
    pub fn protocol(message: impl Into<String>) -> Error {
        Error(Box::new(ErrorKind::Protocol { message: message.into() }))
    }

    /// A limit error.
    pub fn limit(what: &'static str, limit: usize, got: usize) -> Error {
        Error(Box::new(ErrorKind::LimitExceeded { what, limit, got }))
    }

    /// A command error; `line` starts with the code (`"ERR ..."`).
    pub fn command(line: impl Into<String>) -> Error {
        Error(Box::new(ErrorKind::Command { line: line.into() }))
    }

    /// `ERR <message>`.
    pub fn err(message: impl fmt::Display) -> Error {
        Error::command(format!("ERR {message}"))
    }

    /// A backend error.
    pub fn backend(code: ErrorCode, message: impl Into<String>) -> Error {
        Error(Box::new(ErrorKind::Backend { code, message: message.into() }))
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Whether the connection must be closed after sending the line.
    pub fn is_fatal(&self) -> bool {
        matches!(*self.0, ErrorKind::Protocol { .. } | ErrorKind::LimitExceeded { .. })
    }

    /// The RESP error line without the leading `-` and the CRLF: what a
    /// client sees. CR and LF inside a message are replaced by spaces, as
    /// an error line cannot hold them.
    pub fn redis_line(&self) -> String {
        let line = match &*self.0 {
            ErrorKind::Protocol { message } => format!("ERR Protocol error: {message}"),
            ErrorKind::LimitExceeded { what, limit, got } => {
                format!("ERR Protocol error: request {what} {got} is over this server's limit of {limit}")
            }
            ErrorKind::Command { line } => line.clone(),
            ErrorKind::Backend { message, .. } => format!("ERR {message}"),
        };
        line.replace(['\r', '\n'], " ")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redis_line())
    }
}

impl std::error::Error for Error {}

impl From<WireError> for Error {
    fn from(e: WireError) -> Error {
        Error::backend(e.code, e.message)
    }
}
