//! The core's one error type. Every variant carries what a user needs to act on it: the key,
//! where it was written (file:line), the path or the container.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::config::bytes::{cut, quote, shown, shown_path};

/// How much free text (a parser's "expected", a child's message) an error shows.
const MAX_TEXT: usize = 1024;
use crate::phase::Phase;

/// Where a config value came from: a file and line, or an API call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub file: Option<PathBuf>,
    /// 1-based line number; 0 when the value did not come from a file.
    pub line: usize,
}

impl Origin {
    pub fn api() -> Self {
        Origin::default()
    }
    pub fn file(file: impl Into<PathBuf>, line: usize) -> Self {
        Origin {
            file: Some(file.into()),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(p) => write!(f, "{}:{}", shown_path(p), self.line),
            None => f.write_str("<api>"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{origin}: expected `lxc.key = value`, found {}", quote(.text))]
    Syntax { origin: Origin, text: String },

    #[error("{origin}: {}: unknown configuration key", shown(.key))]
    UnknownKey { key: String, origin: Origin },

    #[error("{origin}: {key}: not supported by this build (needs {provider})")]
    NotInBuild {
        key: String,
        origin: Origin,
        provider: &'static str,
    },

    #[error(
        "{origin}: {}: invalid value {}: expected {}",
        shown(.key),
        quote(.value),
        cut(.expected, MAX_TEXT)
    )]
    InvalidValue {
        key: String,
        value: String,
        origin: Origin,
        expected: String,
    },

    /// A value LXC's setter takes that cannot work when the container starts (a signal the
    /// kernel does not have, a soft limit above its hard limit): found by `config check`, and by
    /// `start` before it makes anything.
    #[error(
        "{origin}: {}: {} cannot work at start: expected {}",
        shown(.key),
        quote(.value),
        cut(.expected, MAX_TEXT)
    )]
    Unusable {
        key: String,
        value: String,
        origin: Origin,
        expected: String,
    },

    /// A key that cannot be one line of a config file (control characters, spaces, `=`).
    #[error("{origin}: {}: invalid key: expected {expected}", quote(.key))]
    InvalidKey {
        key: String,
        origin: Origin,
        expected: &'static str,
    },

    #[error("{origin}: lxc.include {}: {source}", shown_path(.path))]
    Include {
        origin: Origin,
        path: PathBuf,
        source: io::Error,
    },

    #[error("{origin}: lxc.include {}: includes nested deeper than {max} levels", shown_path(.path))]
    IncludeDepth {
        origin: Origin,
        path: PathBuf,
        max: usize,
    },

    /// An include of something that is neither a regular file nor a directory (a FIFO would
    /// block, a device would never end).
    #[error(
        "{origin}: lxc.include {}: is a {kind}: expected a regular file or a directory",
        shown_path(.path)
    )]
    IncludeKind {
        origin: Origin,
        path: PathBuf,
        kind: &'static str,
    },

    /// A file that includes itself, directly or through other files or directories.
    #[error(
        "{origin}: lxc.include {}: include loop: this file or directory is already being read",
        shown_path(.path)
    )]
    IncludeLoop { origin: Origin, path: PathBuf },

    /// A bound on the work of one load (file size, total bytes, number of files).
    #[error("{origin}: lxc.include {}: {what} exceeds the limit of {limit}", shown_path(.path))]
    IncludeLimit {
        origin: Origin,
        path: PathBuf,
        what: &'static str,
        limit: u64,
    },

    /// The config file itself is over the size limit.
    #[error("{}: config file larger than the limit of {limit} bytes", shown_path(.path))]
    TooLarge { path: PathBuf, limit: u64 },

    /// The last entry of a capped problem list: how many were not kept.
    #[error("{}: and {more} more problem(s)", shown_path(.path))]
    MoreProblems { path: PathBuf, more: usize },

    #[error("{}: {} problem(s):\n{}", shown_path(.path), problem_count(.errors), list(.errors))]
    Config { path: PathBuf, errors: Vec<Error> },

    #[error("{op} {}: {source}", shown_path(.path))]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    /// The container lock (see `lock.rs`): taking it, or making its file.
    #[error("{name}: {op} {path}: {source}")]
    Lock {
        name: String,
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    #[error("invalid container name {}: {why}", quote(.name))]
    InvalidName { name: String, why: &'static str },

    #[error("container {name} is not defined in {lxcpath}")]
    NotDefined { name: String, lxcpath: PathBuf },

    /// `execute` of a container with no config at all (LXC's lxc-execute refuses it too).
    #[error(
        "container {name} is not defined in {lxcpath} and no config file was given: executing \
         a container with no configuration file may crash the host (define it, or pass -f FILE)"
    )]
    NoConfig { name: String, lxcpath: PathBuf },

    #[error("{name}: {}", cut(.message, MAX_TEXT))]
    Start { name: String, message: String },

    #[error("{name} is not running")]
    NotRunning { name: String },

    #[error("{name} is already running")]
    AlreadyRunning { name: String },

    /// LXC itself (`lxc-start`, liblxc), not lxc-rs, runs this container: found through LXC's
    /// command socket. `advice` says which of LXC's tools to use instead.
    #[error("container {name} is running under LXC ({}){}", monitor(.monitor_pid), lxc_advice(.advice, .tool, .name, .lxcpath))]
    RunByLxc {
        name: String,
        lxcpath: PathBuf,
        monitor_pid: Option<i32>,
        /// LXC's tool for it, with its own flags: `lxc-stop`, `lxc-stop -r`, `lxc-attach`.
        tool: &'static str,
        advice: LxcAdvice,
    },

    #[error("{name}: command {request}: {}", cut(.message, MAX_TEXT))]
    Command {
        name: String,
        request: String,
        message: String,
        /// The errno the monitor gave (or the client's, when no answer came).
        errno: i32,
    },

    /// A subsystem's attach step (`registry::ATTACH_HOOKS`) failed in the attached process.
    #[error("{name}: attach: {owner}'s attach step: {source}")]
    AttachHook {
        name: String,
        owner: String,
        source: io::Error,
    },

    #[error("{name}: {op}: {source}")]
    Sys {
        name: String,
        op: &'static str,
        source: io::Error,
    },

    /// `add_device_node` / `remove_device_node` refused or failed (nothing changed): `path`
    /// is the host's device, or the path in the container (the message says which).
    #[error("{name}: {op} {}: {}", shown_path(.path), cut(.message, MAX_TEXT))]
    DeviceNode {
        name: String,
        op: &'static str,
        path: PathBuf,
        message: String,
        errno: i32,
    },

    /// `mount` / `umount` on a running container (API extension `mount_injection`) refused
    /// or failed, with nothing changed: `path` is the target in the container.
    #[error("{name}: {op} {}: {}", shown_path(.path), cut(.message, MAX_TEXT))]
    Mount {
        name: String,
        op: &'static str,
        path: PathBuf,
        message: String,
        errno: i32,
    },

    /// Clone, rename, snapshot or storage work (`manage`) refused or failed: `what` says
    /// what was attempted on container `name`.
    #[error("{name}: {what}: {message}")]
    Manage {
        name: String,
        what: String,
        message: String,
        errno: i32,
    },

    #[error(
        "phase {phase}: {owner}{}: {}",
        key_suffix(.key, .message),
        cut(.message, MAX_TEXT)
    )]
    Hook {
        phase: Phase,
        owner: &'static str,
        key: Option<String>,
        message: String,
    },
}

