//! `time_namespace` on real containers: `lxc.time.offset.*` shift the container's
//! CLOCK_BOOTTIME and CLOCK_MONOTONIC, and without the extension the keys refuse the config.
//! Needs root. Run with `cargo test -p lxc-cli --test time_namespace`.

mod common;

use std::fs;

use common::{lxc_rs, show, stderr, stdout, TestContainer};

/// Seconds since boot as /proc/uptime says (the time namespace's CLOCK_BOOTTIME).
fn uptime(text: &str) -> f64 {
    text.split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not /proc/uptime: {text:?}"))
}

fn ns_link(pid: i32, ns: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/ns/{ns}: {e}"))
        .display()
        .to_string()
}

/// A boot offset of 10 days: the container's uptime is the host's plus 10 days, its init is in
/// a time namespace of its own, and the offsets the kernel holds are the configured ones.
#[test]
fn boot_and_monotonic_offsets_reach_the_container() {
    require_root!();
    if !lxc::has_api_extension("time_namespace") {
        eprintln!("skipped: this build lacks time_namespace (keys refused: see the other test)");
        return;
    }
    let t = TestContainer::busybox("timens");
    t.append_config("lxc.time.offset.boot = 240h\nlxc.time.offset.monotonic = -1500000000ns\n");
    let cfg = t.config_file();
    let get = lxc_rs(&[
        "config",
        "get",
        "-f",
        cfg.to_str().unwrap(),
        "lxc.time.offset.boot",
    ]);
    assert_eq!(stdout(&get).trim(), "864000 s", "{}", show(&get));

    let before = uptime(&fs::read_to_string("/proc/uptime").unwrap());
    let o = t.lxc(&["execute", "--", "cat", "/proc/uptime"]);
    let after = uptime(&fs::read_to_string("/proc/uptime").unwrap());
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let inside = uptime(&stdout(&o));
    let shift = 240.0 * 3600.0;
    // Ordering only (no timing bound): the container's clock read lies between the host's two
    // reads, shifted by exactly the offset.
    assert!(
        inside >= before + shift - 0.01 && inside <= after + shift + 0.01,
        "inside {inside}, host {before}..{after}: {}",
        show(&o)
    );

    // A running container: its init is in a new time namespace holding both offsets.
    t.ok(&["start"]);
    let pid = t.init_pid();
    assert_ne!(
        ns_link(pid, "time"),
        ns_link(std::process::id() as i32, "time")
    );
    let offsets = fs::read_to_string(format!("/proc/{pid}/timens_offsets")).unwrap();
    let mut lines: Vec<&str> = offsets.lines().map(str::trim).collect();
    lines.sort_unstable();
    let mut want: Vec<String> = offsets
        .lines()
        .map(|l| {
            let clock = l.split_whitespace().next().unwrap();
            match clock {
                "boottime" | "7" => format!("{clock} 864000 0"),
                _ => format!("{clock} -2 500000000"),
            }
        })
        .collect();
    want.sort_unstable();
    let got: Vec<String> = lines
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(got, want, "timens_offsets of init: {offsets}");
    // What an attached process sees is the container's clock too.
    let o = t.lxc(&["attach", "--", "cat", "/proc/uptime"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(uptime(&stdout(&o)) >= shift, "{}", show(&o));
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

/// Without offsets no time namespace is made (LXC's default), and keeping the host's time
/// namespace while asking for an offset refuses the start, naming the key.
#[test]
fn offsets_and_keep_time_refuse_the_start() {
    require_root!();
    if !lxc::has_api_extension("time_namespace") {
        eprintln!("skipped: this build lacks time_namespace");
        return;
    }
    let t = TestContainer::busybox("timenskeep");
    let o = t.lxc(&["execute", "--", "readlink", "/proc/self/ns/time"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(
        stdout(&o).trim(),
        ns_link(std::process::id() as i32, "time"),
        "no offsets: the host's time namespace"
    );
    t.append_config("lxc.time.offset.boot = 1h\nlxc.namespace.keep = time\n");
    let o = t.lxc(&["execute", "--", "true"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    assert!(err.contains("lxc.namespace.keep"), "{err}");
    assert!(err.contains("lxc.time.offset.boot"), "{err}");
    t.assert_nothing_left();
}

/// A build without time_namespace refuses the keys as "not supported by this build".
#[test]
fn without_the_extension_the_keys_are_not_in_the_build() {
    if lxc::has_api_extension("time_namespace") {
        eprintln!("skipped: this build has time_namespace (see the facade's features test)");
        return;
    }
    let t = TestContainer::new("timensoff");
    let cfg = t.lxcpath.join("offset.conf");
    fs::write(&cfg, "lxc.time.offset.boot = 1h\n").unwrap();
    let o = lxc_rs(&[
        "config",
        "get",
        "-f",
        cfg.to_str().unwrap(),
        "lxc.time.offset.boot",
    ]);
    assert_ne!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        stderr(&o).contains("not supported by this build"),
        "{}",
        show(&o)
    );
}

/// In an unprivileged container the time namespace belongs to the container's user namespace
/// (made after it, as LXC does), and the offset still reaches the container.
#[test]
fn offsets_reach_an_unprivileged_container() {
    require_root!();
    if !lxc::has_api_extension("time_namespace") {
        eprintln!("skipped: this build lacks time_namespace");
        return;
    }
    let t = TestContainer::new("timensuser");
    t.ok(&[
        "create",
        "-t",
        "busybox",
        "--idmap",
        "u 0 100000 65536",
        "--idmap",
        "g 0 100000 65536",
    ]);
    t.append_config("lxc.time.offset.boot = 1000000s\n");
    let before = uptime(&fs::read_to_string("/proc/uptime").unwrap());
    let o = t.lxc(&["execute", "--", "cat", "/proc/uptime"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let inside = uptime(&stdout(&o));
    assert!(
        inside >= before + 1_000_000.0 - 0.01,
        "inside {inside}, host {before}"
    );
    t.ok(&["start"]);
    let pid = t.init_pid();
    // The container's root owns its time namespace: the owner of init's time namespace is
    // init's user namespace, not the host's.
    assert_ne!(
        ns_link(pid, "time"),
        ns_link(std::process::id() as i32, "time")
    );
    assert_ne!(
        ns_link(pid, "user"),
        ns_link(std::process::id() as i32, "user")
    );
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}
