//! LXC's helper tools beside the container lifecycle: `lxc-rs unshare`, `lxc-rs usernsexec`
//! and `lxc-rs update-config`, each run side by side with Debian's `lxc-unshare`,
//! `lxc-usernsexec` and `lxc-update-config` on the same input: exit status and output must be
//! the same (update-config: the rewritten file and its backup, byte for byte, over the corpus
//! in tests/data/update_config). Where lxc-rs deliberately differs (`unshare -M` mounts what
//! LXC 5.0.2 only unmounts, `-s time` makes a time namespace), the test says so and checks
//! lxc-rs's own answer.

mod common;

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{show, stdout, BIN};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/update_config");

/// LXC's tool, or the `lxc-rs` command, with `args`; at most 30 s (a hang fails the test).
fn run(tool: &str, args: &[&str], cwd: &Path) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg("30");
    match tool.strip_prefix("lxc-rs ") {
        Some(sub) => cmd.arg(BIN).arg(sub),
        None => cmd.arg(tool),
    };
    cmd.args(args)
        .current_dir(cwd)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"))
}

/// Whether LXC's `tool` is installed to compare with; says why not when it is not.
fn have(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    if !found {
        eprintln!("SKIP: {tool} is not installed (apt-get install lxc): no oracle to compare with");
    }
    found
}

/// A directory of the test's own, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("lxcrs-t-{what}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// update-config

#[test]
fn update_config_rewrites_every_corpus_file_as_lxcs_script() {
    if !have("lxc-update-config") {
        return;
    }
    let tmp = TempDir::new("update-config");
    let mut files: Vec<PathBuf> = fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus is in {CORPUS}");
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let mut outcome = Vec::new();
        for tool in ["lxc-update-config", "lxc-rs update-config"] {
            // The script makes its temporary file in the working directory: one each.
            let dir = tmp.0.join(tool.replace(' ', "-")).join(&name);
            fs::create_dir_all(&dir).unwrap();
            let config = dir.join("config");
            fs::copy(&f, &config).unwrap();
            let o = run(tool, &["-c", config.to_str().unwrap()], &dir);
            let left: Vec<String> = {
                let mut v: Vec<String> = fs::read_dir(&dir)
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                v.sort();
                v
            };
            outcome.push((
                o.status.code(),
                o.stdout.clone(),
                fs::read(&config).unwrap(),
                fs::read(dir.join("config.backup")).ok(),
                left,
                show(&o),
            ));
        }
        let (lxc, ours) = (&outcome[0], &outcome[1]);
        assert_eq!(
            lxc.0, ours.0,
            "{name}: exit status\nLXC: {}\nlxc-rs: {}",
            lxc.5, ours.5
        );
        assert_eq!(lxc.1, ours.1, "{name}: stdout");
        assert_eq!(
            String::from_utf8_lossy(&lxc.2),
            String::from_utf8_lossy(&ours.2),
            "{name}: the rewritten config"
        );
        assert_eq!(lxc.2, ours.2, "{name}: the rewritten config's bytes");
        assert_eq!(lxc.3, ours.3, "{name}: the backup");
        assert_eq!(
            ours.3.as_deref(),
            Some(fs::read(&f).unwrap().as_slice()),
            "{name}: the backup is the original"
        );
        assert_eq!(lxc.4, ours.4, "{name}: the files left beside the config");
    }
}

#[test]
fn update_config_usage_and_failures_are_lxcs() {
    let tmp = TempDir::new("update-config-usage");
    let ours = run("lxc-rs update-config", &[], &tmp.0);
    assert_eq!(ours.status.code(), Some(0), "{}", show(&ours));
    assert!(
        stdout(&ours)
            .ends_with(" -h|--help [-c|--config]\nconfig: the container configuration to update\n"),
        "{}",
        show(&ours)
    );
    let missing = tmp.0.join("missing");
    let o = run(
        "lxc-rs update-config",
        &["-c", missing.to_str().unwrap()],
        &tmp.0,
    );
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(!tmp.0.join("missing.backup").exists());
    if !have("lxc-update-config") {
        return;
    }
    let lxc = run("lxc-update-config", &[], &tmp.0);
    assert_eq!(lxc.status.code(), ours.status.code());
    let lxc = run(
        "lxc-update-config",
        &["-c", missing.to_str().unwrap()],
        &tmp.0,
    );
    assert_eq!(lxc.status.code(), o.status.code(), "{}", show(&lxc));
}

