//! The terminal keys (`lxc.tty.max`, `lxc.tty.dir`, `lxc.pty.max`, `lxc.console.path`), beside
//! the code that acts on them, with LXC 5.0's semantics (checked against Debian's liblxc 5.0.2
//! by lxc-core's `tests/differential.rs`), and the checks of what cannot work at start.

use lxc_core::keys::check::read_sysctl;
use lxc_core::keys::parse::uint;
use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{
    last_or, CheckScope, EmptyValueRule, KeyCheck, KeyDef, KeyPattern, OnEmpty, ParseFn,
    EMPTY_VALUE_RULES, KEY_CHECKS,
};
use lxc_core::Config;

/// The registration that owns these keys (lxc-console's `tty.rs`).
pub const OWNER: &str = "terminals";

/// The kernel's `NR_UNIX98_PTY_MAX`: a devpts instance's `max=` can be no larger.
const NR_UNIX98_PTY_MAX: u64 = 1 << 20;

/// What LXC prints for a key nobody set.
fn default_of(key: &str) -> &'static str {
    match key {
        "lxc.tty.max" | "lxc.pty.max" => "0",
        _ => "",
    }
}

fn get_scalar(config: &Config, key: &str) -> String {
    last_or(config, key, default_of(key))
}

/// LXC's clearer of `lxc.tty.max` does nothing (its setter with an empty value resets it:
/// see [`EMPTY_TTY_MAX`]).
fn clear_nothing(_config: &mut Config, _key: &str) {}

/// `lxc.tty.dir`: a directory name under /dev.
pub fn tty_dir(_key: &str, value: &str) -> Result<String, String> {
    if value.len() > 255 {
        return Err("a directory name of at most 255 bytes".into());
    }
    Ok(value.to_string())
}

const fn single(name: &'static str, parse: ParseFn, doc: &'static str) -> KeyDef {
    KeyDef::single(name, parse, get_scalar, doc)
}

/// The keys of the `terminals` component, `lxc.console.path` (whose parser is the terminal
/// code's) given by the caller.
pub const fn terminal_keys(console_path: KeyDef) -> [KeyDef; 4] {
    [
        single(
            "lxc.pty.max",
            uint,
            "the number of ptys the container may allocate",
        ),
        single(
            "lxc.tty.dir",
            tty_dir,
            "a directory under /dev for the container's ttys",
        ),
        KeyDef {
            clear: Some(clear_nothing),
            ..single("lxc.tty.max", uint, "the number of ttys to make")
        },
        console_path,
    ]
}

/// LXC's setter resets `lxc.tty.max` on an empty value, unlike its clearer.
#[distributed_slice(EMPTY_VALUE_RULES)]
#[linkme(crate = lxc_core::linkme)]
static EMPTY_TTY_MAX: EmptyValueRule = EmptyValueRule {
    owner: OWNER,
    pattern: KeyPattern::Exact("lxc.tty.max"),
    rule: OnEmpty::Reset,
};

#[distributed_slice(KEY_CHECKS)]
#[linkme(crate = lxc_core::linkme)]
static PTY_MAX: KeyCheck = KeyCheck {
    owner: OWNER,
    pattern: KeyPattern::Exact("lxc.pty.max"),
    scope: CheckScope::Static,
    check: pty_max,
};

#[distributed_slice(KEY_CHECKS)]
#[linkme(crate = lxc_core::linkme)]
static TTY_MAX_HOST: KeyCheck = KeyCheck {
    owner: OWNER,
    pattern: KeyPattern::Exact("lxc.tty.max"),
    scope: CheckScope::Host,
    check: tty_max_host,
};

/// A devpts instance holds at most `NR_UNIX98_PTY_MAX` ptys.
pub fn pty_max(_key: &str, value: &str) -> Result<(), String> {
    match value.parse::<u64>() {
        Ok(n) if n > NR_UNIX98_PTY_MAX => Err(format!(
            "at most {NR_UNIX98_PTY_MAX} ptys (the kernel's limit for a devpts instance)"
        )),
        _ => Ok(()),
    }
}

/// Each tty is a pty of the container's devpts, counted against the host's `kernel.pty.max`:
/// more can never be allocated.
pub fn tty_max_host(_key: &str, value: &str) -> Result<(), String> {
    let (Ok(n), Some(max)) = (
        value.parse::<u64>(),
        read_sysctl("/proc/sys/kernel/pty/max"),
    ) else {
        return Ok(());
    };
    if n > max {
        return Err(format!("at most this host's kernel.pty.max ({max}) ttys"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tty_and_pty_limits() {
        assert_eq!(pty_max("lxc.pty.max", "1024"), Ok(()));
        assert!(pty_max("lxc.pty.max", "1048577").is_err());
        assert_eq!(tty_max_host("lxc.tty.max", "4"), Ok(()));
        if let Some(max) = read_sysctl("/proc/sys/kernel/pty/max") {
            assert!(tty_max_host("lxc.tty.max", &(max + 1).to_string()).is_err());
        }
        assert!(tty_dir("lxc.tty.dir", &"x".repeat(256)).is_err());
    }
}
