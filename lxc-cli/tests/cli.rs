//! The `lxc-rs` binary, run as a user runs it: real files under /tmp, the real kernel.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_lxc-rs");

/// The tests' lxc.conf (see tests/common/mod.rs): no host default config for `create`.
const TEST_GLOBAL_CONF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lxc.conf");

fn lxc_rs(args: &[&str]) -> Output {
    Command::new(BIN)
        .env("LXC_GLOBAL_CONF", TEST_GLOBAL_CONF)
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run lxc-rs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A directory `/tmp/lxcrs-t-<name>-<pid>`, removed on drop together with the container lock
/// directory made for it as an lxcpath (`/run/lxc/lock/tmp/lxcrs-t-...`).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = PathBuf::from(format!("/tmp/lxcrs-t-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn s(&self) -> &str {
        self.0.to_str().unwrap()
    }
    /// Define a container: `<dir>/<name>/config` with `text`.
    fn container(&self, name: &str, text: &str) -> PathBuf {
        let d = self.0.join(name);
        fs::create_dir_all(&d).unwrap();
        let f = d.join("config");
        fs::write(&f, text).unwrap();
        f
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
        let rel = self.0.strip_prefix("/").unwrap_or(&self.0);
        let _ = fs::remove_dir_all(Path::new("/run/lxc/lock").join(rel));
        assert!(!self.0.exists(), "{} left behind", self.0.display());
    }
}

#[test]
fn extensions_lists_the_linked_extensions() {
    let o = lxc_rs(&["extensions"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    if cfg!(feature = "lxc_log") {
        assert!(lines.iter().any(|l| l == "lxc_log"), "{lines:?}");
    }
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "extensions are listed sorted");

    let o = lxc_rs(&["extensions", "--json"]);
    assert!(o.status.success());
    let json: Vec<String> = serde_json::from_slice(&o.stdout).expect("a JSON array of strings");
    assert_eq!(json, lines);
}

/// Is `key` supported by this build?
fn supported(dir: &TempDir, key: &str) -> bool {
    let empty = dir.path().join("empty.conf");
    fs::write(&empty, "").unwrap();
    let o = lxc_rs(&["config", "get", "-f", empty.to_str().unwrap(), key]);
    !stderr(&o).contains("not supported by this build")
}

#[test]
fn config_check_reports_every_mistake_with_file_and_line() {
    let dir = TempDir::new("check");
    let inc = dir.path().join("inc.conf");
    fs::write(&inc, "# included\nlxc.tty.max = two\n").unwrap();
    let conf = dir.path().join("bad.conf");
    let text = format!(
        "# ten mistakes\n\
         lxc.uts.name = fine\n\
         lxc.foo.bar = 1\n\
         lxc.seccomp.profile = /etc/lxcrs-none\n\
         lxc.tty.max = many\n\
         lxc.pty.max\n\
         lxc.include = {missing}\n\
         lxc.net.0.type = veth\n\
         lxc.pty.max = -1\n\
         lxc.tty.max = 99999999999\n\
         lxc.sysctl = x\n\
         lxc.include = {inc}\n",
        missing = dir.path().join("missing.conf").display(),
        inc = inc.display(),
    );
    fs::write(&conf, text).unwrap();
    let c = conf.to_str().unwrap();
    let i = inc.to_str().unwrap();

    // The two keys of subsystems not written yet stop being mistakes once they are linked.
    let mut expected: Vec<(String, &str)> = vec![
        (format!("{c}:3:"), "lxc.foo.bar: unknown configuration key"),
        (
            format!("{c}:5:"),
            "lxc.tty.max: invalid value \"many\": expected an unsigned",
        ),
        (
            format!("{c}:6:"),
            "expected `lxc.key = value`, found \"lxc.pty.max\"",
        ),
        (format!("{c}:7:"), "missing.conf: No such file or directory"),
        (format!("{c}:9:"), "lxc.pty.max: invalid value \"-1\""),
        (
            format!("{c}:10:"),
            "lxc.tty.max: invalid value \"99999999999\"",
        ),
        (format!("{c}:11:"), "lxc.sysctl: invalid value \"x\""),
        (format!("{i}:2:"), "lxc.tty.max: invalid value \"two\""),
    ];
    // With lxc-seccomp linked, the policy file is read: it does not exist.
    expected.push((
        format!("{c}:4:"),
        if supported(&dir, "lxc.seccomp.profile") {
            "lxc.seccomp.profile: \"/etc/lxcrs-none\" cannot work at start"
        } else {
            "lxc.seccomp.profile: not supported by this build"
        },
    ));
    if !supported(&dir, "lxc.net.0.type") {
        expected.push((
            format!("{c}:8:"),
            "lxc.net.0.type: not supported by this build",
        ));
    }

    let o = lxc_rs(&["config", "check", c]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), expected.len(), "one line per problem:\n{out}");
    for (prefix, text) in &expected {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(prefix.as_str()) && l.contains(text)),
            "no line `{prefix} ...{text}...` in:\n{out}"
        );
    }
    assert!(
        !out.contains("Error {") && !stderr(&o).contains("Error {"),
        "no Debug dump"
    );

    let o = lxc_rs(&["config", "check", "--json", c]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), expected.len());
    for p in problems {
        assert!(p["line"].as_u64().is_some_and(|l| l > 0), "{p}");
        assert!(p["file"].as_str().is_some(), "{p}");
        assert!(
            p["key"].as_str().is_some_and(|k| k.starts_with("lxc.")),
            "{p}"
        );
    }
    let tty = problems.iter().find(|p| p["line"] == 5).unwrap();
    assert_eq!(tty["key"], "lxc.tty.max");
    assert!(
        tty["expected"]
            .as_str()
            .is_some_and(|e| e.starts_with("an unsigned integer")),
        "{tty}"
    );
}