// ---------------------------------------------------------------------------------------------
// unshare

/// Command lines whose exit status and stdout must be LXC's.
const UNSHARE_CASES: &[&[&str]] = &[
    &["-s", "UTSNAME", "-H", "lxcrs-t-host", "--", "hostname"],
    &["-s", "uts|Pid|MOUNT", "--", "sh", "-c", "echo $$"],
    &["-s", "PID||UTSNAME", "--", "true"],
    &["-s", "USER", "-u", "nobody", "--", "id", "-u"],
    &["-s", "USER|UTSNAME", "-u", "65534", "--", "id", "-un"],
    &["-s", "UTSNAME", "--", "sh", "-c", "exit 3"],
    &["-s", "uts", "--", "/lxcrs-t-nonexistent"],
    // Usage errors: LXC's order of checks and its status 1.
    &["-s", "BOGUS", "--", "true"],
    &["-s", "mount", "--", "true"],
    &["-s", "|", "--", "true"],
    &["--", "true"],
    &["-s", "UTSNAME"],
    &["-s", "NETWORK", "-H", "x", "--", "true"],
    &["-s", "UTSNAME", "-i", "lo", "--", "true"],
    &["-s", "UTSNAME", "-M", "--", "true"],
    &["-s", "USER", "-u", "lxcrs-t-no-such-user", "--", "id"],
];

/// Each of `cases` run by LXC's `tool` and by `lxc-rs <command>`: the same exit status and
/// stdout.
fn same_answers(tool: &str, command: &str, cases: &[&[&str]]) {
    let tmp = TempDir::new(command);
    for args in cases {
        let lxc = run(tool, args, &tmp.0);
        let ours = run(&format!("lxc-rs {command}"), args, &tmp.0);
        assert_eq!(
            lxc.status.code(),
            ours.status.code(),
            "{args:?}\nLXC: {}\nlxc-rs: {}",
            show(&lxc),
            show(&ours)
        );
        assert_eq!(stdout(&lxc), stdout(&ours), "{args:?}");
    }
}

#[test]
fn unshare_answers_as_lxc_unshare() {
    require_root!();
    if have("lxc-unshare") {
        same_answers("lxc-unshare", "unshare", UNSHARE_CASES);
    }
}

/// Processes whose command line has `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let cmdline = fs::read(e.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(marker)
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect()
}

