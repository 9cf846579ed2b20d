//! The mount code against the real kernel: each scenario runs in a fresh copy of this test
//! binary inside new mount, pid and cgroup namespaces (`unshare --propagation unchanged`, so
//! that our own code has to stop propagation to the host), builds a busybox rootfs under
//! /tmp/lxcrs-t-<test>-<pid>, runs ChildMounts and ChildPivot and checks the result from inside.
//! The parent then asserts that the host's mount table has nothing of the test's left.

use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

// The terminal keys the mount plan reads (lxc.pty.max, lxc.tty.dir) are lxc-console's.
use lxc_console as _;
use lxc_core::phase::StartMode;
use lxc_core::{Origin, Phase};
use lxc_mount::{
    child_devpts, child_mounts, child_pivot, parse_mount_auto, MountPlan, Prepared, RootfsSpec,
    Site,
};
use nix::sys::statfs::{statfs, FsType, DEVPTS_SUPER_MAGIC, SYSFS_MAGIC, TMPFS_MAGIC};
use nix::sys::statvfs::{statvfs, FsFlags};

const SCENARIO: &str = "LXCRS_T_MOUNT_SCENARIO";
const DIR: &str = "LXCRS_T_MOUNT_DIR";
const HELLO: &str = "hello from the host\n";

// ------------------------------------------------------------------------------------------
// Parent side.

/// A temporary directory named for the test; on drop, anything of ours still mounted on the
/// host is detached (the test has already failed then) and the directory is removed.
struct TestDir(PathBuf);

impl TestDir {
    fn new(test: &str) -> TestDir {
        let p = PathBuf::from(format!("/tmp/lxcrs-t-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TestDir(p)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        for mp in host_mounts_mentioning(&self.0) {
            let _ = nix::mount::umount2(Path::new(&mp), nix::mount::MntFlags::MNT_DETACH);
        }
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Mount points of the host's table whose line mentions `dir` (as source root or target).
fn host_mounts_mentioning(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .collect()
}

fn can_run() -> Option<&'static str> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root");
    }
    if !Path::new("/bin/busybox").exists() {
        return Some("no /bin/busybox (busybox-static)");
    }
    if Command::new("unshare").arg("--version").output().is_err() {
        return Some("no unshare(1)");
    }
    None
}

macro_rules! skip_unless_able {
    () => {
        if let Some(why) = can_run() {
            eprintln!("skip: {why}");
            return;
        }
    };
}

/// A minimal busybox rootfs and a host directory to bind from.
fn build_rootfs(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    for d in ["bin", "proc", "sys", "dev", "etc", "tmp", "srv", "mnt"] {
        fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    fs::write(rootfs.join("lxcrs-marker"), "rootfs\n").unwrap();
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::write(dir.join("data/hello.txt"), HELLO).unwrap();
    fs::create_dir_all(dir.join("outside")).unwrap();
    // A symlink in the rootfs pointing at a host directory by its absolute path: a mount
    // through it must land inside the rootfs, never on the host's directory.
    symlink(dir.join("outside"), rootfs.join("evil")).unwrap();
    fs::create_dir_all(rootfs.join(dir.join("outside").strip_prefix("/").unwrap())).unwrap();
    rootfs
}

/// What a scenario reported.
struct Report {
    checks: Vec<(String, bool, String)>,
    error: Option<String>,
    skipped: Option<String>,
    raw: String,
}

fn run_scenario(scenario: &str, dir: &Path) -> Report {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--pid",
            "--fork",
            "--cgroup",
            "--propagation",
            "unchanged",
            "--",
        ])
        .arg(exe)
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env(SCENARIO, scenario)
        .env(DIR, dir)
        .env("LXCRS_T_PARENT_PID", std::process::id().to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut r = Report {
        checks: Vec::new(),
        error: None,
        skipped: None,
        raw: format!(
            "status {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status
        ),
    };
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("CHECK\t") {
            let mut f = rest.splitn(3, '\t');
            let name = f.next().unwrap_or_default().to_string();
            let ok = f.next() == Some("ok");
            let detail = f.next().unwrap_or_default().to_string();
            r.checks.push((name, ok, detail));
        } else if let Some(e) = line.strip_prefix("ERROR\t") {
            r.error = Some(e.to_string());
        } else if let Some(s) = line.strip_prefix("SKIP\t") {
            r.skipped = Some(s.to_string());
        }
    }
    r
}

