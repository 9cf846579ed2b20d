//! Log setup from `-l`, `-o`, `-q`, `-n` and `-P`, through the `lxc_log` extension when it is
//! linked in. Without it the CLI still runs: there is no log, and errors still reach stderr
//! through `main`.

use crate::error::CliError;
use crate::Global;

/// The prefix of this run's log lines: the name of LXC's tool that does what the command
/// does (`lxc-attach` for `attach`), so that a log file reads like LXC's, as
/// `lxc-attach NAME 20261207123456.789 ERROR attach - FILE:FUNC:LINE - MESSAGE`; `lxc-rs`
/// for the commands LXC has no tool for. `command` is the command's label (`config get`).
pub fn prefix_for(command: &str) -> &'static str {
    match command {
        "ls" => "lxc-ls",
        "create" => "lxc-create",
        "destroy" => "lxc-destroy",
        "start" => "lxc-start",
        "execute" => "lxc-execute",
        "stop" => "lxc-stop",
        "wait" => "lxc-wait",
        "info" => "lxc-info",
        "freeze" => "lxc-freeze",
        "unfreeze" => "lxc-unfreeze",
        "cgroup" => "lxc-cgroup",
        "attach" => "lxc-attach",
        "console" => "lxc-console",
        "checkconfig" => "lxc-checkconfig",
        c if c.starts_with("device") => "lxc-device",
        _ => "lxc-rs",
    }
}

#[cfg(feature = "lxc_log")]
mod imp {
    use std::path::PathBuf;

    use super::*;

    pub type Guard = lxc::log::LogGuard;

    pub fn parse_priority(s: &str) -> Result<String, String> {
        s.parse::<lxc::log::Priority>()
            .map(|_| s.to_string())
            .map_err(|e| e.to_string())
    }

    pub fn init(g: &Global, prefix: &str) -> Result<Option<Guard>, CliError> {
        let level = match g.log_priority.as_deref() {
            Some(p) => Some(
                p.parse::<lxc::log::Priority>()
                    .map_err(|_| CliError::Usage(format!("unknown log priority {p:?}")))?,
            ),
            None => None,
        };
        let opts = lxc::log::LogOptions {
            name: g.name.clone(),
            lxcpath: g.lxcpath.clone(),
            // Like LXC's tools: no log file unless -o or -l asks for one (the path `none`
            // stops log_init from opening the container's default log file).
            file: match (&g.logfile, &g.log_priority) {
                (Some(f), _) => Some(f.clone()),
                (None, Some(_)) => None,
                (None, None) => Some(PathBuf::from("none")),
            },
            level,
            prefix: prefix.to_string(),
            quiet: g.quiet,
        };
        lxc::log::log_init(&opts)
            .map(Some)
            .map_err(|e| CliError::Log(e.to_string()))
    }

    /// The container's `lxc.log.file` / `lxc.log.level` take over (unless `-o` was given), so
    /// its monitor logs where its config says, as LXC's does.
    pub fn apply_container(c: &lxc::Container) -> Result<(), CliError> {
        let opts = lxc::log::container_log_options(c.name(), c.config_path(), c.config());
        lxc::log::log_apply_container(&opts).map_err(|e| CliError::Log(e.to_string()))
    }
}

#[cfg(not(feature = "lxc_log"))]
mod imp {
    use super::*;

    /// Nothing to keep alive when there is no log.
    pub type Guard = ();

    pub fn parse_priority(s: &str) -> Result<String, String> {
        const NAMES: &[&str] = &[
            "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRIT", "ALERT",
            "FATAL",
        ];
        let number = s.parse::<u8>().is_ok_and(|n| n <= 8);
        if number || NAMES.iter().any(|n| n.eq_ignore_ascii_case(s)) {
            Ok(s.to_string())
        } else {
            Err(format!(
                "invalid log priority {s:?}: expected a number 0..8 or one of TRACE, DEBUG, \
                 INFO, NOTICE, WARN, ERROR, CRIT, ALERT, FATAL"
            ))
        }
    }

    pub fn init(_g: &Global, _prefix: &str) -> Result<Option<Guard>, CliError> {
        Ok(None)
    }

    pub fn apply_container(_c: &lxc::Container) -> Result<(), CliError> {
        Ok(())
    }
}

/// clap value parser for `-l`: the priority must be one LXC knows.
pub fn parse_priority(s: &str) -> Result<String, String> {
    imp::parse_priority(s)
}

/// Switch to the container's own log settings before it starts.
pub fn apply_container(c: &lxc::Container) -> Result<(), CliError> {
    imp::apply_container(c)
}

/// Set up the log for `command` (its label); keep the guard alive until it is done.
pub fn init(g: &Global, command: &str) -> Result<Option<imp::Guard>, CliError> {
    imp::init(g, prefix_for(command))
}
