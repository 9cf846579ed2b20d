//! API extension `time_namespace`: a container in a time namespace of its own whose
//! CLOCK_BOOTTIME and CLOCK_MONOTONIC are shifted by `lxc.time.offset.boot` and
//! `lxc.time.offset.monotonic` (LXC 5.0's keys and units: `h`, `m`, `s`, `ms`, `us`, `ns`).
//!
//! The registration below is everything this crate does to a container: its two keys, a
//! PreClone hook that asks the core for a time namespace made in the child rather than by
//! clone3, and the child hook that makes it. The kernel freezes a time namespace's offsets when
//! the first process enters it, and clone3(CLONE_NEWTIME) puts the child in it at once, so
//! neither the monitor (after clone) nor the child can write them then. As LXC does, the child
//! unshares the time namespace (which only its future children would enter), writes
//! /proc/self/timens_offsets, and then joins it with setns, first thing in ChildMounts: before
//! any hook of the container can fork, and while the host's /proc is still mounted.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsFd;

use lxc_core::config::Config;
use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, HookCtx, NsRequest};
use lxc_core::registry::{
    EntryKind, KeyDef, KeyPattern, PhaseHook, Registration, ValueKind, REGISTRY,
};
use lxc_core::start::spec::NsPlan;
use lxc_core::{Error, Phase};

/// The registration's name, and the owner named in its errors.
pub const NAME: &str = "time_namespace";
pub const BOOT: &str = "lxc.time.offset.boot";
pub const MONOTONIC: &str = "lxc.time.offset.monotonic";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static TIME_NAMESPACE: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[
        key(
            BOOT,
            "the offset of CLOCK_BOOTTIME in the container's time namespace, e.g. 2h",
        ),
        key(
            MONOTONIC,
            "the offset of CLOCK_MONOTONIC in the container's time namespace, e.g. -30s",
        ),
    ],
    hooks: &[
        PhaseHook {
            phase: Phase::PreClone,
            order: order::FIRST,
            run: request_namespace,
        },
        PhaseHook {
            phase: Phase::ChildMounts,
            order: order::FIRST,
            run: enter_namespace,
        },
    ],
    commands: &[],
};

const fn key(name: &'static str, doc: &'static str) -> KeyDef {
    KeyDef {
        pattern: KeyPattern::Exact(name),
        // Every value is kept: LXC's setter fills seconds or nanoseconds, leaving the other
        // from an earlier line, and the getter and the start replay them (see `offset`).
        kind: ValueKind::List,
        parse: parse_offset,
        get: Some(get_offset),
        clear: None,
        doc,
    }
}

/// One setting as LXC's setter stores it: whole seconds (`h`, `m`, `s`) or nanoseconds
/// (`ms`, `us`, `ns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offset {
    Secs(i64),
    Nanos(i64),
}

const EXPECTED: &str = "an integer and a unit: h, m, s, ms, us or ns (e.g. 2h, -500000000ns)";

fn parse(value: &str) -> Result<Offset, String> {
    let v = value.trim_start();
    let digits_end = v
        .char_indices()
        .skip_while(|&(i, c)| i == 0 && (c == '+' || c == '-'))
        .find(|&(_, c)| !c.is_ascii_digit())
        .map_or(v.len(), |(i, _)| i);
    let (number, unit) = v.split_at(digits_end);
    // LXC keeps at most two characters after the number, then trims them.
    if unit.len() > 2 {
        return Err(EXPECTED.into());
    }
    let n: i64 = number.parse().map_err(|_| {
        if number.trim_start_matches(['+', '-']).is_empty() {
            EXPECTED.to_string()
        } else {
            "an offset that fits in 64 bits".to_string()
        }
    })?;
    // LXC 5.0's overflow check refuses every negative value it has to multiply; a config
    // lxc-rs takes must load in LXC too, so the same values are refused, saying how to write them.
    let scaled = |mult: i64, unit: &str| match n.checked_mul(mult) {
        Some(_) if n < 0 => Err(format!(
            "a value LXC 5.0 takes: a negative offset in {unit} is refused, write it in {}",
            if matches!(unit, "h" | "m") { "s" } else { "ns" }
        )),
        Some(v) => Ok(v),
        None => Err("an offset that fits in 64 bits once in seconds or nanoseconds".to_string()),
    };
    match unit.trim() {
        "h" => scaled(3600, "h").map(Offset::Secs),
        "m" => scaled(60, "m").map(Offset::Secs),
        "s" => Ok(Offset::Secs(n)),
        "ms" => scaled(1_000_000, "ms").map(Offset::Nanos),
        "us" => scaled(1_000, "us").map(Offset::Nanos),
        "ns" => Ok(Offset::Nanos(n)),
        _ => Err(EXPECTED.into()),
    }
}

