//! The container as the host's tools and scripts see it, as LXC 5.0 shows it: a daemonized
//! monitor titled `[lxc monitor] LXCPATH NAME`, execute's pid 1 titled `init` (not the
//! host's `lxc-rs execute ...` command line) with a /dev/console, and the config `create`
//! starts from without `-f` (lxc.conf's `lxc.default_config`). Needs root.

mod common;

use std::fs;
use std::process::Command;

use common::{show, stdout, TestContainer, BIN};

/// The command lines of the host's processes, NULs shown as spaces, with their pids.
fn processes() -> Vec<(i32, String)> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            Some((pid, cmd.trim_end().to_string()))
        })
        .collect()
}

fn parent_of(pid: i32) -> i32 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    rest.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn daemonized_monitor_is_titled_like_lxcs() {
    require_root!();
    let t = TestContainer::busybox("montitle");
    t.ok(&["start"]);
    let init = t.init_pid();
    let title = format!("[lxc monitor] {} {}", t.lxcpath.display(), t.name);
    let monitors: Vec<i32> = processes()
        .into_iter()
        .filter(|(_, cmd)| *cmd == title)
        .map(|(pid, _)| pid)
        .collect();
    // Exactly one (the cleanup watchdog, a fork of the monitor, has a title of its own), and
    // it is init's parent.
    assert_eq!(monitors, [parent_of(init)], "{title:?}: {:?}", processes());
    t.ok(&["stop", "-k"]);
    t.assert_nothing_left();
}

#[test]
fn execute_init_is_a_small_init_with_a_console() {
    require_root!();
    let t = TestContainer::busybox("exectitle");
    let o = t.lxc(&[
        "execute",
        "--",
        "sh",
        "-c",
        "tr '\\0' ' ' < /proc/1/cmdline; echo; ls -l /dev/console; readlink /proc/1/fd/2; \
         echo to-the-console > /dev/console && echo written",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first().map(|l| l.trim_end()), Some("init"), "{out}");
    assert!(!out.contains(t.lxcpath_str()), "host paths inside: {out}");
    // A character device (a pty the monitor holds), init's stderr, and writable.
    assert!(lines.get(1).is_some_and(|l| l.starts_with('c')), "{out}");
    assert_eq!(lines.get(2).copied(), Some("/dev/console"), "{out}");
    assert_eq!(lines.get(3).copied(), Some("written"), "{out}");
    t.assert_nothing_left();
}

/// `lxc.default_config` from lxc.conf (here a test lxc.conf through `LXC_GLOBAL_CONF`, never
/// /etc/lxc): its lines come first in the new config, as lxc-create puts them; a missing
/// file means none.
#[test]
fn default_config_comes_from_lxc_conf() {
    require_root!();
    let t = TestContainer::new("defconf");
    let global = t.lxcpath.join("lxc.conf");
    let default = t.lxcpath.join("default.conf");
    fs::write(
        &default,
        "lxc.environment = FROM_DEFAULT=yes\nlxc.net.0.type = empty\n",
    )
    .unwrap();
    fs::write(
        &global,
        format!("lxc.default_config = {}\n", default.display()),
    )
    .unwrap();
    // Only this test reads the variable; Rust's own env lock orders it with Command spawns.
    std::env::set_var("LXC_GLOBAL_CONF", &global);
    let found = lxc_core::template::default_config_file();
    fs::write(
        &global,
        "lxc.default_config = /nonexistent/lxcrs-t-default.conf\n",
    )
    .unwrap();
    let missing = lxc_core::template::default_config_file();
    std::env::remove_var("LXC_GLOBAL_CONF");
    assert_eq!(found.as_deref(), Some(default.as_path()));
    assert_eq!(missing, None);

    // `lxc-rs create` without -f takes it, as lxc-create does.
    fs::write(
        &global,
        format!("lxc.default_config = {}\n", default.display()),
    )
    .unwrap();
    let o = Command::new(BIN)
        .env("LXC_GLOBAL_CONF", &global)
        .args([
            "create",
            "-n",
            &t.name,
            "-P",
            t.lxcpath_str(),
            "-t",
            "busybox",
        ])
        .output()
        .expect("run lxc-rs");
    assert!(o.status.success(), "{}", show(&o));
    let cfg = fs::read_to_string(t.config_file()).unwrap();
    let env = cfg
        .find("lxc.environment = FROM_DEFAULT=yes")
        .expect("default's line");
    let rootfs = cfg.find("lxc.rootfs.path").expect("template's line");
    assert!(env < rootfs, "{cfg}");
    let o = t.lxc(&["execute", "--", "sh", "-c", "echo $FROM_DEFAULT"]);
    assert_eq!(stdout(&o).trim(), "yes", "{}", show(&o));
    t.assert_nothing_left();
}
