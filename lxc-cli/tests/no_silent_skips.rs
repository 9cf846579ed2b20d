//! What a config asks for and this build cannot enforce fails the start, with the key and the
//! line, and leaves nothing behind; it is never skipped with only a log line.

mod common;

use common::*;

/// Append `line` to a fresh busybox container's config; `start` must fail with the key, the
/// line's number and each of `says`, and leave nothing behind. The container, for more.
fn start_refuses(test: &str, line: &str, says: &[&str]) -> TestContainer {
    let t = TestContainer::busybox(test);
    t.append_config(&format!("{line}\n"));
    let lines = std::fs::read_to_string(t.config_file())
        .unwrap()
        .lines()
        .count();
    let o = t.lxc(&["start"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(":{lines}")),
        "no line {lines} in: {err}"
    );
    for s in says {
        assert!(err.contains(s), "no {s:?} in: {err}");
    }
    assert_eq!(t.state(), "STOPPED");
    t.assert_nothing_left();
    t
}

#[test]
fn cgroup2_device_rules_without_their_extension_refuse_the_start() {
    require_root!();
    if lxc::has_api_extension("cgroup2_devices") {
        eprintln!("skipped: this build has cgroup2_devices, which enforces the rules");
        return;
    }
    start_refuses(
        "c2dev",
        "lxc.cgroup2.devices.deny = a",
        &["lxc.cgroup2.devices.deny", "cgroup2_devices"],
    );
}

#[test]
fn idmapped_mount_entries_without_their_extension_refuse_the_start() {
    require_root!();
    if lxc::has_api_extension("idmapped_mounts_v2") {
        eprintln!("skipped: this build has idmapped_mounts_v2, which makes these mounts");
        return;
    }
    let t = start_refuses(
        "idmapent",
        "lxc.mount.entry = /tmp mnt none bind,idmap=container 0 0",
        &["idmap=", "idmapped_mounts_v2"],
    );

    // Marked optional, it is left out (not mounted plain) and the container starts.
    let cfg = std::fs::read_to_string(t.config_file()).unwrap();
    std::fs::write(
        t.config_file(),
        cfg.replace("bind,idmap=container", "bind,idmap=container,optional"),
    )
    .unwrap();
    t.ok(&["start"]);
    let mounted = t.ok(&["attach", "--", "cat", "/proc/self/mountinfo"]);
    assert!(
        !mounted.lines().any(|l| l.split(' ').nth(4) == Some("/mnt")),
        "the optional idmapped entry was mounted plain:\n{mounted}"
    );
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}