#[test]
fn config_check_accepts_a_good_file_and_applies_defines() {
    let dir = TempDir::new("check-ok");
    let conf = dir.container("web", "# fine\nlxc.uts.name = web\nlxc.tty.max = 4\n");
    let c = conf.to_str().unwrap();
    let o = lxc_rs(&["config", "check", c]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(stdout(&o), format!("{c}: ok\n"));

    // By container name, with a bad override: the problem names where it came from.
    let o = lxc_rs(&[
        "config",
        "check",
        "-P",
        dir.s(),
        "-n",
        "web",
        "-s",
        "lxc.tty.max=x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with("-s:1: lxc.tty.max: invalid value"),
        "{}",
        stdout(&o)
    );

    // A file that cannot be read is the command failing, reported on stderr.
    let missing = dir.path().join("nope.conf");
    let o = lxc_rs(&["config", "check", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with(&format!("lxc-rs: config check {}: ", missing.display())),
        "{}",
        stderr(&o)
    );
}

#[test]
fn config_check_finds_what_cannot_start() {
    let dir = TempDir::new("check-start");
    let nr_open: u64 = fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 20);
    let conf = dir.path().join("config");
    let text = format!(
        "lxc.uts.name = web\n\
         lxc.signal.halt = 99999\n\
         lxc.signal.stop = SIGKILL\n\
         lxc.net.99999999999.type = veth\n\
         lxc.prlimit.bogus = 10\n\
         lxc.prlimit.nofile = 10:5\n\
         lxc.prlimit.nproc = {big}\n\
         lxc.prlimit.7 = {big}\n\
         lxc.cgroup.memory.../../x = 1\n\
         lxc.cgroup2.../x = 1\n\
         lxc.cgroup.memory.limit_in_bytes = 1G\n\
         lxc.proc.../x = 1\n\
         lxc.proc.oom_score_adj = 10\n\
         lxc.tty.max = 100000000\n",
        big = nr_open + 1
    );
    fs::write(&conf, text).unwrap();
    let c = conf.to_str().unwrap();
    let o = lxc_rs(&["config", "check", c]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    // lxc.cgroup2.* is the cgroup2 extension's: a build without it names the feature instead.
    let cgroup2 = lxc::has_api_extension("cgroup2");
    let cgroup2_line = if cgroup2 {
        "lxc.cgroup2.../x: "
    } else {
        "lxc.cgroup2.../x: not supported by this build (needs feature cgroup2)"
    };
    let expected: &[(usize, &str)] = &[
        (2, "lxc.signal.halt: \"99999\" cannot work at start: expected a signal the kernel has"),
        (4, "lxc.net.99999999999.type: invalid value \"veth\": expected a network index below"),
        (5, "lxc.prlimit.bogus: \"10\" cannot work at start: expected a resource"),
        (6, "lxc.prlimit.nofile: \"10:5\" cannot work at start: expected a soft limit no larger than the hard one"),
        (8, "lxc.prlimit.7: "),
        (9, "lxc.cgroup.memory.../../x: \"1\" cannot work at start: expected a key naming one file"),
        (10, cgroup2_line),
        (12, "lxc.proc.../x: \"1\" cannot work at start: expected a file directly in /proc/<pid>/"),
        (14, "lxc.tty.max: \"100000000\" cannot work at start: expected at most this host's kernel.pty.max"),
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), expected.len(), "one line per problem:\n{out}");
    for (line, text) in expected {
        let prefix = format!("{c}:{line}: ");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&prefix) && l[prefix.len()..].starts_with(text)),
            "no line `{prefix}{text}...` in:\n{out}"
        );
    }
    assert!(out.contains(&format!("fs.nr_open ({nr_open})")), "{out}");
    assert_eq!(
        out.matches("not supported by this build").count(),
        usize::from(!cgroup2),
        "{out}"
    );

    let o = lxc_rs(&["config", "check", "--json", c]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let halt = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "lxc.signal.halt")
        .expect("a problem for lxc.signal.halt");
    assert_eq!(halt["line"], 2);
    assert_eq!(halt["file"], c);
    assert!(
        halt["expected"]
            .as_str()
            .is_some_and(|e| e.starts_with("a signal the kernel has: 1 to 64")),
        "{halt}"
    );

    // Fixed, it is fine; LXC's accepted spellings of signals stay accepted.
    let good = dir.path().join("good");
    fs::write(
        &good,
        "lxc.signal.halt = SIGRTMIN+3\nlxc.signal.reboot = sigrtmax-0\nlxc.signal.stop = 0\n\
         lxc.prlimit.nofile = 1024:4096\nlxc.prlimit.core = unlimited\n",
    )
    .unwrap();
    let o = lxc_rs(&["config", "check", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // `config set` takes such a value, as LXC's setter does, and warns about it.
    let g = good.to_str().unwrap();
    let o = lxc_rs(&["config", "set", "-f", g, "lxc.signal.halt", "99999"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        // The file and line the value now has (the warning reads the saved file back).
        stderr(&o).starts_with(&format!(
            "lxc-rs: config set: warning: {g}:1: lxc.signal.halt: \"99999\" cannot work at start"
        )),
        "{}",
        stderr(&o)
    );
    let o = lxc_rs(&["config", "get", "-f", g, "lxc.signal.halt"]);
    assert_eq!(stdout(&o), "99999\n");
    let o = lxc_rs(&["config", "set", "-f", g, "lxc.signal.halt", "SIGPWR"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stderr(&o), "");
}

#[test]
fn start_refuses_what_cannot_start_before_making_anything() {
    let dir = TempDir::new("start-check");
    let name = format!("lxcrs-t-start-check-{}", std::process::id());
    let marker = dir.path().join("pre-start-ran");
    // Were the checks not first, start would fail on the missing rootfs (or run the hook).
    let conf = dir.container(
        &name,
        &format!(
            "lxc.uts.name = x\n\
             lxc.rootfs.path = dir:/nonexistent-lxcrs-t-rootfs\n\
             lxc.hook.pre-start = /bin/touch {}\n\
             lxc.signal.halt = 99999\n\
             lxc.proc.../x = 1\n",
            marker.display()
        ),
    );
    for cmd in ["start", "execute"] {
        let mut args = vec![cmd, "-P", dir.s(), "-n", &name];
        if cmd == "execute" {
            args.extend(["--", "/bin/true"]);
        }
        let o = lxc_rs(&args);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {}", stderr(&o));
        let err = stderr(&o);
        let c = conf.display();
        assert!(
            err.starts_with(&format!("lxc-rs: {cmd} {name}: ")),
            "{cmd}: {err}"
        );
        assert!(
            err.contains(&format!(
                "{c}:4: lxc.signal.halt: \"99999\" cannot work at start"
            )),
            "{cmd}: {err}"
        );
        assert!(
            err.contains(&format!("{c}:5: lxc.proc.../x")),
            "{cmd}: {err}"
        );
        assert!(!err.contains("nonexistent-lxcrs-t-rootfs"), "{cmd}: {err}");
        assert!(!marker.exists(), "{cmd}: the pre-start hook ran");
    }
    // Nothing was made: no cgroup with the container's name in any hierarchy.
    for h in fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        let mut stack = vec![h.path()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    let p = e.path();
                    assert!(
                        !p.to_string_lossy().contains(&name),
                        "{} was made",
                        p.display()
                    );
                    stack.push(p);
                }
            }
        }
    }
}