/// Run a scenario and assert every check it made passed and the host kept nothing.
fn expect_checks(scenario: &str, dir: &TestDir, at_least: usize) -> Report {
    let r = run_scenario(scenario, &dir.0);
    let leaked = host_mounts_mentioning(&dir.0);
    assert!(leaked.is_empty(), "mounts leaked to the host: {leaked:?}");
    if let Some(s) = &r.skipped {
        eprintln!("skip: {s}");
        return r;
    }
    assert!(
        r.error.is_none(),
        "scenario failed: {:?}\n{}",
        r.error,
        r.raw
    );
    let failed: Vec<_> = r.checks.iter().filter(|c| !c.1).collect();
    assert!(failed.is_empty(), "failed checks: {failed:#?}\n{}", r.raw);
    assert!(
        r.checks.len() >= at_least,
        "only {} checks ran\n{}",
        r.checks.len(),
        r.raw
    );
    r
}

#[test]
fn full_container_mounts_and_pivot() {
    skip_unless_able!();
    let dir = TestDir::new("full");
    build_rootfs(&dir.0);
    expect_checks("full", &dir, 24);
}

#[test]
fn missing_source_fails_naming_key_line_and_path() {
    skip_unless_able!();
    let dir = TestDir::new("missing");
    build_rootfs(&dir.0);
    let r = run_scenario("missing", &dir.0);
    assert!(host_mounts_mentioning(&dir.0).is_empty());
    let e = r
        .error
        .unwrap_or_else(|| panic!("no error reported\n{}", r.raw));
    let src = format!("/nonexistent-lxcrs-t-src-{}", std::process::id());
    assert!(
        e.starts_with("phase ChildMounts: mount: lxc.mount.entry ("),
        "{e}"
    );
    assert!(e.contains("lxc.mount.entry ("), "{e}");
    assert!(e.contains("config:14)"), "{e}");
    assert!(e.contains(&format!("mount {src} on ")), "{e}");
    assert!(e.contains("/mnt/x: No such file or directory"), "{e}");
}

#[test]
fn execute_without_rootfs_keeps_host_root_with_fresh_proc() {
    skip_unless_able!();
    let dir = TestDir::new("execute");
    expect_checks("execute", &dir, 5);
}

#[test]
fn cgroup_mixed_force_mounts_own_cgroups() {
    skip_unless_able!();
    let dir = TestDir::new("cgforce");
    build_rootfs(&dir.0);
    expect_checks("cgroup-force", &dir, 3);
}

#[test]
fn cgroup_ro_force_is_read_only() {
    skip_unless_able!();
    let dir = TestDir::new("cgro");
    build_rootfs(&dir.0);
    expect_checks("cgroup-ro", &dir, 2);
}

#[test]
fn cgroup_without_force_is_left_to_init_in_a_cgroup_namespace() {
    skip_unless_able!();
    let dir = TestDir::new("cgnoforce");
    build_rootfs(&dir.0);
    expect_checks("cgroup-noforce", &dir, 1);
}

#[test]
fn registered_hooks_run_from_config() {
    skip_unless_able!();
    let dir = TestDir::new("hooks");
    build_rootfs(&dir.0);
    expect_checks("hooks", &dir, 5);
}

// ------------------------------------------------------------------------------------------
// Child side: runs as pid 1 of its own pid namespace, in its own mount namespace.

struct Checks(Vec<(String, bool, String)>);

impl Checks {
    fn check(&mut self, name: &str, ok: bool, detail: impl Into<String>) {
        self.0.push((name.to_string(), ok, detail.into()));
    }
    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, name: &str, got: T, want: T) {
        let ok = got == want;
        self.check(name, ok, format!("got {got:?}, want {want:?}"));
    }
    fn print(&self) {
        for (n, ok, d) in &self.0 {
            println!("CHECK\t{n}\t{}\t{d}", if *ok { "ok" } else { "FAIL" });
        }
    }
}

