//! The crate's one error type; every variant names the value or path it is about.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "invalid log priority {}: expected a number 0..8 or one of TRACE, DEBUG, INFO, \
         NOTICE, WARN, ERROR, CRIT, ALERT, FATAL (any case)",
        lxc_core::config::bytes::quote(.value)
    )]
    InvalidPriority { value: String },

    #[error(
        "invalid syslog facility {}: expected one of daemon, local0, local1, local2, \
         local3, local4, local5, local6, local7 (any case)",
        lxc_core::config::bytes::quote(.value)
    )]
    InvalidFacility { value: String },

    #[error("create directory {dir} for log file {file}: {source}")]
    CreateDir {
        dir: PathBuf,
        file: PathBuf,
        source: io::Error,
    },

    #[error("open log file {path}: {source}")]
    OpenFile { path: PathBuf, source: io::Error },

    #[error("log_init: another tracing subscriber is already the global default")]
    ForeignSubscriber,

    #[error("{op}: logging is not initialized (call log_init first)")]
    NotInitialized { op: &'static str },
}
