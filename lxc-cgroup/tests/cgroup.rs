//! The driver against the real kernel: every cgroup here is created below this process's own
//! cgroups under a `lxcrs-t-<test>-<pid>` directory, and removed (and checked gone) after.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

// lxc.cgroup2.* and lxc.cgroup.relative are these extensions' keys.
use lxc_cgroup::{
    detect, CgroupConfig, ContainerCgroup, FreezerState, HierarchyPaths, Layout, LayoutKind,
    Version,
};
use lxc_ext_cgroup2 as _;
use lxc_ext_cgroup_relative as _;

macro_rules! skip {
    ($($arg:tt)*) => {{
        eprintln!("SKIP: {}", format!($($arg)*));
        return;
    }};
}

/// A test's corner of every hierarchy. Dropping it removes whatever is left below its
/// directory, so a failing test leaves nothing behind.
struct Fixture {
    top: String,
    layout: Layout,
}

impl Fixture {
    fn new(test: &str) -> Option<Fixture> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIP: needs root to create cgroups");
            return None;
        }
        let layout = match detect() {
            Ok(l) => l,
            Err(e) => {
                eprintln!("SKIP: no usable cgroups: {e}");
                return None;
            }
        };
        Some(Fixture {
            top: format!("lxcrs-t-{test}-{}", std::process::id()),
            layout,
        })
    }

    /// A container `c` whose cgroups go below this test's directory (`lxc.cgroup.dir`).
    fn config(&self) -> CgroupConfig {
        CgroupConfig {
            dir: Some(self.top.clone()),
            // Below our own cgroup everywhere (root on a pure cgroup2 host would else escape
            // to init's cgroup, as LXC does).
            relative: true,
            ..CgroupConfig::new("c")
        }
    }

    fn top_dirs(&self) -> Vec<PathBuf> {
        self.layout
            .hierarchies
            .iter()
            .map(|h| h.own_dir().join(&self.top))
            .collect()
    }

    /// This test's directories still present, in any hierarchy.
    fn leftovers(&self) -> Vec<PathBuf> {
        self.top_dirs().into_iter().filter(|p| p.exists()).collect()
    }
}

fn prune(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                prune(&e.path());
            }
        }
    }
    for _ in 0..100 {
        match std::fs::remove_dir(dir) {
            Err(e) if e.raw_os_error() == Some(libc_ebusy()) => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            _ => return,
        }
    }
}

fn libc_ebusy() -> i32 {
    nix::errno::Errno::EBUSY as i32
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for d in self.top_dirs() {
            if d.exists() {
                eprintln!("cleaning up {}", d.display());
                prune(&d);
            }
        }
    }
}

/// A child process that is killed (by its pid) and reaped when dropped.
struct Kid(Child);

impl Kid {
    fn sleep() -> Kid {
        Kid(Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep"))
    }
    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        self.kill();
    }
}

fn assert_removed(fx: &Fixture, cg: &ContainerCgroup) {
    for d in cg.paths() {
        assert!(!d.limit.exists(), "{} left behind", d.limit.display());
    }
    assert_eq!(fx.leftovers(), Vec::<PathBuf>::new());
}

#[test]
fn detect_matches_the_mounts() {
    let Ok(layout) = detect() else {
        skip!("no cgroups mounted")
    };
    eprint!("{layout}");
    let is_v2 = |p: &str| {
        nix::sys::statfs::statfs(p)
            .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
            .unwrap_or(false)
    };
    if is_v2("/sys/fs/cgroup") {
        assert_eq!(layout.kind, LayoutKind::Unified);
        assert_eq!(layout.unified_mount(), Some(Path::new("/sys/fs/cgroup")));
    } else if is_v2("/sys/fs/cgroup/unified") {
        // This machine: v1 controllers plus cgroup2 at /sys/fs/cgroup/unified.
        assert_eq!(layout.kind, LayoutKind::Hybrid);
        assert_eq!(
            layout.unified_mount(),
            Some(Path::new("/sys/fs/cgroup/unified"))
        );
        let mem = layout
            .v1_controller("memory")
            .expect("a v1 memory hierarchy");
        assert_eq!(mem.mount, Path::new("/sys/fs/cgroup/memory"));
        assert!(mem.own_dir().is_dir());
        assert!(layout.to_string().starts_with("cgroup layout: hybrid\n"));
    } else {
        assert_eq!(layout.kind, LayoutKind::Legacy);
    }
    for h in &layout.hierarchies {
        assert!(h.own_dir().is_dir(), "{}", h.own_dir().display());
    }
}