fn fs_type(p: &str) -> Option<FsType> {
    statfs(p).ok().map(|s| s.filesystem_type())
}

fn read_only(p: &str) -> Option<bool> {
    statvfs(p)
        .ok()
        .map(|s| s.flags().contains(FsFlags::ST_RDONLY))
}

fn dev_nums(rdev: u64) -> (u64, u64) {
    (
        ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff),
        (rdev & 0xff) | ((rdev >> 12) & !0xff),
    )
}

fn char_dev(p: &str) -> Option<(u64, u64)> {
    let m = fs::metadata(p).ok()?;
    m.file_type().is_char_device().then(|| dev_nums(m.rdev()))
}

fn site(dir: &Path, key: &str, line: usize) -> Site {
    Site::new(key, Some(Origin::file(dir.join("config"), line)))
}

fn rootfs_plan(dir: &Path, name: &str) -> MountPlan {
    let mut plan = MountPlan::new(name, dir, StartMode::Start);
    plan.rootfs = Some(RootfsSpec {
        path: dir.join("rootfs"),
        storage: Some("dir".into()),
        site: site(dir, "lxc.rootfs.path", 1),
        mount: None,
        options: None,
    });
    plan.autodev = true;
    plan
}

fn no_hooks() -> impl FnMut(&str, Option<&lxc_mount::Rootfs>) -> Result<(), lxc_core::Error> {
    |_, _| Ok(())
}

