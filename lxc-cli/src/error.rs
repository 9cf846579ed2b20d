//! The CLI's one error type. `main` prints it as `lxc-rs: <command> <name>: <error>`.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line is incomplete or contradictory: exit status 2, like clap's own errors.
    #[error("{0}")]
    Usage(String),

    #[error(transparent)]
    Lxc(#[from] lxc::Error),

    /// Writing our own output failed (a closed pipe, a full disk).
    #[error("write output: {0}")]
    Output(#[source] io::Error),

    #[error("unknown global configuration item (see `lxc-rs config global` for the list)")]
    UnknownGlobal(String),

    #[cfg_attr(not(feature = "lxc_log"), allow(dead_code))]
    #[error("log setup: {0}")]
    Log(String),
}

impl CliError {
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
