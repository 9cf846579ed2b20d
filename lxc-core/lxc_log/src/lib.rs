//! API extension `lxc_log`: LXC's log priorities, log file, prefix and quiet mode on `tracing`,
//! and the per-container keys `lxc.log.file`, `lxc.log.level`, `lxc.log.syslog`.

#![forbid(unsafe_code)]

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, KeyDef, KeyPattern, Registration, ValueKind, REGISTRY};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static LXC_LOG: Registration = Registration {
    name: "lxc_log",
    kind: EntryKind::ApiExtension,
    keys: &[
        KeyDef {
            pattern: KeyPattern::Exact("lxc.log.file"),
            kind: ValueKind::Single,
            parse: keys::parse_file,
            get: None,
            clear: None,
            doc: "the container's log file (appended to; parent directories are created)",
        },
        KeyDef {
            pattern: KeyPattern::Exact("lxc.log.level"),
            kind: ValueKind::Single,
            parse: keys::parse_level,
            get: Some(keys::get_level),
            clear: None,
            doc: "the container's log priority: 0..8 or TRACE, DEBUG, ..., FATAL",
        },
        KeyDef {
            pattern: KeyPattern::Exact("lxc.log.syslog"),
            kind: ValueKind::Single,
            parse: keys::parse_syslog,
            get: None,
            clear: None,
            doc: "send the container's log to syslog with this facility (daemon, local0..local7)",
        },
    ],
    hooks: &[],
    commands: &[],
};

mod error;
mod format;
pub mod keys;
mod layer;
mod priority;
mod sink;
mod state;

pub use error::Error;
pub use layer::LxcLayer;
pub use priority::{Facility, Priority};
pub use state::{
    container_log_options, container_syslog, log_apply_container, log_close, log_get_level,
    log_init, log_syslog, LogGuard, LogOptions, Syslog, DEV_LOG, LOGPATH,
};

/// The event field that carries an LXC priority tracing has no level for (NOTICE, CRIT,
/// ALERT, FATAL). The macros below set it; any event may set it by hand.
pub const PRIORITY_FIELD: &str = "lxc_priority";

#[doc(hidden)]
pub use tracing as __tracing;

/// Log at LXC's NOTICE priority (a tracing INFO event marked NOTICE).
#[macro_export]
macro_rules! notice {
    ($($arg:tt)+) => {
        $crate::__tracing::event!($crate::__tracing::Level::INFO, lxc_priority = "NOTICE", $($arg)+)
    };
}

/// Log at LXC's CRIT priority (a tracing ERROR event marked CRIT).
#[macro_export]
macro_rules! crit {
    ($($arg:tt)+) => {
        $crate::__tracing::event!($crate::__tracing::Level::ERROR, lxc_priority = "CRIT", $($arg)+)
    };
}

/// Log at LXC's ALERT priority (a tracing ERROR event marked ALERT).
#[macro_export]
macro_rules! alert {
    ($($arg:tt)+) => {
        $crate::__tracing::event!($crate::__tracing::Level::ERROR, lxc_priority = "ALERT", $($arg)+)
    };
}

/// Log at LXC's FATAL priority (a tracing ERROR event marked FATAL).
#[macro_export]
macro_rules! fatal {
    ($($arg:tt)+) => {
        $crate::__tracing::event!($crate::__tracing::Level::ERROR, lxc_priority = "FATAL", $($arg)+)
    };
}