fn scenario_full(dir: &Path, c: &mut Checks) -> lxc_mount::Result<()> {
    let rootfs = dir.join("rootfs");
    let host_boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let mut plan = rootfs_plan(dir, "lxcrs-t-full");
    plan.auto = parse_mount_auto(["proc:mixed sys:ro"])?;
    plan.pty_max = 8;
    let data = dir.join("data");
    let lines = [
        format!("{} srv/data none bind,create=dir 0 0", data.display()),
        format!("{} srv/ro none bind,ro,create=dir 0 0", data.display()),
        "tmpfs tmp/scratch tmpfs size=1m,mode=1777,nosuid,create=dir 0 0".to_string(),
        "/nonexistent-lxcrs-t-src mnt/opt none bind,optional,create=dir 0 0".to_string(),
        format!(
            "{}/hello.txt etc/hello none bind,create=file 0 0",
            data.display()
        ),
        format!(
            "{} {}/srv/abs none bind,create=dir 0 0",
            data.display(),
            rootfs.display()
        ),
        "tmpfs evil tmpfs size=1m 0 0".to_string(),
    ];
    for (i, l) in lines.iter().enumerate() {
        plan.push_entry(l, site(dir, "lxc.mount.entry", 10 + i))?;
    }
    let mut seen: Vec<String> = Vec::new();
    let prepared = child_mounts(plan, &mut |kind, r| {
        seen.push(format!("{kind}:{}", r.is_some()));
        Ok(())
    })?;
    c.eq(
        "hooks run in LXC's order",
        seen.join(" "),
        "pre-mount:false mount:true autodev:true".to_string(),
    );
    let outside = dir.join("outside").to_string_lossy().into_owned();
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    c.check(
        "a symlinked target does not reach the host",
        !mountinfo
            .lines()
            .any(|l| l.split(' ').nth(4) == Some(outside.as_str())),
        "",
    );
    c.check(
        "/ is a slave, not shared",
        !mountinfo
            .lines()
            .any(|l| l.split(' ').nth(4) == Some("/") && l.contains("shared:")),
        "",
    );
    child_devpts(&prepared)?;
    child_pivot(&prepared)?;

    c.eq(
        "cwd is /",
        std::env::current_dir().ok(),
        Some(PathBuf::from("/")),
    );
    c.check(
        "root is the rootfs",
        Path::new("/lxcrs-marker").exists(),
        "",
    );
    c.eq("/dev/null is 1:3", char_dev("/dev/null"), Some((1, 3)));
    c.eq("/dev/zero is 1:5", char_dev("/dev/zero"), Some((1, 5)));
    c.eq("/dev/tty is 5:0", char_dev("/dev/tty"), Some((5, 0)));
    c.check(
        "/dev/full, random, urandom",
        ["/dev/full", "/dev/random", "/dev/urandom"]
            .iter()
            .all(|p| char_dev(p).is_some()),
        "",
    );
    c.eq(
        "/dev is the autodev tmpfs",
        fs_type("/dev"),
        Some(TMPFS_MAGIC),
    );
    c.eq(
        "/proc/self is pid 1 of the new pid namespace",
        fs::read_link("/proc/self").ok(),
        Some(PathBuf::from("1")),
    );
    c.eq("/proc/sys is read-only", read_only("/proc/sys"), Some(true));
    // Kernels without magic SysRq have no /proc/sysrq-trigger; LXC skips it then.
    c.check(
        "/proc/sysrq-trigger is read-only (if there)",
        !Path::new("/proc/sysrq-trigger").exists()
            || read_only("/proc/sysrq-trigger") == Some(true),
        "",
    );
    c.eq(
        "/proc/sys/net stays writable",
        read_only("/proc/sys/net"),
        Some(false),
    );
    c.eq("/proc is writable", read_only("/proc"), Some(false));
    c.eq("/sys is read-only", read_only("/sys"), Some(true));
    c.eq("/sys is sysfs", fs_type("/sys"), Some(SYSFS_MAGIC));
    c.eq(
        "bind entry with create=dir",
        fs::read_to_string("/srv/data/hello.txt").ok(),
        Some(HELLO.to_string()),
    );
    c.eq("ro bind is read-only", read_only("/srv/ro"), Some(true));
    c.check(
        "ro bind refuses writes",
        fs::write("/srv/ro/new", "x").is_err(),
        "",
    );
    c.eq("tmpfs entry", fs_type("/tmp/scratch"), Some(TMPFS_MAGIC));
    c.check(
        "tmpfs entry is writable",
        fs::write("/tmp/scratch/x", "x").is_ok(),
        "",
    );
    let root_dev = fs::metadata("/").map(|m| m.dev()).ok();
    c.check(
        "optional entry with a missing source is skipped",
        Path::new("/mnt/opt").is_dir()
            && fs::metadata("/mnt/opt").map(|m| m.dev()).ok() == root_dev,
        "",
    );
    c.eq(
        "create=file bind",
        fs::read_to_string("/etc/hello").ok(),
        Some(HELLO.to_string()),
    );
    c.check(
        "absolute target naming the rootfs",
        Path::new("/srv/abs/hello.txt").exists(),
        "",
    );
    c.eq(
        "symlinked target resolved inside the rootfs",
        fs_type(&outside),
        Some(TMPFS_MAGIC),
    );
    c.eq(
        "/dev/pts is a devpts",
        fs_type("/dev/pts"),
        Some(DEVPTS_SUPER_MAGIC),
    );
    c.check("/dev/pts/ptmx", Path::new("/dev/pts/ptmx").exists(), "");
    let ptmx = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/ptmx");
    c.check(
        "/dev/ptmx opens a pty of the new instance",
        ptmx.is_ok() && Path::new("/dev/pts/0").exists(),
        format!("{ptmx:?} {:?}", fs::read_dir("/dev/pts").map(|d| d.count())),
    );
    c.eq(
        "/dev/fd symlink",
        fs::read_link("/dev/fd").ok(),
        Some(PathBuf::from("/proc/self/fd")),
    );
    let boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    c.check(
        "own boot id",
        boot_id.len() == 37 && boot_id != host_boot_id,
        format!("{boot_id:?}"),
    );
    let out = Command::new("/bin/busybox")
        .args(["cat", "/srv/data/hello.txt"])
        .output();
    c.eq(
        "busybox runs in the new root",
        out.ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned()),
        Some(HELLO.to_string()),
    );
    Ok(())
}

