//! The crate's one error type: every variant names the container, the directory or the file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{name}: must be root to {action} (CRIU needs root)")]
    NotRoot { name: String, action: &'static str },

    #[error("{name}: cannot run criu ({criu}): {source}; is it installed (Debian: criu)?")]
    CriuMissing {
        name: String,
        criu: String,
        source: std::io::Error,
    },

    #[error("{name}: must have criu 2.0 or greater to checkpoint/restore; `criu --version` said {said:?}")]
    CriuVersion { name: String, said: String },

    #[error("{name}: criu {action} failed ({status}): {output}{}", log.as_ref().map(|l| format!(" (log: {})", l.display())).unwrap_or_default())]
    CriuFailed {
        name: String,
        action: String,
        /// How criu ended (`exit status 1`, `signal 9`).
        status: String,
        /// criu's own words: its stderr, else the errors of its log.
        output: String,
        log: Option<PathBuf>,
    },

    #[error("{name}: not running, not checkpointing")]
    NotRunning { name: String },

    #[error("{name}: is running, not restoring")]
    AlreadyRunning { name: String },

    #[error("{name}: {dir} holds a dump already (inventory.img): please use a fresh directory for the dump directory")]
    NotFresh { name: String, dir: PathBuf },

    #[error("{name}: found un-dumpable network: lxc.net.{index}.type = {kind}")]
    UndumpableNetwork {
        name: String,
        index: u32,
        kind: String,
    },

    #[error("{name}: lxc.net.{index}: {why}")]
    Network {
        name: String,
        index: u32,
        why: String,
    },

    #[error("{name}: {what}: {why}")]
    Unsupported {
        name: String,
        what: String,
        why: String,
    },

    #[error("{name}: {path}: {source}")]
    Io {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{name}: unknown feature bits {bits:#x} in features_to_check (known: FEATURE_MEM_TRACK, FEATURE_LAZY_PAGES)")]
    UnknownFeatures { name: String, bits: u64 },

    #[error("{name}: criu lacks features {missing:#x} of {asked:#x} (supported: {supported:#x})")]
    FeaturesMissing {
        name: String,
        asked: u64,
        supported: u64,
        missing: u64,
    },

    #[error(transparent)]
    Core(#[from] lxc_core::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Into the core's error, for a restorer running inside the monitor's start.
    pub(crate) fn into_core(self) -> lxc_core::Error {
        match self {
            Error::Core(e) => e,
            other => lxc_core::Error::Hook {
                phase: lxc_core::Phase::Clone,
                owner: "criu",
                key: None,
                message: other.to_string(),
            },
        }
    }
}
