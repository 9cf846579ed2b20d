//! LXC's log priorities and syslog facilities, named and numbered as LXC parses and prints them.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// LXC's log priorities, lowest first; the numbers are LXC's (`lxc.log.level = 3` is NOTICE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum Priority {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Notice = 3,
    Warn = 4,
    /// LXC's default priority.
    #[default]
    Error = 5,
    Crit = 6,
    Alert = 7,
    Fatal = 8,
}

impl Priority {
    /// Every priority, in LXC's numeric order.
    pub const ALL: [Priority; 9] = [
        Priority::Trace,
        Priority::Debug,
        Priority::Info,
        Priority::Notice,
        Priority::Warn,
        Priority::Error,
        Priority::Crit,
        Priority::Alert,
        Priority::Fatal,
    ];

    /// The name LXC prints (`get_config_item("lxc.log.level")`, the log line's priority column).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Trace => "TRACE",
            Priority::Debug => "DEBUG",
            Priority::Info => "INFO",
            Priority::Notice => "NOTICE",
            Priority::Warn => "WARN",
            Priority::Error => "ERROR",
            Priority::Crit => "CRIT",
            Priority::Alert => "ALERT",
            Priority::Fatal => "FATAL",
        }
    }

    /// LXC's number for this priority (0 = TRACE .. 8 = FATAL).
    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn from_number(n: i64) -> Option<Priority> {
        usize::try_from(n)
            .ok()
            .and_then(|i| Priority::ALL.get(i))
            .copied()
    }

    /// The tracing level an event of this priority is emitted at. tracing has five levels for
    /// LXC's nine: NOTICE rides on INFO, CRIT/ALERT/FATAL on ERROR, each marked with the
    /// [`crate::PRIORITY_FIELD`] field (the `notice!`, `crit!`, ... macros do that).
    pub fn to_tracing_level(self) -> tracing::Level {
        match self {
            Priority::Trace => tracing::Level::TRACE,
            Priority::Debug => tracing::Level::DEBUG,
            Priority::Info | Priority::Notice => tracing::Level::INFO,
            Priority::Warn => tracing::Level::WARN,
            Priority::Error | Priority::Crit | Priority::Alert | Priority::Fatal => {
                tracing::Level::ERROR
            }
        }
    }

    /// The priority of a tracing event that carries no [`crate::PRIORITY_FIELD`].
    pub fn from_tracing_level(level: &tracing::Level) -> Priority {
        match *level {
            tracing::Level::TRACE => Priority::Trace,
            tracing::Level::DEBUG => Priority::Debug,
            tracing::Level::INFO => Priority::Info,
            tracing::Level::WARN => Priority::Warn,
            tracing::Level::ERROR => Priority::Error,
        }
    }

    /// The highest priority an event at `level` can carry (for the cheap per-callsite check).
    pub(crate) fn highest_for(level: &tracing::Level) -> Priority {
        match *level {
            tracing::Level::TRACE => Priority::Trace,
            tracing::Level::DEBUG => Priority::Debug,
            tracing::Level::INFO => Priority::Notice,
            tracing::Level::WARN => Priority::Warn,
            tracing::Level::ERROR => Priority::Fatal,
        }
    }

    /// The syslog severity LXC sends this priority as (`lxc_log_priority_to_syslog`).
    pub fn syslog_severity(self) -> u8 {
        match self {
            Priority::Fatal => 0, // LOG_EMERG
            Priority::Alert => 1,
            Priority::Crit => 2,
            Priority::Error => 3,
            Priority::Warn => 4,
            Priority::Notice => 5,
            Priority::Info => 6,
            Priority::Debug | Priority::Trace => 7,
        }
    }
}

impl From<Priority> for tracing::Level {
    fn from(p: Priority) -> tracing::Level {
        p.to_tracing_level()
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Accepts what LXC 5.0.2's `lxc.log.level` setter accepts: a value starting with a digit is
/// read like C's `strtol(value, &end, 0)` (so `0x3` and the octal `010` work, `08` and `3 ` do
/// not) and must be 0..8; anything else must be a priority name, in any case.
impl FromStr for Priority {
    type Err = Error;

    fn from_str(s: &str) -> Result<Priority, Error> {
        let bad = || Error::InvalidPriority {
            value: s.to_string(),
        };
        if s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            return c_strtol_base0(s)
                .and_then(Priority::from_number)
                .ok_or_else(bad);
        }
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(bad)
    }
}

/// C's `strtol(s, &end, 0)` for a string starting with a digit, requiring `*end == '\0'`.
fn c_strtol_base0(s: &str) -> Option<i64> {
    let (digits, radix) = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (hex, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i64::from_str_radix(digits, radix)
        .ok()
        .filter(|n| i32::try_from(*n).is_ok())
}

/// The syslog facilities LXC's `lxc.log.syslog` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Facility {
    Daemon,
    Local0,
    Local1,
    Local2,
    Local3,
    Local4,
    Local5,
    Local6,
    Local7,
}

impl Facility {
    pub const ALL: [Facility; 9] = [
        Facility::Daemon,
        Facility::Local0,
        Facility::Local1,
        Facility::Local2,
        Facility::Local3,
        Facility::Local4,
        Facility::Local5,
        Facility::Local6,
        Facility::Local7,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Facility::Daemon => "daemon",
            Facility::Local0 => "local0",
            Facility::Local1 => "local1",
            Facility::Local2 => "local2",
            Facility::Local3 => "local3",
            Facility::Local4 => "local4",
            Facility::Local5 => "local5",
            Facility::Local6 => "local6",
            Facility::Local7 => "local7",
        }
    }

    /// The facility number as syslog(3) defines it (`LOG_DAEMON` is 3, `LOG_LOCAL0` is 16, ...).
    pub fn code(self) -> u8 {
        match self {
            Facility::Daemon => 3,
            Facility::Local0 => 16,
            Facility::Local1 => 17,
            Facility::Local2 => 18,
            Facility::Local3 => 19,
            Facility::Local4 => 20,
            Facility::Local5 => 21,
            Facility::Local6 => 22,
            Facility::Local7 => 23,
        }
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Facility {
    type Err = Error;

    fn from_str(s: &str) -> Result<Facility, Error> {
        Facility::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::InvalidFacility {
                value: s.to_string(),
            })
    }
}