fn scenario_missing(dir: &Path) -> lxc_mount::Result<()> {
    let mut plan = rootfs_plan(dir, "lxcrs-t-missing");
    plan.push_entry(
        &format!(
            "/nonexistent-lxcrs-t-src-{} mnt/x none bind,create=dir 0 0",
            std::env::var("LXCRS_T_PARENT_PID").unwrap_or_default()
        ),
        site(dir, "lxc.mount.entry", 14),
    )?;
    child_mounts(plan, &mut no_hooks()).map(drop)
}

fn scenario_execute(dir: &Path, c: &mut Checks) -> lxc_mount::Result<()> {
    let mut plan = MountPlan::new("lxcrs-t-execute", dir, StartMode::Execute);
    let scratch = dir.join("exec-tmp");
    plan.push_entry(
        &format!("tmpfs {} tmpfs size=1m,create=dir 0 0", scratch.display()),
        site(dir, "lxc.mount.entry", 3),
    )?;
    let cwd = std::env::current_dir().ok();
    let prepared = child_mounts(plan, &mut no_hooks())?;
    c.check("no rootfs: the host's /", prepared.rootfs.is_host(), "");
    child_devpts(&prepared)?;
    child_pivot(&prepared)?;
    c.eq("no pivot: cwd kept", std::env::current_dir().ok(), cwd);
    c.check("the host's files are there", dir.exists(), "");
    c.eq(
        "fresh /proc of the new pid namespace",
        fs::read_link("/proc/self").ok(),
        Some(PathBuf::from("1")),
    );
    c.eq(
        "entry below the host's /",
        fs_type(&scratch.to_string_lossy()),
        Some(TMPFS_MAGIC),
    );
    let dev_mounts = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some("/dev"))
        .count();
    c.eq("the host's /dev is left alone", dev_mounts, 1);
    Ok(())
}

fn scenario_cgroup(dir: &Path, auto: &str, c: &mut Checks) -> lxc_mount::Result<()> {
    let mut plan = rootfs_plan(dir, "lxcrs-t-cgroup");
    plan.auto = parse_mount_auto(["proc:rw sys:rw", auto])?;
    let host = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let hierarchies: Vec<String> = host
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter_map(|m| m.strip_prefix("/sys/fs/cgroup/"))
        .map(str::to_string)
        .collect();
    let prepared = child_mounts(plan, &mut no_hooks())?;
    child_devpts(&prepared)?;
    child_pivot(&prepared)?;
    match auto {
        "cgroup:mixed" => {
            c.eq(
                "nothing mounted on /sys/fs/cgroup",
                fs_type("/sys/fs/cgroup"),
                Some(SYSFS_MAGIC),
            );
        }
        _ => {
            let ro = auto.contains(":ro");
            c.eq(
                "/sys/fs/cgroup is a tmpfs",
                fs_type("/sys/fs/cgroup"),
                Some(TMPFS_MAGIC),
            );
            c.eq(
                "the tmpfs stays writable",
                read_only("/sys/fs/cgroup"),
                Some(false),
            );
            for h in &hierarchies {
                let p = format!("/sys/fs/cgroup/{h}");
                c.check(
                    &format!("{p} mounted"),
                    Path::new(&format!("{p}/cgroup.procs")).exists(),
                    "",
                );
                c.eq(&format!("{p} read-only"), read_only(&p), Some(ro));
            }
            if hierarchies.iter().any(|h| h == "memory") {
                // In the cgroup namespace the hierarchy's root is our own cgroup: we are in it.
                let procs =
                    fs::read_to_string("/sys/fs/cgroup/memory/cgroup.procs").unwrap_or_default();
                c.check(
                    "memory root is the container's own cgroup",
                    procs.lines().any(|l| l == "1"),
                    procs,
                );
            }
        }
    }
    Ok(())
}

