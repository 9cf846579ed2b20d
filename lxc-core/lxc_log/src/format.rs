//! LXC's log line layouts and its UTC timestamp.
//!
//! Log file: `PREFIX[ NAME] YYYYMMDDhhmmss.mmm PRIORITY CATEGORY - FILE:FUNC:LINE - MESSAGE`
//! (priority padded to 8 columns), stderr: `PREFIX: [NAME: ]FILE: FUNC: LINE MESSAGE`,
//! syslog: `[NAME:] CATEGORY - FILE:FUNC:LINE - MESSAGE`, as LXC's `log.c` writes them.
//! CATEGORY is the last segment of the event's target (LXC names a category per source file),
//! FUNC the innermost span's name (tracing has no function names), else the module's last
//! segment.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::priority::Priority;

/// One event, rendered to strings before any lock is taken.
pub(crate) struct Record<'a> {
    pub priority: Priority,
    pub category: &'a str,
    pub file: &'a str,
    pub func: &'a str,
    pub line: u32,
    pub message: &'a str,
    pub time: SystemTime,
}

pub(crate) fn file_line(prefix: &str, name: Option<&str>, r: &Record<'_>) -> Vec<u8> {
    let mut s = String::with_capacity(96 + r.message.len());
    s.push_str(prefix);
    if let Some(n) = name {
        s.push(' ');
        s.push_str(n);
    }
    s.push_str(&format!(
        " {} {:<8} {} - {}:{}:{} - {}\n",
        timestamp(r.time),
        r.priority.as_str(),
        r.category,
        r.file,
        r.func,
        r.line,
        r.message
    ));
    s.into_bytes()
}

pub(crate) fn stderr_line(prefix: &str, name: Option<&str>, r: &Record<'_>) -> Vec<u8> {
    let name = name.map(|n| format!("{n}: ")).unwrap_or_default();
    format!(
        "{prefix}: {name}{}: {}: {} {}\n",
        r.file, r.func, r.line, r.message
    )
    .into_bytes()
}

/// The part after syslog's `<PRI>IDENT[PID]: ` header.
pub(crate) fn syslog_body(name: Option<&str>, r: &Record<'_>) -> String {
    let name = name.map(|n| format!("{n}:")).unwrap_or_default();
    format!(
        "{name} {} - {}:{}:{} - {}",
        r.category, r.file, r.func, r.line, r.message
    )
}

/// `YYYYMMDDhhmmss.mmm` in UTC, computed from the epoch without the C library's time zone code
/// (like LXC, so logging stays safe in a process that forks).
pub(crate) fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{day:02}{:02}{:02}{:02}.{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A source path as it reads best in a log line: workspace paths as given
/// (`lxc-core/src/config/mod.rs`), absolute paths of dependencies from their crate directory
/// on (`tracing-subscriber-0.3.23/src/fmt/mod.rs`).
pub(crate) fn short_file(file: &str) -> &str {
    if !file.starts_with('/') {
        return file;
    }
    match file.rfind("/src/") {
        Some(i) => {
            let crate_start = file[..i].rfind('/').map_or(0, |j| j + 1);
            &file[crate_start..]
        }
        None => file.rsplit('/').next().unwrap_or(file),
    }
}

/// The last `::` segment of a target or module path.
pub(crate) fn last_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_match_known_dates() {
        let at = |s: u64, ms: u64| {
            timestamp(UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms))
        };
        assert_eq!(at(0, 0), "19700101000000.000");
        assert_eq!(at(951_782_400, 5), "20000229000000.005");
        assert_eq!(at(1_709_210_096, 789), "20240229123456.789");
        assert_eq!(at(4_102_444_799, 999), "20991231235959.999");
    }

    #[test]
    fn short_paths() {
        assert_eq!(
            short_file("lxc-core/src/config/mod.rs"),
            "lxc-core/src/config/mod.rs"
        );
        assert_eq!(
            short_file("/root/.cargo/registry/src/idx/tracing-0.1.44/src/lib.rs"),
            "tracing-0.1.44/src/lib.rs"
        );
        assert_eq!(short_file("/tmp/x.rs"), "x.rs");
        assert_eq!(last_segment("lxc_core::config"), "config");
        assert_eq!(last_segment("lxc_core"), "lxc_core");
    }
}