fn show(o: Offset) -> String {
    match o {
        Offset::Secs(s) => format!("{s}s"),
        Offset::Nanos(n) => format!("{n}ns"),
    }
}

/// Values are kept normalized to what LXC's getter prints for them alone (`7200s`, `5000000ns`).
pub fn parse_offset(_key: &str, value: &str) -> Result<String, String> {
    parse(value).map(show)
}

/// The (seconds, nanoseconds) LXC would hold after replaying every value of `key`.
fn replay(config: &Config, key: &str) -> (i64, i64) {
    config
        .all(key)
        .filter_map(|v| parse(v).ok())
        .fold((0, 0), |(s, ns), o| match o {
            Offset::Secs(v) => (v, ns),
            Offset::Nanos(v) => (s, v),
        })
}

/// LXC prints the seconds when there are any, else the nanoseconds, each with a newline, and
/// LXC 5.0 puts a space before the unit for the boot offset only (`3600 s`, `0 ns`,
/// `-2s`).
pub fn get_offset(config: &Config, key: &str) -> String {
    let space = if key == BOOT { " " } else { "" };
    match replay(config, key) {
        (0, ns) => format!("{ns}{space}ns\n"),
        (s, _) => format!("{s}{space}s\n"),
    }
}

/// The offset the start writes for `key`, as (seconds, nanoseconds in 0..1e9): the seconds
/// if set (as LXC, which then ignores the nanoseconds), else the nanoseconds, split so that
/// the kernel takes any amount of them.
pub fn offset(config: &Config, key: &str) -> (i64, i64) {
    const NSEC: i64 = 1_000_000_000;
    match replay(config, key) {
        (0, ns) => (ns.div_euclid(NSEC), ns.rem_euclid(NSEC)),
        (s, _) => (s, 0),
    }
}