/// What a [`Error::RunByLxc`] tells the user to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LxcAdvice {
    /// The operation (start, destroy, rename, saving its config) was refused while LXC runs
    /// the container: stop it with LXC first.
    StopFirst,
    /// The operation needs what LXC's command protocol has no request for (the console ring
    /// buffer, mount injection): use LXC's tool.
    UseTool,
}

fn monitor(pid: &Option<i32>) -> String {
    match pid {
        Some(p) => format!("monitor pid {p}"),
        None => "its monitor's pid is unknown".to_string(),
    }
}

fn lxc_advice(advice: &LxcAdvice, tool: &str, name: &str, lxcpath: &std::path::Path) -> String {
    let cmd = format!(
        "{tool} -n {} -P {}",
        shell_word(name),
        shell_word(&lxcpath.to_string_lossy())
    );
    match advice {
        LxcAdvice::StopFirst => format!(": stop it with `{cmd}`"),
        LxcAdvice::UseTool => format!(", not lxc-rs: use `{cmd}`"),
    }
}

/// `s` as one shell word: as it is when that is safe, else in single quotes.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%=,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The number of problems, counting those a [`Error::MoreProblems`] stands for.
fn problem_count(errors: &[Error]) -> usize {
    errors
        .iter()
        .map(|e| match e {
            Error::MoreProblems { more, .. } => *more,
            _ => 1,
        })
        .sum()
}