#[test]
fn limits_are_written_and_read_back() {
    let Some(fx) = Fixture::new("limits") else {
        return;
    };
    if fx.layout.v1_controller("memory").is_none() || fx.layout.v1_controller("pids").is_none() {
        skip!("needs v1 memory and pids controllers");
    }
    let cfg = fx
        .config()
        .with("lxc.cgroup.memory.limit_in_bytes", "64M")
        .with("lxc.cgroup.pids.max", "10");
    let cg = ContainerCgroup::create(&fx.layout, &cfg).unwrap();
    // One cgroup per hierarchy in use, named like LXC's.
    assert_eq!(cg.paths().len(), fx.layout.hierarchies.len());
    for d in cg.paths() {
        assert!(d.inner.is_dir(), "{}", d.inner.display());
        assert!(d.inner.ends_with(format!("{}/lxc.payload.c", fx.top)));
        assert_eq!(d.created_above.len(), 1);
    }
    assert_eq!(cg.get_item("memory.limit_in_bytes").unwrap(), "67108864\n");
    assert_eq!(cg.get_item("pids.max").unwrap(), "10\n");
    cg.set_item("pids.max", "20").unwrap();
    assert_eq!(cg.get_item("pids.max").unwrap(), "20\n");
    let mem = cg.path_for(Some("memory")).unwrap();
    assert_eq!(
        std::fs::read_to_string(mem.join("memory.limit_in_bytes")).unwrap(),
        "67108864\n"
    );
    // cgroup.* files resolve to the cgroup2 hierarchy when there is one.
    assert_eq!(cg.get_item("cgroup.procs").unwrap(), "");
    let e = cg.get_item("nosuch.file").unwrap_err();
    assert_eq!(e.key(), Some("nosuch.file"));
    cg.remove().unwrap();
    assert_removed(&fx, &cg);
    // Removing again is fine.
    cg.remove().unwrap();
}

#[test]
fn bad_settings_name_the_key_and_leave_nothing() {
    let Some(fx) = Fixture::new("badvalue") else {
        return;
    };
    if fx.layout.v1_controller("memory").is_none() {
        skip!("needs a v1 memory controller");
    }
    let cfg = fx.config().with("lxc.cgroup.memory.limit_in_bytes", "lots");
    let e = ContainerCgroup::create(&fx.layout, &cfg).unwrap_err();
    let msg = e.to_string();
    let mem = fx.layout.v1_controller("memory").unwrap().own_dir();
    assert_eq!(
        msg,
        format!(
            "lxc.cgroup.memory.limit_in_bytes: write {}/{}/lxc.payload.c/memory.limit_in_bytes: Invalid argument",
            mem.display(),
            fx.top
        )
    );
    assert_eq!(e.key(), Some("lxc.cgroup.memory.limit_in_bytes"));
    let hook = e.into_hook(lxc_core::Phase::PreClone).to_string();
    assert!(
        hook.starts_with("phase PreClone: cgroup: lxc.cgroup.memory.limit_in_bytes: write /"),
        "{hook}"
    );
    assert!(hook.ends_with(": Invalid argument"), "{hook}");
    assert_eq!(fx.leftovers(), Vec::<PathBuf>::new());

    let cfg = fx.config().with("lxc.cgroup.nosuch.thing", "1");
    let e = ContainerCgroup::create(&fx.layout, &cfg).unwrap_err();
    assert_eq!(e.key(), Some("lxc.cgroup.nosuch.thing"));
    assert!(e.to_string().contains("nosuch"), "{e}");
    let cfg = fx.config().with("lxc.cgroup.memory/../x", "1");
    let e = ContainerCgroup::create(&fx.layout, &cfg).unwrap_err();
    assert_eq!(e.key(), Some("lxc.cgroup.memory/../x"));
    assert_eq!(fx.leftovers(), Vec::<PathBuf>::new());
}

#[test]
fn attach_list_kill_and_remove() {
    let Some(fx) = Fixture::new("attach") else {
        return;
    };
    let cg = ContainerCgroup::create(&fx.layout, &fx.config()).unwrap();
    let mut kid = Kid::sleep();
    cg.attach(kid.pid()).unwrap();
    assert_eq!(cg.procs().unwrap(), vec![kid.pid()]);
    let own = std::fs::read_to_string(format!("/proc/{}/cgroup", kid.pid())).unwrap();
    for d in cg.paths() {
        assert!(
            own.lines().any(|l| l.ends_with(&d.cgroup_path())),
            "{} not in {own}",
            d.cgroup_path()
        );
    }
    kid.kill();
    assert_eq!(cg.procs().unwrap(), Vec::<i32>::new());
    cg.remove().unwrap();
    assert_removed(&fx, &cg);
}