fn scenario_hooks(dir: &Path, c: &mut Checks) -> Result<(), String> {
    use lxc_core::phase::{HookCtx, RootfsInfo, StateMap, UndoStack};
    let keys = [
        "lxc.rootfs.path",
        "lxc.mount.auto",
        "lxc.mount.entry",
        "lxc.autodev",
        "lxc.pty.max",
    ];
    if let Some(k) = keys.iter().find(|k| !lxc_core::config_item_is_supported(k)) {
        return Err(format!(
            "{k} is not supported: its component is not linked into this test"
        ));
    }
    let cfg_path = dir.join("config");
    let text = format!(
        "lxc.rootfs.path = dir:{}\nlxc.mount.auto = proc:mixed sys:mixed\n\
         lxc.mount.entry = {} srv/data none bind,ro,create=dir 0 0\nlxc.pty.max = 4\n",
        dir.join("rootfs").display(),
        dir.join("data").display()
    );
    fs::write(&cfg_path, &text).map_err(|e| e.to_string())?;
    let config = lxc_core::Config::load(&cfg_path).map_err(|e| e.to_string())?;
    let mut undo = UndoStack::default();
    let mut state = StateMap::default();
    let mut ctx = HookCtx {
        name: "lxcrs-t-hooks",
        lxcpath: dir.to_path_buf(),
        config_file: cfg_path.clone(),
        config: &config,
        phase: Phase::ChildMounts,
        mode: StartMode::Start,
        init_pid: None,
        undo: &mut undo,
        state: &mut state,
    };
    for phase in [Phase::ChildMounts, Phase::ChildPivot] {
        ctx.phase = phase;
        for (owner, hook) in lxc_core::registry::hooks_for(phase) {
            if owner == "mount" {
                (hook.run)(&mut ctx).map_err(|e| e.to_string())?;
            }
        }
    }
    let info = ctx.state.get::<RootfsInfo>().cloned().unwrap_or_default();
    c.eq(
        "RootfsInfo.path is lxc.rootfs.path without its type",
        info.path,
        Some(dir.join("rootfs")),
    );
    c.check(
        "Prepared kept in the state",
        ctx.state.get::<Prepared>().is_some(),
        "",
    );
    c.check(
        "root is the rootfs",
        Path::new("/lxcrs-marker").exists(),
        "",
    );
    c.eq("/proc/sys read-only", read_only("/proc/sys"), Some(true));
    c.eq("/sys read-only (mixed)", read_only("/sys"), Some(true));
    c.eq(
        "/sys/devices/virtual/net writable (mixed)",
        read_only("/sys/devices/virtual/net"),
        Some(false),
    );
    c.eq(
        "ro bind from the config",
        read_only("/srv/data"),
        Some(true),
    );
    Ok(())
}

/// The entry point of the re-executed copy; a no-op in a normal test run.
#[test]
fn child_entry() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    let dir = PathBuf::from(std::env::var(DIR).expect("scenario dir"));
    let mut c = Checks(Vec::new());
    let result: Result<(), String> = match scenario.as_str() {
        "full" => scenario_full(&dir, &mut c).map_err(|e| e.to_string()),
        "missing" => {
            scenario_missing(&dir).map_err(|e| e.into_core(Phase::ChildMounts).to_string())
        }
        "execute" => scenario_execute(&dir, &mut c).map_err(|e| e.to_string()),
        "cgroup-force" => {
            scenario_cgroup(&dir, "cgroup:mixed:force", &mut c).map_err(|e| e.to_string())
        }
        "cgroup-ro" => scenario_cgroup(&dir, "cgroup:ro:force", &mut c).map_err(|e| e.to_string()),
        "cgroup-noforce" => {
            scenario_cgroup(&dir, "cgroup:mixed", &mut c).map_err(|e| e.to_string())
        }
        "hooks" => scenario_hooks(&dir, &mut c),
        other => Err(format!("unknown scenario {other}")),
    };
    // libtest has printed "test child_entry ... " without a newline.
    println!();
    c.print();
    if let Err(e) = result {
        println!("ERROR\t{e}");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // Leave before the test harness prints its summary into our report.
    std::process::exit(0);
}
