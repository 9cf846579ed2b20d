//! Parsers and printers for `lxc.log.file`, `lxc.log.level` and `lxc.log.syslog`, with LXC
//! 5.0.2's semantics (checked against Debian's liblxc):
//!
//! - `lxc.log.file`: the path as LXC's `path_simplify` normalizes it (repeated and trailing
//!   slashes and `.` components dropped, `..` kept), shorter than `PATH_MAX`. LXC also opens the
//!   file while parsing; we open it when the log is applied (see `log_apply_container`).
//! - `lxc.log.level`: see [`Priority`]'s `FromStr`; printed as the priority's name, and as
//!   `NOTSET` when unset or cleared.
//! - `lxc.log.syslog`: `daemon` or `local0`..`local7` in any case, printed as written.

use lxc_core::Config;

use crate::priority::{Facility, Priority};

/// LXC's `PATH_MAX` limit for path keys: the simplified path must be shorter.
const PATH_MAX: usize = 4096;

pub fn parse_file(_key: &str, value: &str) -> Result<String, String> {
    let simplified = path_simplify(value);
    if simplified.len() >= PATH_MAX {
        return Err(format!("a path shorter than {PATH_MAX} bytes"));
    }
    Ok(simplified)
}

pub fn parse_level(_key: &str, value: &str) -> Result<String, String> {
    value
        .parse::<Priority>()
        .map(|p| p.as_str().to_string())
        .map_err(|_| {
            "a log priority: a number 0..8 or one of TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, \
             CRIT, ALERT, FATAL (any case)"
                .to_string()
        })
}

/// LXC prints an unset level as `NOTSET`, not as an empty string.
pub fn get_level(config: &Config, key: &str) -> String {
    config.last(key).unwrap_or("NOTSET").to_string()
}

pub fn parse_syslog(_key: &str, value: &str) -> Result<String, String> {
    value
        .parse::<Facility>()
        .map(|_| value.to_string())
        .map_err(|_| {
            "a syslog facility: daemon, local0, local1, local2, local3, local4, local5, local6 \
             or local7 (any case)"
                .to_string()
        })
}

/// LXC's `path_simplify`, shared with the core's path-valued keys.
pub use lxc_core::keys::parse::path_simplify;