#[test]
fn remove_waits_for_the_last_task() {
    let Some(fx) = Fixture::new("busy") else {
        return;
    };
    let cg = ContainerCgroup::create(&fx.layout, &fx.config()).unwrap();
    let mut kid = Kid::sleep();
    cg.attach(kid.pid()).unwrap();
    // A live task keeps its cgroup busy: remove reports it (after waiting a while), naming
    // the cgroup, with EBUSY for a C caller.
    let e = cg
        .remove_within(std::time::Duration::from_millis(200))
        .unwrap_err();
    let msg = e.to_string();
    assert_eq!(e.errno(), libc_ebusy(), "{msg}");
    assert!(
        cg.paths()
            .iter()
            .any(|d| msg.starts_with(&format!("remove {}", d.limit.display()))),
        "{msg}"
    );
    // v1 retries the rmdir; cgroup2 (the only hierarchy on a pure host) says what is inside.
    let busy = msg.contains(": Device or resource busy");
    let populated =
        msg.contains(" still populated after ") && msg.ends_with(&format!("(pids: {})", kid.pid()));
    assert!(busy || populated, "{msg}");
    kid.kill();
    cg.remove().unwrap();
    assert_removed(&fx, &cg);
}

#[test]
fn freeze_and_thaw() {
    let Some(fx) = Fixture::new("freeze") else {
        return;
    };
    let cg = ContainerCgroup::create(&fx.layout, &fx.config()).unwrap();
    let kid = Kid::sleep();
    cg.attach(kid.pid()).unwrap();
    assert_eq!(cg.freezer_state().unwrap(), FreezerState::Thawed);
    cg.freeze().unwrap();
    assert_eq!(cg.freezer_state().unwrap(), FreezerState::Frozen);
    cg.thaw().unwrap();
    assert_eq!(cg.freezer_state().unwrap(), FreezerState::Thawed);

    // The cgroup2 freezer on its own (what a pure cgroup2 host uses).
    let v2: Vec<HierarchyPaths> = cg
        .to_paths()
        .into_iter()
        .filter(|d| d.version == Version::V2)
        .collect();
    if v2.is_empty() {
        eprintln!("SKIP (part): no cgroup2 hierarchy for the cgroup2 freezer");
    } else {
        let only_v2 = ContainerCgroup::from_paths(v2).unwrap();
        only_v2.freeze().unwrap();
        assert_eq!(only_v2.freezer_state().unwrap(), FreezerState::Frozen);
        let status = std::fs::read_to_string(format!("/proc/{}/status", kid.pid())).unwrap();
        assert!(status.contains("State:"), "{status}");
        only_v2.thaw().unwrap();
        assert_eq!(only_v2.freezer_state().unwrap(), FreezerState::Thawed);
    }
    drop(kid);
    cg.remove().unwrap();
    assert_removed(&fx, &cg);
}

#[test]
fn taken_names_get_a_suffix() {
    let Some(fx) = Fixture::new("collide") else {
        return;
    };
    let first = ContainerCgroup::create(&fx.layout, &fx.config()).unwrap();
    let second = ContainerCgroup::create(&fx.layout, &fx.config()).unwrap();
    for d in first.paths() {
        assert!(d.limit.ends_with("lxc.payload.c"), "{}", d.limit.display());
    }
    for d in second.paths() {
        assert!(
            d.limit.ends_with("lxc.payload.c-1"),
            "{}",
            d.limit.display()
        );
        // The shared parent was made by the first container only.
        assert!(d.created_above.is_empty());
    }
    second.remove().unwrap();
    first.remove().unwrap();
    assert_removed(&fx, &first);

    // Taken in one hierarchy only is taken: the suffix applies everywhere.
    let last = fx.layout.hierarchies.last().unwrap();
    let squat = last.own_dir().join(&fx.top).join("lxc.payload.c");
    std::fs::create_dir_all(&squat).unwrap();
    let third = ContainerCgroup::create(&fx.layout, &fx.config()).unwrap();
    for d in third.paths() {
        assert!(
            d.limit.ends_with("lxc.payload.c-1"),
            "{}",
            d.limit.display()
        );
    }
    for h in &fx.layout.hierarchies[..fx.layout.hierarchies.len() - 1] {
        assert!(!h.own_dir().join(&fx.top).join("lxc.payload.c").exists());
    }
    third.remove().unwrap();
    std::fs::remove_dir(&squat).unwrap();
    std::fs::remove_dir(squat.parent().unwrap()).unwrap();
    assert_eq!(fx.leftovers(), Vec::<PathBuf>::new());

    // An explicit container dir is never renamed.
    let explicit = CgroupConfig {
        dir_container: Some(format!("{}/ct", fx.top)),
        dir_monitor: Some(format!("{}/mon", fx.top)),
        relative: true,
        ..CgroupConfig::new("c")
    };
    let a = ContainerCgroup::create(&fx.layout, &explicit).unwrap();
    let e = ContainerCgroup::create(&fx.layout, &explicit).unwrap_err();
    assert_eq!(e.key(), Some("lxc.cgroup.dir.container"));
    assert!(e.to_string().contains("already exists"), "{e}");
    a.remove().unwrap();
    assert_removed(&fx, &a);
}

