//! Config values are bytes: `lxc-rs config set`, `-s` and config files take values that are
//! not UTF-8, `config get` prints them as they are, and a start hands the same bytes to the
//! kernel (the hostname, the rootfs path). Also: reports quote only a bounded part of a value.

mod common;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::Command;

use common::{show, TestContainer, BIN};

const NAME: &[u8] = b"prb\xff\xfe";

fn os(b: &[u8]) -> OsString {
    OsString::from_vec(b.to_vec())
}

/// `lxc-rs <command> -n NAME -P LXCPATH <rest...>` with arguments that need not be UTF-8.
fn run(t: &TestContainer, command: &str, rest: &[&OsStr]) -> std::process::Output {
    Command::new(BIN)
        .arg(command)
        .args(["-n", &t.name, "-P", t.lxcpath_str()])
        .args(rest)
        .output()
        .expect("run lxc-rs")
}

#[test]
fn config_set_and_get_keep_the_bytes() {
    let t = TestContainer::new("bytes-set");
    let dir = t.lxcpath.join(&t.name);
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(t.config_file(), b"# caf\xe9\nlxc.tty.max = 1\n").expect("write");
    let o = run(
        &t,
        "config",
        &[OsStr::new("set"), OsStr::new("lxc.uts.name"), &os(NAME)],
    );
    assert!(o.status.success(), "{}", show(&o));
    let o = run(
        &t,
        "config",
        &[OsStr::new("get"), OsStr::new("lxc.uts.name")],
    );
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(o.stdout, [NAME, b"\n"].concat());
    // `info -c` prints them as they are too.
    let o = run(&t, "info", &[OsStr::new("-c"), OsStr::new("lxc.uts.name")]);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(o.stdout, [b"lxc.uts.name = ", NAME, b"\n"].concat());
    // The saved file holds the bytes, and the comment's Latin-1 byte survived the rewrite.
    let saved = fs::read(t.config_file()).expect("read");
    assert!(saved.starts_with(b"# caf\xe9\n"), "{saved:?}");
    assert!(
        saved
            .windows(NAME.len() + 15)
            .any(|w| w == [b"lxc.uts.name = ", NAME].concat()),
        "{:?}",
        String::from_utf8_lossy(&saved)
    );
    // `-s` takes bytes too.
    let define = os(&[b"lxc.uts.name=".as_slice(), b"x\xe9"].concat());
    let o = run(
        &t,
        "config",
        &[
            OsStr::new("get"),
            OsStr::new("lxc.uts.name"),
            OsStr::new("-s"),
            &define,
        ],
    );
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(o.stdout, b"x\xe9\n");
}

#[test]
fn config_check_json_quotes_a_bounded_value() {
    let t = TestContainer::new("bytes-check");
    let file = t.lxcpath.join("big.conf");
    let huge = "7".repeat(6 << 20);
    fs::write(&file, format!("lxc.tty.max = x{huge}\nlxc.{huge}\n")).expect("write");
    let o = Command::new(BIN)
        .args(["config", "check", "--json"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stdout.len() < 4096, "report is {} bytes", o.stdout.len());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["problems"].as_array().map(Vec::len), Some(2), "{v}");
    let o = Command::new(BIN)
        .args(["config", "check"])
        .arg(&file)
        .output()
        .expect("run");
    assert!(o.stdout.len() < 4096, "report is {} bytes", o.stdout.len());
}

#[test]
fn hostname_with_bytes_reaches_the_kernel() {
    require_root!();
    let t = TestContainer::busybox("bytes-uts");
    let o = run(
        &t,
        "config",
        &[OsStr::new("set"), OsStr::new("lxc.uts.name"), &os(NAME)],
    );
    assert!(o.status.success(), "{}", show(&o));
    let o = t.lxc(&["execute", "--", "cat", "/proc/sys/kernel/hostname"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(o.stdout, [NAME, b"\n"].concat());
    // Also through -s, and as uname(2) gives it.
    let define = os(&[b"lxc.uts.name=".as_slice(), b"u\xe9"].concat());
    let o = run(
        &t,
        "execute",
        &[
            OsStr::new("-s"),
            &define,
            OsStr::new("--"),
            OsStr::new("uname"),
            OsStr::new("-n"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(o.stdout, b"u\xe9\n");
    // lxc.environment and lxc.init.cwd reach init as their bytes.
    let cwd = t
        .lxcpath
        .join(&t.name)
        .join("rootfs")
        .join(OsStr::from_bytes(b"d\xe9"));
    fs::create_dir(&cwd).expect("mkdir in the rootfs");
    for (key, value) in [
        ("lxc.environment", &b"X=v\xff"[..]),
        ("lxc.init.cwd", &b"/d\xe9"[..]),
    ] {
        let o = run(
            &t,
            "config",
            &[OsStr::new("set"), OsStr::new(key), &os(value)],
        );
        assert!(o.status.success(), "{}", show(&o));
    }
    let o = t.lxc(&[
        "execute",
        "--",
        "sh",
        "-c",
        "printf '%s|%s' \"$X\" \"$(pwd)\"",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(o.stdout, b"v\xff|/d\xe9");
    t.assert_nothing_left();
}

#[test]
fn rootfs_path_with_a_latin1_byte_starts() {
    require_root!();
    let t = TestContainer::busybox("bytes-rootfs");
    let dir = t.lxcpath.join(&t.name);
    let latin = dir.join(OsStr::from_bytes(b"rootfs-caf\xe9"));
    fs::rename(dir.join("rootfs"), &latin).expect("rename the rootfs");
    let cfg = fs::read(t.config_file()).expect("read");
    let old = [b"dir:", dir.join("rootfs").as_os_str().as_bytes()].concat();
    let new = [b"dir:", latin.as_os_str().as_bytes()].concat();
    let mut out = Vec::new();
    let mut rest = &cfg[..];
    while let Some(i) = rest.windows(old.len()).position(|w| w == old) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(&new);
        rest = &rest[i + old.len()..];
    }
    out.extend_from_slice(rest);
    assert_ne!(out, cfg, "the config names the rootfs");
    // A hook whose path has a Latin-1 byte, which sees the rootfs path's bytes.
    let hook = t.lxcpath.join(OsStr::from_bytes(b"hook-\xe9.sh"));
    let seen = t.lxcpath.join("seen");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\nprintf %s \"$LXC_ROOTFS_PATH\" > {}\n",
            seen.display()
        ),
    )
    .expect("write hook");
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod hook");
    out.extend_from_slice(b"lxc.hook.pre-start = ");
    out.extend_from_slice(hook.as_os_str().as_bytes());
    out.push(b'\n');
    fs::write(t.config_file(), &out).expect("write");
    let o = t.lxc(&["execute", "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert_eq!(
        fs::read(&seen).expect("the hook ran"),
        latin.as_os_str().as_bytes()
    );
    let o = t.lxc(&["start"]);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(t.state(), "RUNNING");
    let o = t.lxc(&["stop", "-k"]);
    assert!(o.status.success(), "{}", show(&o));
    t.assert_nothing_left();
}