#[test]
fn unshare_user_without_a_user_namespace_fails_and_leaves_no_child() {
    require_root!();
    // LXC refuses this too (status 1), but leaves its child blocked for ever on the eventfd
    // it never writes: not run here for that reason.
    let tmp = TempDir::new("unshare-uid");
    let marker = format!("lxcrs-t-marker-{}", std::process::id());
    let mut cmd = Command::new(BIN);
    cmd.args([
        "unshare", "-s", "UTSNAME", "-u", "nobody", "--", "echo", &marker,
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .current_dir(&tmp.0);
    let status = cmd.status().unwrap();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        processes_with(&marker),
        Vec::<String>::new(),
        "a child is left"
    );
}

fn ns_of(pid: &str, ns: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{ns}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn unshare_makes_the_namespaces_it_is_asked_for() {
    require_root!();
    let tmp = TempDir::new("unshare-ns");
    let o = run(
        "lxc-rs unshare",
        &[
            "-s",
            "MOUNT|PID|UTSNAME|IPC|NETWORK|cgroup|time",
            "--",
            "sh",
            "-c",
            "for n in mnt pid uts ipc net cgroup time; do readlink /proc/self/ns/$n; done",
        ],
        &tmp.0,
    );
    assert!(o.status.success(), "{}", show(&o));
    let inside: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    // lxc-rs makes a time namespace too (clone3); LXC 5.0.2's clone() cannot (see decisions).
    for (i, ns) in ["mnt", "pid", "uts", "ipc", "net", "cgroup", "time"]
        .iter()
        .enumerate()
    {
        let host = ns_of("self", ns);
        assert_ne!(
            inside[i].split(':').nth(1),
            host.split(':').nth(1),
            "{ns} is the host's"
        );
    }
}

#[test]
fn unshare_remount_gives_a_proc_of_the_new_pid_namespace() {
    require_root!();
    let tmp = TempDir::new("unshare-remount");
    let host_mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    // LXC 5.0.2 unmounts /proc here and mounts nothing (its mount_fs only mounts when the
    // umount fails); lxc-rs does what -M says.
    let o = run(
        "lxc-rs unshare",
        &[
            "-s",
            "PID|MOUNT",
            "-M",
            "--",
            "sh",
            "-c",
            "ls /proc | grep -c '^[0-9]'; grep -c ' /dev/mqueue ' /proc/self/mountinfo; \
             grep ' /dev/shm ' /proc/self/mountinfo | grep -c shmfs",
        ],
        &tmp.0,
    );
    assert!(o.status.success(), "{}", show(&o));
    let counts: Vec<u32> = stdout(&o).lines().map(|l| l.parse().unwrap()).collect();
    assert!(
        counts[0] <= 4,
        "the new /proc shows the host's processes: {}",
        show(&o)
    );
    assert!(counts[1] >= 1 && counts[2] >= 1, "{}", show(&o));
    assert_eq!(
        fs::read_to_string("/proc/self/mountinfo").unwrap(),
        host_mounts,
        "the host's mounts changed"
    );
}

#[test]
fn unshare_moves_an_interface_into_the_new_network_namespace() {
    require_root!();
    let (a, b) = ("lxcrs-t-un0", "lxcrs-t-un1");
    let ip = |args: &[&str]| Command::new("ip").args(args).output().expect("run ip");
    let _ = ip(&["link", "del", a]);
    let made = ip(&["link", "add", a, "type", "veth", "peer", "name", b]);
    assert!(made.status.success(), "{}", show(&made));
    let tmp = TempDir::new("unshare-ifname");
    // As with LXC's tool, the move happens while the command runs: it waits for the link.
    let o = run(
        "lxc-rs unshare",
        &[
            "-s",
            "NETWORK",
            "-i",
            a,
            "--",
            "sh",
            "-c",
            &format!(
                "for i in $(seq 200); do ip link show {a} >/dev/null 2>&1 && exit 0; sleep 0.05; \
                 done; exit 1"
            ),
        ],
        &tmp.0,
    );
    let host_has_a = ip(&["link", "show", a]).status.success();
    // The namespace is gone with the command, and the veth pair with it.
    let _ = ip(&["link", "del", a]);
    let _ = ip(&["link", "del", b]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(!host_has_a, "{a} is still on the host");
}

#[test]
fn unshare_daemon_returns_while_the_command_runs() {
    require_root!();
    let tmp = TempDir::new("unshare-daemon");
    let flag = tmp.0.join("done");
    let (rd, wr) = nix::unistd::pipe().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["unshare", "-d", "-s", "UTSNAME", "--", "sh", "-c"])
        .arg(format!("read x; touch {}", flag.display()))
        .stdin(Stdio::from(rd))
        // The command keeps what it inherits: nothing this test would wait on.
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let status = cmd.status().unwrap();
    assert!(status.success(), "{status}");
    assert!(!flag.exists(), "it waited for the command");
    // Let the command go on and end.
    nix::unistd::write(&wr, b"\n").unwrap();
    drop(wr);
    let until = Instant::now() + Duration::from_secs(20);
    while !flag.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(flag.exists(), "the command never ran to its end");
}

// ---------------------------------------------------------------------------------------------
// usernsexec

/// Command lines whose exit status and stdout must be LXC's.
const USERNSEXEC_CASES: &[&[&str]] = &[
    &["-m", "u:0:0:1", "-m", "g:0:0:1", "--", "id", "-u"],
    &[
        "-m",
        "b:0:0:1",
        "--",
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map",
    ],
    &[
        "-m",
        "u:1:100000:1",
        "-m",
        "g:0:0:1",
        "-s",
        "--",
        "cat",
        "/proc/self/uid_map",
    ],
    &["-m", "b:0:0:1", "--", "sh", "-c", "exit 7"],
    // Maps root cannot have without /etc/subuid (newuidmap refuses), or an empty allocation.
    &["-m", "b:0:100000:65536", "--", "id", "-u"],
    &["--", "id", "-u"],
    &["-m", "x:0", "--", "true"],
    &["-m", "b:0:0:10", "-s", "--", "true"],
];

#[test]
fn usernsexec_answers_as_lxc_usernsexec() {
    require_root!();
    if have("lxc-usernsexec") {
        same_answers("lxc-usernsexec", "usernsexec", USERNSEXEC_CASES);
    }
}

#[test]
fn usernsexec_as_an_unprivileged_user_maps_itself() {
    require_root!();
    if !have("lxc-usernsexec") {
        return;
    }
    let tmp = TempDir::new("usernsexec-user");
    let script = "id -u; cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/mnt";
    let mut answers = Vec::new();
    for tool in ["lxc-usernsexec", BIN] {
        let mut cmd = Command::new(tool);
        if tool == BIN {
            cmd.arg("usernsexec");
        }
        cmd.args([
            "-m",
            "u:0:65534:1",
            "-m",
            "g:0:65534:1",
            "--",
            "sh",
            "-c",
            script,
        ])
        .current_dir(&tmp.0)
        .uid(65534)
        .gid(65534);
        let o = cmd.output().expect("run as nobody");
        assert!(o.status.success(), "{tool}: {}", show(&o));
        answers.push(stdout(&o));
    }
    let lines = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
    let (lxc, ours) = (lines(&answers[0]), lines(&answers[1]));
    assert_eq!(lxc[..3], ours[..3], "uid and maps");
    assert_eq!(ours[0], "0");
    // A mount namespace of its own (each run its own, so compared with the host's).
    assert_ne!(ours[3], ns_of("self", "mnt"));
}

// ---------------------------------------------------------------------------------------------
// Under LXC's names

#[test]
fn the_helpers_answer_under_lxcs_tool_names() {
    require_root!();
    let tmp = TempDir::new("helper-names");
    for name in ["lxc-unshare", "lxc-usernsexec", "lxc-update-config"] {
        std::os::unix::fs::symlink(BIN, tmp.0.join(name)).unwrap();
    }
    let tool = |name: &str, args: &[&str]| {
        Command::new(tmp.0.join(name))
            .args(args)
            .current_dir(&tmp.0)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = tool(
        "lxc-unshare",
        &["-s", "UTSNAME", "-H", "lxcrs-t-named", "--", "hostname"],
    );
    assert_eq!(stdout(&o), "lxcrs-t-named\n", "{}", show(&o));
    let o = tool("lxc-usernsexec", &["-m", "b:0:0:1", "--", "id", "-u"]);
    assert_eq!(stdout(&o), "0\n", "{}", show(&o));
    // lxc-usernsexec takes no LXC common options: -n is unknown to it.
    let o = tool("lxc-usernsexec", &["-n", "x", "--", "true"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    // The usage names the program as it was called, as the script's $0.
    let o = tool("lxc-update-config", &[]);
    let called = tmp.0.join("lxc-update-config");
    assert_eq!(
        stdout(&o),
        format!(
            "{} -h|--help [-c|--config]\nconfig: the container configuration to update\n",
            called.display()
        ),
        "{}",
        show(&o)
    );
    let config = tmp.0.join("config");
    fs::write(&config, "lxc.utsname = x\n").unwrap();
    let o = tool("lxc-update-config", &["-c", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(fs::read_to_string(&config).unwrap(), "lxc.uts.name = x\n");
}
