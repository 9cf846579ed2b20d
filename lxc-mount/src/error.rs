//! The crate's one error type: every variant names the config key (and its file:line) that
//! asked for the work, and the path and errno where the kernel said no.

use std::fmt;
use std::io;
use std::path::PathBuf;

use lxc_core::{Origin, Phase};

/// Which config line a piece of mount work comes from: `lxc.mount.entry (web01/config:14)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub key: String,
    /// None when the work is a default (no line asked for it).
    pub origin: Option<Origin>,
}

impl Site {
    pub fn new(key: impl Into<String>, origin: Option<Origin>) -> Self {
        Site {
            key: key.into(),
            origin,
        }
    }

    /// A site with no config line behind it (a default such as autodev).
    pub fn key(key: impl Into<String>) -> Self {
        Site::new(key, None)
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)?;
        match &self.origin {
            // An API-set value has no file:line worth printing.
            Some(o) if o.file.is_some() || o.line != 0 => write!(f, " ({o})"),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// A kernel call failed: `op` says what was attempted, e.g.
    /// `mount /srv/data on /var/lib/lxc/web01/rootfs/srv`.
    #[error("{site}: {op}: {}", os_text(.source))]
    Sys {
        site: Site,
        op: String,
        path: PathBuf,
        source: io::Error,
    },

    /// A value the mount code cannot use.
    #[error("{site}: invalid value {}: {why}", lxc_core::config::bytes::quote(.value))]
    Invalid {
        site: Site,
        value: String,
        why: String,
    },

    /// Something LXC supports that this crate does not (yet), said plainly.
    #[error("{site}: {what} is not supported: {why}")]
    Unsupported {
        site: Site,
        what: String,
        why: String,
    },

    /// The monitor's half of a mount (it idmaps mounts, which the child may not) failed or
    /// was refused: `message` is its answer.
    #[error("{site}: {op}: {message}")]
    Monitor {
        site: Site,
        op: String,
        message: String,
    },

    /// A `lxc.hook.*` script run between the mount steps failed; its error is the core's.
    #[error("{site}: {source}")]
    Hook {
        site: Site,
        source: Box<lxc_core::Error>,
    },
}

impl MountError {
    pub fn sys(site: &Site, op: impl Into<String>, path: impl Into<PathBuf>, e: io::Error) -> Self {
        MountError::Sys {
            site: site.clone(),
            op: op.into(),
            path: path.into(),
            source: e,
        }
    }

    /// A start request to the monitor that failed (`e` is what `ChildLink::ask` returned).
    pub fn monitor(site: &Site, op: impl Into<String>, e: lxc_core::Error) -> Self {
        // The answer comes back as `NAME: start request REQ: NAME: why`: the container's name
        // and the request's are noise next to the config line this error names.
        let message = match &e {
            lxc_core::Error::Start { name, message } => {
                let m = message
                    .split_once(": ")
                    .filter(|(head, _)| head.starts_with("start request "))
                    .map_or(message.as_str(), |(_, rest)| rest);
                m.strip_prefix(name.as_str())
                    .and_then(|r| r.strip_prefix(": "))
                    .unwrap_or(m)
                    .to_string()
            }
            other => other.to_string(),
        };
        MountError::Monitor {
            site: site.clone(),
            op: op.into(),
            message,
        }
    }

    pub fn site(&self) -> &Site {
        match self {
            MountError::Sys { site, .. }
            | MountError::Invalid { site, .. }
            | MountError::Unsupported { site, .. }
            | MountError::Monitor { site, .. }
            | MountError::Hook { site, .. } => site,
        }
    }

    /// Replace where the error came from (a parser reports the key, the caller knows the line).
    pub fn at(mut self, new: Site) -> Self {
        match &mut self {
            MountError::Sys { site, .. }
            | MountError::Invalid { site, .. }
            | MountError::Unsupported { site, .. }
            | MountError::Monitor { site, .. }
            | MountError::Hook { site, .. } => *site = new,
        }
        self
    }

    /// The errno, when the kernel refused something.
    pub fn errno(&self) -> Option<i32> {
        match self {
            MountError::Sys { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// The core's error for a failed phase: `phase ChildMounts: mount: lxc.mount.entry:
    /// lxc.mount.entry (web01/config:14): mount /srv/data on ...: No such file or directory`.
    /// A hook script's error is passed through as the core made it.
    pub fn into_core(self, phase: Phase) -> lxc_core::Error {
        match self {
            MountError::Hook { source, .. } => *source,
            e => lxc_core::Error::Hook {
                phase,
                owner: "mount",
                key: Some(e.site().key.clone()),
                message: e.to_string(),
            },
        }
    }
}

/// An I/O error as people read it: `No such file or directory`, without `(os error 2)`.
pub(crate) fn os_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

pub type Result<T, E = MountError> = std::result::Result<T, E>;
