//! The core keys' [`KeyCheck`]s: values LXC's setters accept that cannot work at start (see
//! [`crate::check`]).

use linkme::distributed_slice;

use crate::registry::{CheckScope, KeyCheck, KeyPattern, KEY_CHECKS};

use super::parse::{prlimit_value, rlimit_resource, RLIM_INFINITY, SIGRTMAX};
use super::CORE;

/// Linux's `RLIM_NLIMITS`: resources are numbered 0 to 15.
const RLIM_NLIMITS: i32 = 16;

const fn check(
    pattern: KeyPattern,
    scope: CheckScope,
    check: fn(&str, &str) -> Result<(), String>,
) -> KeyCheck {
    KeyCheck {
        owner: CORE,
        pattern,
        scope,
        check,
    }
}

#[distributed_slice(KEY_CHECKS)]
static SIGNAL_HALT: KeyCheck = check(
    KeyPattern::Exact("lxc.signal.halt"),
    CheckScope::Static,
    signal,
);
#[distributed_slice(KEY_CHECKS)]
static SIGNAL_REBOOT: KeyCheck = check(
    KeyPattern::Exact("lxc.signal.reboot"),
    CheckScope::Static,
    signal,
);
#[distributed_slice(KEY_CHECKS)]
static SIGNAL_STOP: KeyCheck = check(
    KeyPattern::Exact("lxc.signal.stop"),
    CheckScope::Static,
    signal,
);
#[distributed_slice(KEY_CHECKS)]
static SIGNAL_PDEATH: KeyCheck = check(
    KeyPattern::Exact("lxc.monitor.signal.pdeath"),
    CheckScope::Static,
    signal,
);
#[distributed_slice(KEY_CHECKS)]
static PRLIMIT: KeyCheck = check(
    KeyPattern::Prefix("lxc.prlimit."),
    CheckScope::Static,
    prlimit,
);
#[distributed_slice(KEY_CHECKS)]
static PRLIMIT_HOST: KeyCheck = check(
    KeyPattern::Prefix("lxc.prlimit."),
    CheckScope::Host,
    prlimit_nr_open,
);
#[distributed_slice(KEY_CHECKS)]
static PROC: KeyCheck = check(
    KeyPattern::Prefix("lxc.proc."),
    CheckScope::Static,
    proc_file,
);

/// The parser stored the signal's number (LXC's `sig_parse` takes any `int`). 0 is LXC's "not
/// set": the default signal is used.
pub fn signal(_key: &str, value: &str) -> Result<(), String> {
    match value.parse::<i64>() {
        Ok(n) if (0..=i64::from(SIGRTMAX)).contains(&n) => Ok(()),
        _ => Err(format!(
            "a signal the kernel has: 1 to {SIGRTMAX} (or SIG<NAME>, SIGRTMIN+n, SIGRTMAX-n; 0 \
             for the default)"
        )),
    }
}

fn resource(key: &str) -> Result<i32, String> {
    let name = key.strip_prefix("lxc.prlimit.").unwrap_or(key);
    rlimit_resource(name)
        .filter(|r| (0..RLIM_NLIMITS).contains(r))
        .ok_or_else(|| {
            format!(
                "a resource after lxc.prlimit.: one of {}, or its number 0 to {}",
                super::parse::RLIMITS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
                RLIM_NLIMITS - 1
            )
        })
}

fn limit(v: u64) -> String {
    if v == RLIM_INFINITY {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

/// `setrlimit` refuses an unknown resource and a soft limit above the hard one (EINVAL).
pub fn prlimit(key: &str, value: &str) -> Result<(), String> {
    resource(key)?;
    let Some((soft, hard)) = prlimit_value(value) else {
        return Ok(());
    };
    if soft > hard {
        return Err(format!(
            "a soft limit no larger than the hard one (soft {} > hard {})",
            limit(soft),
            limit(hard)
        ));
    }
    Ok(())
}

/// A numeric sysctl (`/proc/sys/...`), if it can be read.
pub fn read_sysctl(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The kernel refuses a `RLIMIT_NOFILE` above `fs.nr_open` (EPERM), `unlimited` included.
pub fn prlimit_nr_open(key: &str, value: &str) -> Result<(), String> {
    if resource(key) != Ok(libc::RLIMIT_NOFILE as i32) {
        return Ok(());
    }
    let (Some((soft, hard)), Some(max)) =
        (prlimit_value(value), read_sysctl("/proc/sys/fs/nr_open"))
    else {
        return Ok(());
    };
    if soft.max(hard) > max {
        return Err(format!(
            "open files limits of at most this host's fs.nr_open ({max})"
        ));
    }
    Ok(())
}

/// Written to `/proc/<init>/<name>`: a file directly in that directory.
pub fn proc_file(key: &str, _value: &str) -> Result<(), String> {
    let name = key.strip_prefix("lxc.proc.").unwrap_or(key);
    if name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(format!(
            "a file directly in /proc/<pid>/ after lxc.proc. (no `/`, not `.` or `..`), not \
             {name:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        for ok in ["0", "1", "15", "64"] {
            assert_eq!(signal("lxc.signal.halt", ok), Ok(()), "{ok}");
        }
        for bad in ["65", "99999", "2147483647", "-1"] {
            assert!(signal("lxc.signal.halt", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prlimits() {
        assert_eq!(prlimit("lxc.prlimit.nofile", "5:10"), Ok(()));
        assert_eq!(prlimit("lxc.prlimit.nofile", "5:unlimited"), Ok(()));
        assert_eq!(prlimit("lxc.prlimit.7", "5"), Ok(()));
        let e = prlimit("lxc.prlimit.nofile", "10:5").unwrap_err();
        assert!(e.contains("soft 10 > hard 5"), "{e}");
        assert!(prlimit("lxc.prlimit.nofile", "unlimited:5").is_err());
        let e = prlimit("lxc.prlimit.bogus", "10").unwrap_err();
        assert!(e.contains("nofile"), "{e}");
        assert!(prlimit("lxc.prlimit.16", "10").is_err());
        assert!(prlimit("lxc.prlimit.-1", "10").is_err());
    }

    #[test]
    fn nofile_against_nr_open() {
        let Some(max) = read_sysctl("/proc/sys/fs/nr_open") else {
            eprintln!("SKIP nofile_against_nr_open: no /proc/sys/fs/nr_open");
            return;
        };
        assert_eq!(
            prlimit_nr_open("lxc.prlimit.nofile", &max.to_string()),
            Ok(())
        );
        assert!(prlimit_nr_open("lxc.prlimit.nofile", &format!("{}", max + 1)).is_err());
        assert!(prlimit_nr_open("lxc.prlimit.nofile", "unlimited").is_err());
        assert_eq!(prlimit_nr_open("lxc.prlimit.nproc", "unlimited"), Ok(()));
    }

    #[test]
    fn proc_files() {
        assert_eq!(proc_file("lxc.proc.oom_score_adj", "10"), Ok(()));
        for bad in ["lxc.proc.../x", "lxc.proc.a/b", "lxc.proc..", "lxc.proc..."] {
            assert!(proc_file(bad, "1").is_err(), "{bad}");
        }
    }
}
