//! The crate's one error type.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("console ring buffer of {size} bytes: {op}: {source}")]
    RingBuffer {
        size: usize,
        op: &'static str,
        source: io::Error,
    },

    #[error("{key}: invalid value {value:?}: expected {expected}")]
    InvalidValue {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl Error {
    /// The errno a C caller would see.
    pub fn errno(&self) -> i32 {
        match self {
            Error::RingBuffer { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
            Error::InvalidValue { .. } => libc::EINVAL,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