fn list(errors: &[Error]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// ": KEY", unless the message already starts with the key (then it is said once).
fn key_suffix(key: &Option<String>, message: &str) -> String {
    match key {
        Some(k) if !message.starts_with(k.as_str()) => format!(": {k}"),
        _ => String::new(),
    }
}

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The errno a C caller gets for this error (liblxc's functions fail with errno set).
    pub fn errno(&self) -> i32 {
        match self {
            Error::Syntax { .. }
            | Error::UnknownKey { .. }
            | Error::InvalidValue { .. }
            | Error::Unusable { .. }
            | Error::InvalidKey { .. }
            | Error::InvalidName { .. } => libc::EINVAL,
            Error::NotInBuild { .. } => libc::EOPNOTSUPP,
            Error::Include { source, .. }
            | Error::Io { source, .. }
            | Error::Sys { source, .. }
            | Error::AttachHook { source, .. }
            | Error::Lock { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
            Error::IncludeDepth { .. } | Error::IncludeLoop { .. } => libc::ELOOP,
            Error::IncludeKind { .. } => libc::EINVAL,
            Error::IncludeLimit { .. } | Error::TooLarge { .. } => libc::EFBIG,
            Error::MoreProblems { .. } => libc::EINVAL,
            Error::Config { errors, .. } => errors.first().map_or(libc::EINVAL, Error::errno),
            Error::NotDefined { .. } | Error::NoConfig { .. } => libc::ENOENT,
            Error::Start { .. } | Error::Hook { .. } => libc::ECANCELED,
            Error::NotRunning { .. } => libc::ESRCH,
            Error::AlreadyRunning { .. } => libc::EEXIST,
            Error::Command { errno, .. }
            | Error::DeviceNode { errno, .. }
            | Error::Mount { errno, .. }
            | Error::Manage { errno, .. } => *errno,
            Error::RunByLxc { .. } => libc::EBUSY,
        }
    }

    /// The error for a container LXC runs (see [`Container::lxc_monitor`](crate::Container::lxc_monitor)).
    pub fn run_by_lxc(
        m: &crate::commands::LxcMonitor,
        tool: &'static str,
        advice: LxcAdvice,
    ) -> Self {
        Error::RunByLxc {
            name: m.name.clone(),
            lxcpath: m.lxcpath.clone(),
            monitor_pid: m.pid,
            tool,
            advice,
        }
    }

    /// A [`Error::RunByLxc`] naming `tool` instead (a caller knows better which tool fits);
    /// any other error as it is.
    pub fn with_lxc_tool(self, tool: &'static str) -> Self {
        match self {
            Error::RunByLxc {
                name,
                lxcpath,
                monitor_pid,
                advice,
                ..
            } => Error::RunByLxc {
                name,
                lxcpath,
                monitor_pid,
                tool,
                advice,
            },
            e => e,
        }
    }

    /// The individual problems, flattening an aggregated `Config` error.
    pub fn problems(&self) -> Vec<&Error> {
        match self {
            Error::Config { errors, .. } => errors.iter().flat_map(|e| e.problems()).collect(),
            e => vec![e],
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lxc_advice_is_a_command_to_paste() {
        let e = Error::RunByLxc {
            name: "c1".into(),
            lxcpath: PathBuf::from("/srv/my lxc/it's"),
            monitor_pid: Some(42),
            tool: "lxc-stop",
            advice: LxcAdvice::StopFirst,
        };
        assert_eq!(
            e.to_string(),
            "container c1 is running under LXC (monitor pid 42): stop it with \
             `lxc-stop -n c1 -P '/srv/my lxc/it'\\''s'`"
        );
        let e = e.with_lxc_tool("lxc-freeze");
        let Error::RunByLxc { tool, .. } = &e else {
            unreachable!()
        };
        assert_eq!(*tool, "lxc-freeze");
        let e = Error::RunByLxc {
            name: "c1".into(),
            lxcpath: PathBuf::from("/var/lib/lxc"),
            monitor_pid: None,
            tool: "lxc-attach",
            advice: LxcAdvice::UseTool,
        };
        assert_eq!(
            e.to_string(),
            "container c1 is running under LXC (its monitor's pid is unknown), not lxc-rs: \
             use `lxc-attach -n c1 -P /var/lib/lxc`"
        );
    }
}
