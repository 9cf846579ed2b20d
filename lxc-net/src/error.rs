//! The network subsystem's one error type. Each variant names the key, and where it was set.

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
}

fn at(origin: &Option<Origin>) -> String {
    match origin {
        Some(o) if o.file.is_some() => format!(" ({o})"),
        _ => String::new(),
    }
}

impl Error {
    /// The config key the error is about.
    pub fn key(&self) -> &str {
        match self {
            Error::Entry { key, .. }
            | Error::NeedsPlugin { key, .. }
            | Error::Setup { key, .. }
            | Error::NoType { key, .. }
            | Error::LoopbackName { key, .. }
            | Error::LoopbackSetting { key, .. } => key,
        }
    }

    /// The core's error for a failed start phase, naming the key (and where it was set).
    pub fn into_hook(self, phase: Phase) -> lxc_core::Error {
        let key = match &self {
            Error::Entry { key, origin, .. } => format!("{key}{}", at(&Some(origin.clone()))),
            Error::NeedsPlugin { key, origin, .. }
            | Error::Setup { key, origin, .. }
            | Error::LoopbackName { key, origin, .. }
            | Error::LoopbackSetting { key, origin, .. } => format!("{key}{}", at(origin)),
            Error::NoType { key, .. } => key.clone(),
        };
        let message = match &self {
            Error::Entry { value, why, .. } => {
                format!("{}: expected {why}", lxc_core::config::bytes::quote(value))
            }
            Error::NeedsPlugin { why, .. } => why.clone(),
            Error::Setup { message, .. } => message.clone(),
            Error::NoType { index, .. } => {
                format!("network {index} has no type (its type was cleared)")
            }
            Error::LoopbackSetting { .. } => "LXC applies this to the loopback device of a \
                                               network of type empty; this build does not yet"
                .to_string(),
            Error::LoopbackName { name, .. } => format!(
                "a network of type empty is the loopback device and must be named lo, not {name:?}"
            ),
        };
        lxc_core::Error::Hook {
            phase,
            owner: crate::NAME,
            key: Some(key),
            message,
        }
    }
}