#[test]
fn inner_cgroup_and_device_rules() {
    let Some(fx) = Fixture::new("inner") else {
        return;
    };
    if fx.layout.v1_controller("devices").is_none() {
        skip!("needs a v1 devices controller");
    }
    let cfg = CgroupConfig {
        dir_container: Some(format!("{}/ct", fx.top)),
        dir_monitor: Some(format!("{}/mon", fx.top)),
        dir_container_inner: Some("ns".into()),
        ..CgroupConfig::new("c")
    }
    .with("lxc.cgroup.devices.deny", "a")
    .with("lxc.cgroup.devices.allow", "/dev/null rwm")
    .with("lxc.cgroup.pids.max", "5");
    let cg = ContainerCgroup::create(&fx.layout, &cfg).unwrap();
    for d in cg.paths() {
        assert_eq!(d.inner, d.limit.join("ns"));
    }
    let dev = cg
        .paths()
        .iter()
        .find(|d| d.controllers.iter().any(|c| c == "devices"))
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dev.limit.join("devices.list")).unwrap(),
        "c 1:3 rwm\n"
    );
    if fx.layout.v1_controller("pids").is_some() {
        assert_eq!(cg.get_item("pids.max").unwrap(), "5\n");
    }
    let kid = Kid::sleep();
    cg.attach(kid.pid()).unwrap();
    for d in cg.paths() {
        let procs = std::fs::read_to_string(d.inner.join("cgroup.procs")).unwrap();
        assert_eq!(procs.trim(), kid.pid().to_string());
    }
    assert_eq!(cg.procs().unwrap(), vec![kid.pid()]);
    drop(kid);
    cg.remove().unwrap();
    assert_removed(&fx, &cg);
}

#[test]
fn paths_round_trip() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<ContainerCgroup>();
    let Some(fx) = Fixture::new("paths") else {
        return;
    };
    let cg = ContainerCgroup::create(&fx.layout, &fx.config()).unwrap();
    let json = serde_json::to_string(&cg.to_paths()).unwrap();
    let back: Vec<HierarchyPaths> = serde_json::from_str(&json).unwrap();
    let again = ContainerCgroup::from_paths(back).unwrap();
    assert_eq!(again, cg);
    // A second handle (as a cleanup process would make) removes everything.
    std::thread::spawn(move || again.remove().unwrap())
        .join()
        .unwrap();
    assert_removed(&fx, &cg);
}

#[test]
fn registers_the_cgroup_component() {
    let reg = lxc_core::registry::registrations()
        .into_iter()
        .find(|r| r.name == "cgroup")
        .expect("cgroup component linked in");
    assert_eq!(reg.kind, lxc_core::registry::EntryKind::Component);
    let phases: Vec<lxc_core::Phase> = reg.hooks.iter().map(|h| h.phase).collect();
    assert_eq!(
        phases,
        [
            lxc_core::Phase::Load,
            lxc_core::Phase::PreClone,
            lxc_core::Phase::HostSetup,
            // The device rules of a pure cgroup2 host (devices.rs).
            lxc_core::Phase::PreExec,
            lxc_core::Phase::Stop
        ]
    );
}

#[test]
fn reads_settings_from_a_config() {
    let key = "lxc.cgroup.memory.limit_in_bytes";
    if !lxc_core::config_item_is_supported(key) {
        skip!("{key} is not parsed by this build's lxc-core yet");
    }
    let text = "\
lxc.cgroup.dir = lxcrs-t-conf
lxc.cgroup.memory.limit_in_bytes = 64M
lxc.cgroup2.memory.max = 1G
lxc.cgroup.relative = 1
lxc.cgroup.devices.allow = c 1:3 rwm
";
    let config = lxc_core::Config::parse_str(text, None).unwrap();
    let cfg = CgroupConfig::from_config("c1", &config);
    assert_eq!(cfg.dir.as_deref(), Some("lxcrs-t-conf"));
    assert!(cfg.relative);
    let keys: Vec<&str> = cfg.settings.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "lxc.cgroup.memory.limit_in_bytes",
            "lxc.cgroup2.memory.max",
            "lxc.cgroup.devices.allow"
        ]
    );
}
