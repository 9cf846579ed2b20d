//! The CLI's one error type. `main` prints it as `lxc-rs: <command> <name>: <error>`.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line is incomplete or contradictory: exit status 1, as LXC's tools give any
    /// usage error (clap's own are mapped to 1 in `main` too).
    #[error("{0}")]
    Usage(String),

    #[error(transparent)]
    Lxc(#[from] lxc::Error),

    /// Writing our own output failed (a closed pipe, a full disk).
    #[error("write output: {0}")]
    Output(#[source] io::Error),

    #[error("unknown global configuration item (see `lxc-rs config global` for the list)")]
    UnknownGlobal(String),

    /// The operation did not succeed, for a reason that is not an error of the library (a
    /// timeout, a container in the wrong state); `status` is the exit status (LXC's tools give
    /// some of these their own, like lxc-stop's 2 for "not running").
    #[error("{message}")]
    Failed { status: u8, message: String },

    #[cfg_attr(not(feature = "lxc_log"), allow(dead_code))]
    #[error("log setup: {0}")]
    Log(String),
}

impl CliError {
    /// A failure with exit status 1.
    pub fn failed(message: impl Into<String>) -> Self {
        CliError::Failed {
            status: 1,
            message: message.into(),
        }
    }

    /// The exit status for this error: 1 unless the error says otherwise (LXC's tools exit 1
    /// for usage errors too).
    pub fn exit_status(&self) -> u8 {
        match self {
            CliError::Failed { status, .. } => *status,
            _ => 1,
        }
    }

    /// The message for a person: errors about a key given on the command line carry the core's
    /// `<api>` origin, which says nothing to someone who typed the key.
    pub fn user_message(&self) -> String {
        let s = self.to_string();
        match s.strip_prefix("<api>: ") {
            Some(rest) => rest.to_string(),
            None => s,
        }
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        CliError::Output(io::Error::other(e))
    }
}