#[test]
fn config_set_get_clear_round_trip() {
    let dir = TempDir::new("roundtrip");
    let conf = dir.container("web", "# web's config\nlxc.uts.name = web\n");
    let p = dir.s();

    let o = lxc_rs(&["config", "set", "-P", p, "-n", "web", "lxc.tty.max", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let saved = fs::read_to_string(&conf).unwrap();
    assert_eq!(
        saved,
        "# web's config\nlxc.uts.name = web\nlxc.tty.max = 4\n"
    );

    // Global options go before or after the subcommand, as with LXC's tools.
    for args in [
        vec!["config", "get", "-P", p, "-n", "web", "lxc.tty.max"],
        vec!["-P", p, "-n", "web", "config", "get", "lxc.tty.max"],
        vec!["--lxcpath", p, "config", "get", "lxc.tty.max", "--name=web"],
    ] {
        let o = lxc_rs(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), "4\n", "{args:?}");
    }

    // -s overrides what is read, never what is saved.
    let o = lxc_rs(&[
        "config",
        "get",
        "-P",
        p,
        "-n",
        "web",
        "-s",
        "lxc.tty.max=7",
        "lxc.tty.max",
    ]);
    assert_eq!(stdout(&o), "7\n");
    let o = lxc_rs(&[
        "config",
        "set",
        "-P",
        p,
        "-n",
        "web",
        "-s",
        "lxc.tty.max=7",
        "lxc.tty.max",
        "5",
    ]);
    // A usage error: exit status 1, as LXC's tools.
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("Usage:"), "{}", stderr(&o));

    let o = lxc_rs(&["config", "clear", "-P", p, "-n", "web", "lxc.tty.max"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(&conf).unwrap(),
        "# web's config\nlxc.uts.name = web\n"
    );
    // Cleared reads like never set (LXC prints its default for some keys).
    dir.container("plain", "lxc.uts.name = plain\n");
    let o = lxc_rs(&["config", "get", "-P", p, "-n", "web", "lxc.tty.max"]);
    assert!(o.status.success());
    let never_set = lxc_rs(&["config", "get", "-P", p, "-n", "plain", "lxc.tty.max"]);
    assert_eq!(stdout(&o), stdout(&never_set));
    assert_ne!(stdout(&o), "4\n");

    // A bad value is refused, and the file is left alone.
    let o = lxc_rs(&["config", "set", "-P", p, "-n", "web", "lxc.tty.max", "lots"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with(
            "lxc-rs: config set web: lxc.tty.max: invalid value \"lots\": expected an unsigned integer"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "one line, no Debug dump");
    assert_eq!(
        fs::read_to_string(&conf).unwrap(),
        "# web's config\nlxc.uts.name = web\n"
    );
}

#[test]
fn config_on_a_plain_file_with_rcfile() {
    let dir = TempDir::new("rcfile");
    let f = dir.path().join("my.conf");
    fs::write(&f, "lxc.uts.name = box\n").unwrap();
    let fs_ = f.to_str().unwrap();
    let o = lxc_rs(&["config", "set", "-f", fs_, "lxc.pty.max", "16"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "lxc.uts.name = box\nlxc.pty.max = 16\n"
    );
    let o = lxc_rs(&["config", "get", "-f", fs_, "lxc.pty.max"]);
    assert_eq!(stdout(&o), "16\n");
}

#[test]
fn config_errors_and_usage() {
    let dir = TempDir::new("errors");
    let o = lxc_rs(&["config", "get", "-P", dir.s(), "-n", "ghost", "lxc.tty.max"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "lxc-rs: config get ghost: container ghost is not defined in {}\n",
            dir.s()
        )
    );

    dir.container("web", "lxc.uts.name = web\n");
    let o = lxc_rs(&["config", "get", "-P", dir.s(), "-n", "web", "lxc.nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "lxc-rs: config get web: lxc.nope: unknown configuration key\n"
    );

    // Usage errors exit 1, as LXC's tools (with the usage line): no container, a -s without
    // '=', an unknown log priority, a missing value.
    for args in [
        vec!["config", "get", "lxc.tty.max"],
        vec!["config", "get", "-n", "web", "-s", "novalue", "lxc.tty.max"],
        vec!["-l", "LOUD", "ls"],
        vec!["config", "set", "-n", "web", "lxc.tty.max"],
    ] {
        let o = lxc_rs(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("error: "),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn config_keys_and_global() {
    let o = lxc_rs(&["config", "keys"]);
    assert!(o.status.success());
    let keys = stdout(&o);
    assert!(keys.lines().any(|k| k == "lxc.tty.max"), "{keys}");
    let o = lxc_rs(&["config", "keys", "lxc.sysctl"]);
    assert!(stdout(&o).lines().all(|k| k.starts_with("lxc.sysctl")));
    assert!(!stdout(&o).is_empty());

    let dir = TempDir::new("global");
    let g = dir.path().join("lxc.conf");
    fs::write(&g, "lxc.lxcpath = /srv/lxcrs-t-elsewhere\n").unwrap();
    let out = Command::new(BIN)
        .args(["config", "global", "lxc.lxcpath"])
        .env("LXC_GLOBAL_CONF", &g)
        .env_remove("LXC_LXCPATH")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(stdout(&out), "/srv/lxcrs-t-elsewhere\n");

    let o = lxc_rs(&["config", "global"]);
    assert!(stdout(&o).lines().any(|l| l == "lxc.cgroup.pattern"));
    let o = lxc_rs(&["config", "global", "lxc.nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("lxc-rs: config global lxc.nope: unknown global"));
}

#[test]
fn ls_lists_defined_containers() {
    let dir = TempDir::new("ls");
    dir.container("b", "lxc.uts.name = b\n");
    dir.container("a", "lxc.uts.name = a\n");
    fs::create_dir_all(dir.path().join("not-a-container")).unwrap();
    let o = lxc_rs(&["ls", "-P", dir.s()]);
    assert!(o.status.success(), "{}", stderr(&o));
    // As lxc-ls with no terminal: each name padded to the widest (at least NAME's 4), one a
    // line; -1 gives them bare.
    assert_eq!(stdout(&o), "a   \nb   \n");
    let o = lxc_rs(&["ls", "-P", dir.s(), "-1"]);
    assert_eq!(stdout(&o), "a\nb\n");
    let o = lxc_rs(&["ls", "-P", dir.s(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            {"name": "a", "state": "STOPPED", "runtime": null, "pid": null},
            {"name": "b", "state": "STOPPED", "runtime": null, "pid": null}
        ])
    );
    // lxc-ls's table: every cell padded and followed by a space.
    let o = lxc_rs(&["ls", "-P", dir.s(), "--fancy"]);
    assert_eq!(
        stdout(&o),
        "NAME STATE   AUTOSTART GROUPS IPV4 IPV6 UNPRIVILEGED \n\
         a    STOPPED 0         -      -    -    false        \n\
         b    STOPPED 0         -      -    -    false        \n"
    );
    let o = lxc_rs(&["ls", "-P", dir.s(), "-F", "name,pid"]);
    assert_eq!(stdout(&o), "NAME PID \na    -   \nb    -   \n");
    let o = lxc_rs(&["ls", "-P", dir.s(), "--running"]);
    assert_eq!(stdout(&o), "");
    let o = lxc_rs(&["ls", "-P", dir.s(), "--stopped"]);
    assert_eq!(stdout(&o), "a   \nb   \n");
    // A broken config hides nothing: ls reads no config.
    dir.container("c", "lxc.nope = 1\n");
    let o = lxc_rs(&["ls", "-P", dir.s(), "--stopped"]);
    assert_eq!(stdout(&o), "a   \nb   \nc   \n", "{}", stderr(&o));
}

#[test]
fn lifecycle_usage_errors_and_stopped_containers() {
    let dir = TempDir::new("lcusage");
    dir.container("web", "lxc.uts.name = web\n");
    let p = dir.s();
    // Usage errors exit 1 (LXC's tools' status), with the usage line, before anything is done.
    for args in [
        vec!["start"],
        vec!["-f", "x.conf", "destroy", "-n", "web"],
        vec!["-s", "lxc.tty.max=1", "stop", "-n", "web"],
        vec!["wait", "-n", "web", "-s", "SLEEPING"],
        vec!["wait", "-n", "web"],
        vec!["stop", "-n", "web", "-k", "-t", "5"],
        vec!["stop", "-n", "web", "-k", "--nokill"],
        vec!["start", "-n", "web", "-F", "-d"],
        vec!["create", "-n", "web"],
    ] {
        let o = lxc_rs(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("error: "),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // Not running: stop says so with lxc-stop's status 2; state and info say STOPPED.
    let o = lxc_rs(&["stop", "-P", p, "-n", "web"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "lxc-rs: stop web: web is not running\n");
    let o = lxc_rs(&["state", "-P", p, "-n", "web"]);
    assert_eq!(stdout(&o), "STOPPED\n");
    let o = lxc_rs(&["info", "-P", p, "-n", "web", "-s"]);
    assert_eq!(stdout(&o), "State:          STOPPED\n");
    let o = lxc_rs(&["info", "-P", p, "-n", "web", "-s", "-H"]);
    assert_eq!(stdout(&o), "STOPPED\n");
    let o = lxc_rs(&["info", "-P", p, "-n", "web", "-c", "lxc.uts.name", "-H"]);
    assert_eq!(stdout(&o), "web\n");
    let o = lxc_rs(&["info", "-P", p, "-n", "web", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let config = format!("{p}/web/config");
    assert_eq!(
        v,
        serde_json::json!({"name": "web", "state": "STOPPED", "runtime": null, "pid": null,
                           "ips": [], "cgroups": [], "config_file": config})
    );
    // wait: STOPPED is there at once; RUNNING times out with status 1.
    let o = lxc_rs(&[
        "wait",
        "-P",
        p,
        "-n",
        "web",
        "-s",
        "RUNNING|STOPPED",
        "-t",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = lxc_rs(&["wait", "-P", p, "-n", "web", "-s", "RUNNING", "-t", "0"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "lxc-rs: wait web: timed out waiting for RUNNING\n"
    );
    // A container that does not exist.
    for cmd in ["state", "info", "destroy"] {
        let o = lxc_rs(&[cmd, "-P", p, "-n", "ghost"]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        assert_eq!(
            stderr(&o),
            format!("lxc-rs: {cmd} ghost: container ghost is not defined in {p}\n")
        );
    }
    // create: an unknown template is refused and leaves nothing.
    let o = lxc_rs(&["create", "-P", p, "-n", "new", "-t", "debian"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown template"), "{}", stderr(&o));
    assert!(!dir.path().join("new").exists());
    // create -t none with a base config, then destroy.
    let base = dir.path().join("base.conf");
    fs::write(&base, "lxc.tty.max = 3\n").unwrap();
    let o = lxc_rs(&[
        "create",
        "-P",
        p,
        "-n",
        "new",
        "-t",
        "none",
        "-f",
        base.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = lxc_rs(&["config", "get", "-P", p, "-n", "new", "lxc.tty.max"]);
    assert_eq!(stdout(&o), "3\n");
    let o = lxc_rs(&["destroy", "-P", p, "-n", "new"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!dir.path().join("new").exists());
}

/// What `ip link add` says about a link type inside a throw-away network namespace, as an
/// independent opinion; `None` if `unshare` or `ip` is not there to ask.
fn ip_oracle(kind: &str) -> Option<bool> {
    let add = match kind {
        "veth" => "ip link add lxcrs-t-o type veth peer name lxcrs-t-p".to_string(),
        "bridge" | "dummy" => format!("ip link add lxcrs-t-o type {kind}"),
        "vlan" => format!("{LOWER} && ip link add link lxcrs-t-l name lxcrs-t-o type vlan id 5"),
        _ => format!("{LOWER} && ip link add link lxcrs-t-l name lxcrs-t-o type {kind}"),
    };
    const LOWER: &str = "ip link add lxcrs-t-l type veth peer name lxcrs-t-m";
    let o = Command::new("unshare")
        .args(["--net", "sh", "-c", &add])
        .output()
        .ok()?;
    let err = String::from_utf8_lossy(&o.stderr);
    if o.status.code() == Some(127) || err.contains("not found") {
        return None;
    }
    Some(o.status.success())
}

#[test]
fn checkconfig_reports_this_kernel() {
    let o = lxc_rs(&["checkconfig"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    assert!(
        text.contains("--- Namespaces ---") && text.contains("Cgroups: "),
        "{text}"
    );

    let o = lxc_rs(&["checkconfig", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("checkconfig --json");
    for ns in ["mnt", "uts", "ipc", "pid", "net", "user", "cgroup", "time"] {
        assert!(v["namespaces"][ns]["available"].is_boolean(), "{ns}: {v}");
    }
    assert!(["v1", "hybrid", "unified", "none"].contains(&v["cgroups"]["layout"].as_str().unwrap()));
    let net = &v["network"];
    for kind in ["veth", "macvlan", "ipvlan", "vlan", "bridge", "dummy"] {
        assert!(net[kind]["available"].is_boolean(), "{kind}: {net}");
    }
    if is_root() {
        // The facts of the machines this project runs on (shared/FACTS.md).
        assert_eq!(net["veth"]["available"], true, "{net}");
        assert_eq!(net["ipvlan"]["available"], false, "{net}");
        assert!(net["ipvlan"]["detail"]
            .as_str()
            .unwrap()
            .contains("EOPNOTSUPP"));
        assert!(text.contains("Veth pair device: enabled"), "{text}");
        assert!(text.contains("Ipvlan: missing"), "{text}");
        // And `ip` agrees, type by type.
        for kind in ["veth", "macvlan", "ipvlan", "vlan", "bridge", "dummy"] {
            match ip_oracle(kind) {
                Some(ok) => assert_eq!(net[kind]["available"], ok, "{kind}: ip says {ok}"),
                None => eprintln!("skip: no unshare/ip to cross-check {kind}"),
            }
        }
        assert_eq!(v["pidfd"]["available"], true);
        assert_eq!(v["namespaces"]["user"]["available"], true);
    } else {
        eprintln!("skip: not root, the kernel probes cannot be compared with FACTS.md");
    }
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        .unwrap_or(false)
}

#[test]
fn every_help_has_an_example() {
    let commands: &[&[&str]] = &[
        &[],
        &["extensions"],
        &["config"],
        &["config", "check"],
        &["config", "get"],
        &["config", "set"],
        &["config", "clear"],
        &["config", "keys"],
        &["config", "global"],
        &["checkconfig"],
        &["ls"],
        &["create"],
        &["destroy"],
        &["start"],
        &["execute"],
        &["stop"],
        &["wait"],
        &["state"],
        &["info"],
        &["device"],
        &["device", "add"],
        &["device", "del"],
    ];
    for c in commands {
        let mut args = c.to_vec();
        args.push("--help");
        let o = lxc_rs(&args);
        assert!(o.status.success(), "{args:?}");
        let out = stdout(&o);
        assert!(out.contains("Example"), "{args:?} has no example:\n{out}");
        let example = out
            .lines()
            .skip_while(|l| !l.starts_with("Example"))
            .nth(1)
            .unwrap_or("");
        let want = format!("lxc-rs {}", c.join(" "));
        assert!(
            example.trim().starts_with(want.trim()),
            "{args:?}: {example}"
        );
    }
}