/// What the child writes: (clock id, key, seconds, nanoseconds) for each offset set.
#[derive(Debug, Clone)]
struct Offsets(Vec<(i32, &'static str, i64, i64)>);

fn hook_err(config: &Config, phase: Phase, key: &str, message: String) -> Error {
    let key = match config.origin_of(key) {
        Some(o) if o.line != 0 => format!("{key} ({o})"),
        _ => key.to_string(),
    };
    Error::Hook {
        phase,
        owner: NAME,
        key: Some(key),
        message,
    }
}

/// PreClone (monitor): with an offset set, LXC makes a time namespace by default; ask the core
/// to leave it out of clone3 so the child can make it with the offsets.
fn request_namespace(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    let offsets: Vec<_> = [
        (libc::CLOCK_BOOTTIME, BOOT),
        (libc::CLOCK_MONOTONIC, MONOTONIC),
    ]
    .into_iter()
    .filter_map(|(clock, key)| match offset(ctx.config, key) {
        (0, 0) => None,
        (s, ns) => Some((clock, key, s, ns)),
    })
    .collect();
    let Some(&(_, first, _, _)) = offsets.first() else {
        return Ok(());
    };
    if lxc_core::keys::typed::namespaces_keep(ctx.config) & libc::CLONE_NEWTIME != 0 {
        return Err(hook_err(
            ctx.config,
            ctx.phase,
            "lxc.namespace.keep",
            format!("keeps the host's time namespace, but {first} asks for a time offset"),
        ));
    }
    NsRequest::add(ctx.state, libc::CLONE_NEWTIME, libc::CLONE_NEWTIME);
    ctx.state.insert(Offsets(offsets));
    Ok(())
}

/// ChildMounts, first (child): unshare the time namespace, write its offsets, enter it.
fn enter_namespace(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    let ours = ctx
        .state
        .get::<NsPlan>()
        .is_some_and(|p| p.in_child & libc::CLONE_NEWTIME != 0);
    if !ours {
        return Ok(());
    }
    let offsets = ctx
        .state
        .get::<Offsets>()
        .cloned()
        .unwrap_or(Offsets(Vec::new()));
    let key = offsets.0.first().map_or(BOOT, |o| o.1);
    let (config, phase) = (ctx.config, ctx.phase);
    let fail = |key: &str, what: &str, e: std::io::Error| {
        hook_err(config, phase, key, format!("{what}: {e}"))
    };
    lxc_core::sys::unshare(libc::CLONE_NEWTIME)
        .map_err(|e| fail(key, "unshare the time namespace", e))?;
    let mut file = OpenOptions::new()
        .write(true)
        .open("/proc/self/timens_offsets")
        .map_err(|e| fail(key, "open /proc/self/timens_offsets", e))?;
    for &(clock, key, s, ns) in &offsets.0 {
        // One write per clock: the kernel takes the whole line or refuses it.
        file.write_all(format!("{clock} {s} {ns}").as_bytes())
            .map_err(|e| {
                fail(
                    key,
                    &format!("write offset {s}s {ns}ns to timens_offsets"),
                    e,
                )
            })?;
        tracing::debug!(key, s, ns, "time namespace offset written");
    }
    drop(file);
    let ns = File::open("/proc/self/ns/time_for_children")
        .map_err(|e| fail(key, "open /proc/self/ns/time_for_children", e))?;
    lxc_core::sys::setns(ns.as_fd(), libc::CLONE_NEWTIME)
        .map_err(|e| fail(key, "enter the time namespace", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_like_lxc() {
        let p = |v| parse_offset("k", v);
        assert_eq!(p("2h").as_deref(), Ok("7200s"));
        assert_eq!(p("-180s").as_deref(), Ok("-180s"));
        assert!(p("-3m").unwrap_err().contains("write it in s"));
        assert!(p("-3us").unwrap_err().contains("write it in ns"));
        assert_eq!(p("10s").as_deref(), Ok("10s"));
        assert_eq!(p("5ms").as_deref(), Ok("5000000ns"));
        assert_eq!(p("7us").as_deref(), Ok("7000ns"));
        assert_eq!(p("+9ns").as_deref(), Ok("9ns"));
        assert_eq!(p("  4 s").as_deref(), Ok("4s"));
        for bad in [
            "",
            "5",
            "s",
            "5x",
            "5sec",
            "5  s",
            "1.5h",
            "-h",
            "9223372036854775807h",
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn replay_keeps_seconds_over_nanos() {
        let mut c = Config::new();
        assert_eq!(get_offset(&c, BOOT), "0 ns\n");
        assert_eq!(get_offset(&c, MONOTONIC), "0ns\n");
        c.set(BOOT, "1h").unwrap();
        c.set(BOOT, "5ms").unwrap();
        assert_eq!(get_offset(&c, BOOT), "3600 s\n");
        assert_eq!(offset(&c, BOOT), (3600, 0));
        c.set(BOOT, "0s").unwrap();
        assert_eq!(get_offset(&c, BOOT), "5000000 ns\n");
        c.set(MONOTONIC, "-1500000000ns").unwrap();
        assert_eq!(offset(&c, MONOTONIC), (-2, 500_000_000));
        c.set(BOOT, "").unwrap();
        assert_eq!(get_offset(&c, BOOT), "0 ns\n");
    }
}
