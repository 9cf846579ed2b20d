//! The network subsystem's one error type. Each variant about the config names the key, and
//! where it was set; those about a running container's interfaces ([`crate::running`]) name the
//! container and the operation, and carry an errno.

use lxc_core::{Origin, Phase};

use crate::model::NetType;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A network entry LXC would have refused when it was set (a config read by an engine
    /// that did not apply [`crate::rules`]).
    #[error("{origin}: {key} = {value}: expected {why}")]
    Entry {
        key: String,
        value: String,
        origin: Origin,
        why: String,
    },

    /// No loaded network plugin serves the type; `why` names the files refused and the
    /// directories searched (see [`crate::plugins::serving`]).
    #[error("{key} = {type_}{}: {why}", at(.origin))]
    NeedsPlugin {
        key: String,
        index: u32,
        type_: NetType,
        origin: Option<Origin>,
        why: String,
    },

    /// Making or configuring an interface failed (in the monitor, at HostSetup): the key whose
    /// setting failed, and what the kernel or the plugin said.
    #[error("{key}{}: {message}", at(.origin))]
    Setup {
        key: String,
        origin: Option<Origin>,
        message: String,
    },

    /// A value that only an API extension this build does not have gives a meaning to (see
    /// [`crate::ext::check_interface`]), refused before anything is made.
    #[error("{key}{}: {why}", at(.origin))]
    NotInBuild {
        key: String,
        origin: Option<Origin>,
        why: String,
    },

    #[error("{key}{}: LXC applies this to the loopback device of a network of type empty; this build does not yet", at(.origin))]
    LoopbackSetting {
        key: String,
        index: u32,
        origin: Option<Origin>,
    },

    #[error("{key}: network {index} has no type (its type was cleared)")]
    NoType { key: String, index: u32 },

    #[error("{key}{}: a network of type empty is the loopback device and must be named lo, not {name:?}", at(.origin))]
    LoopbackName {
        key: String,
        index: u32,
        name: String,
        origin: Option<Origin>,
    },

    /// An operation on a running container's interfaces (`get_ips`, `attach_interface`, ...)
    /// failed or was refused: `errno` is what liblxc's caller would find in errno.
    #[error("{name}: {op}: {message}")]
    Running {
        name: String,
        op: &'static str,
        errno: i32,
        message: String,
    },

    /// The container itself could not be reached (not running, run by LXC's tools, its
    /// monitor not answering).
    #[error(transparent)]
    Container(#[from] lxc_core::Error),
}

fn at(origin: &Option<Origin>) -> String {
    match origin {
        Some(o) if o.file.is_some() => format!(" ({o})"),
        _ => String::new(),
    }
}

impl Error {
    /// The config key the error is about (empty for a running container's interfaces).
    pub fn key(&self) -> &str {
        match self {
            Error::Entry { key, .. }
            | Error::NeedsPlugin { key, .. }
            | Error::Setup { key, .. }
            | Error::NotInBuild { key, .. }
            | Error::NoType { key, .. }
            | Error::LoopbackName { key, .. }
            | Error::LoopbackSetting { key, .. } => key,
            // About a running container's interfaces, not about a key.
            Error::Running { .. } | Error::Container(_) => "",
        }
    }

    /// The errno a C caller gets for this error (liblxc's functions fail with errno set).
    pub fn errno(&self) -> i32 {
        match self {
            Error::Running { errno, .. } => *errno,
            Error::Container(e) => e.errno(),
            Error::NeedsPlugin { .. } | Error::NotInBuild { .. } => libc::EOPNOTSUPP,
            Error::Setup { .. } => libc::ECANCELED,
            Error::Entry { .. }
            | Error::NoType { .. }
            | Error::LoopbackName { .. }
            | Error::LoopbackSetting { .. } => libc::EINVAL,
        }
    }

    /// The core's error for a failed start phase, naming the key (and where it was set).
    pub fn into_hook(self, phase: Phase) -> lxc_core::Error {
        // Never raised by a start hook; passed on as they are if one ever is.
        let message = match self {
            Error::Container(e) => return e,
            e @ Error::Running { .. } => e.to_string(),
            e => return e.config_hook(phase),
        };
        lxc_core::Error::Hook {
            phase,
            owner: crate::NAME,
            key: None,
            message,
        }
    }

    fn config_hook(self, phase: Phase) -> lxc_core::Error {
        let key = match &self {
            Error::Entry { key, origin, .. } => format!("{key}{}", at(&Some(origin.clone()))),
            Error::NeedsPlugin { key, origin, .. }
            | Error::Setup { key, origin, .. }
            | Error::NotInBuild { key, origin, .. }
            | Error::LoopbackName { key, origin, .. }
            | Error::LoopbackSetting { key, origin, .. } => format!("{key}{}", at(origin)),
            Error::NoType { key, .. } => key.clone(),
            Error::Running { .. } | Error::Container(_) => String::new(),
        };
        let message = match &self {
            Error::Entry { value, why, .. } => {
                format!("{}: expected {why}", lxc_core::config::bytes::quote(value))
            }
            Error::NeedsPlugin { why, .. } => why.clone(),
            Error::Setup { message, .. } => message.clone(),
            Error::NotInBuild { why, .. } => why.clone(),
            Error::NoType { index, .. } => {
                format!("network {index} has no type (its type was cleared)")
            }
            Error::LoopbackSetting { .. } => "LXC applies this to the loopback device of a \
                                               network of type empty; this build does not yet"
                .to_string(),
            Error::LoopbackName { name, .. } => format!(
                "a network of type empty is the loopback device and must be named lo, not {name:?}"
            ),
            Error::Running { .. } | Error::Container(_) => self.to_string(),
        };
        lxc_core::Error::Hook {
            phase,
            owner: crate::NAME,
            key: Some(key),
            message,
        }
    }
}
