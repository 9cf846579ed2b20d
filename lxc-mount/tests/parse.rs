//! Parsing of mount lines and `lxc.mount.auto`, checked against LXC's semantics
//! (conf.c: mount_opt table, parse_lxc_mount_attrs; confile.c: set_config_mount_auto).

use std::path::Path;

// The terminal keys the mount plan reads (lxc.pty.max, lxc.tty.dir) are lxc-console's.
use lxc_console as _;
use lxc_core::phase::StartMode;
use lxc_core::{Config, Origin, Phase};
use lxc_ext_cgroup2_auto_mounting as _;
use lxc_mount::auto::Shmounts;
use lxc_mount::{
    parse_fstab, parse_mount_auto, parse_mount_entry, parse_mount_options, AutoMounts, CgroupAuto,
    CgroupKind, CgroupMode, MountError, MountPlan, ProcAuto, Site, SysAuto,
};
use nix::mount::MsFlags;

#[test]
fn flags_data_and_lxc_options_are_split() {
    let o = parse_mount_options("ro,nosuid,size=10m,create=dir,optional").unwrap();
    assert_eq!(o.flags, MsFlags::MS_RDONLY | MsFlags::MS_NOSUID);
    assert_eq!(o.data.as_deref(), Some("size=10m"));
    assert!(o.create_dir && o.optional);
    assert!(!o.create_file && !o.relative && !o.dev);
    assert!(o.propagation.is_empty());
}

#[test]
fn later_options_override_earlier_ones() {
    let o = parse_mount_options("ro,rw,nodev,dev,noexec").unwrap();
    assert_eq!(o.flags, MsFlags::MS_NOEXEC);
    assert!(o.cleared.contains(MsFlags::MS_RDONLY | MsFlags::MS_NODEV));
    assert!(o.dev);
}

#[test]
fn bind_rbind_and_propagation() {
    let o = parse_mount_options("rbind,rslave,create=file").unwrap();
    assert_eq!(o.flags, MsFlags::MS_BIND | MsFlags::MS_REC);
    assert_eq!(o.propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
    assert!(o.create_file);
    let o = parse_mount_options("bind,private").unwrap();
    assert_eq!(o.flags, MsFlags::MS_BIND);
    assert_eq!(o.propagation, MsFlags::MS_PRIVATE);
}

#[test]
fn unknown_flags_go_to_the_filesystem() {
    // `defaults` means nothing; `newinstance` is a devpts option, not a mount flag;
    // options are matched whole, so `devmode=1` is data, not `dev`.
    let o = parse_mount_options("defaults,newinstance,devmode=1,uid=0").unwrap();
    assert!(o.flags.is_empty());
    assert!(!o.dev);
    assert_eq!(o.data.as_deref(), Some("newinstance,devmode=1,uid=0"));
}

#[test]
fn relative_idmap_and_remount() {
    let o = parse_mount_options("bind,relative,idmap=container,remount,ro").unwrap();
    assert!(o.relative);
    assert_eq!(o.idmap.as_deref(), Some("container"));
    assert_eq!(
        o.flags,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY
    );
    assert!(parse_mount_options("bind,idmap=").is_err());
}

#[test]
fn fstab_fields() {
    let e = parse_mount_entry("/srv/data srv/data none bind,create=dir 0 0").unwrap();
    assert_eq!(e.source, "/srv/data");
    assert_eq!(e.target, "srv/data");
    assert_eq!(e.fstype, "none");
    assert_eq!(e.options, "bind,create=dir");
    assert!(e.is_bind() && e.opts.create_dir);
    assert_eq!((e.dump, e.pass), (0, 0));

    // Tabs, runs of blanks, missing dump/pass, octal escapes as getmntent decodes them.
    let e = parse_mount_entry("tmpfs\t\tdev/shm   tmpfs  size=1m\n").unwrap();
    assert_eq!((e.source.as_str(), e.target.as_str()), ("tmpfs", "dev/shm"));
    assert_eq!(e.opts.data.as_deref(), Some("size=1m"));
    let e = parse_mount_entry(r"/a\040b mnt/a\040b none bind 1 2").unwrap();
    assert_eq!(e.source, "/a b");
    assert_eq!(e.target, "mnt/a b");
    assert_eq!((e.dump, e.pass), (1, 2));
    // No options field: nothing special.
    let e = parse_mount_entry("proc proc proc").unwrap();
    assert!(e.opts.flags.is_empty() && e.opts.data.is_none());
}

#[test]
fn short_lines_are_rejected_with_the_key() {
    let e = parse_mount_entry("/srv/data srv/data").unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("lxc.mount.entry: invalid value"), "{msg}");
    let e = e.at(Site::new(
        "lxc.mount.entry",
        Some(Origin::file("web01/config", 14)),
    ));
    assert!(
        e.to_string()
            .starts_with("lxc.mount.entry (web01/config:14): invalid value"),
        "{e}"
    );
}

#[test]
fn fstab_skips_comments_and_blank_lines() {
    let text =
        "# a comment\n\n  \t\nproc proc proc nodev 0 0\n   # indented comment\nsys sys sysfs ro\n";
    let v = parse_fstab(text);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].0, 4);
    assert_eq!(v[1].0, 6);
    assert_eq!(v[1].1.as_ref().unwrap().opts.flags, MsFlags::MS_RDONLY);
}

#[test]
fn mount_auto_tokens() {
    let a = parse_mount_auto(["proc:mixed sys:ro cgroup:mixed:force"]).unwrap();
    assert_eq!(a.proc, Some(ProcAuto::Mixed));
    assert_eq!(a.sys, Some(SysAuto::Ro));
    assert_eq!(
        a.cgroup,
        Some(CgroupAuto {
            kind: CgroupKind::Cgroup,
            mode: CgroupMode::Mixed,
            force: true
        })
    );
    let a = parse_mount_auto(["proc", "sys", "cgroup-full"]).unwrap();
    assert_eq!(a.proc, Some(ProcAuto::Mixed));
    assert_eq!(a.sys, Some(SysAuto::Mixed));
    assert_eq!(
        a.cgroup,
        Some(CgroupAuto {
            kind: CgroupKind::Full,
            mode: CgroupMode::Unspecified,
            force: false
        })
    );
    let a = parse_mount_auto(["proc:rw sys:rw cgroup-full:ro:force"]).unwrap();
    assert_eq!(a.proc, Some(ProcAuto::Rw));
    assert_eq!(a.sys, Some(SysAuto::Rw));
    assert_eq!(a.cgroup.unwrap().kind, CgroupKind::Full);
    assert_eq!(a.cgroup.unwrap().mode, CgroupMode::Ro);
    assert!(a.cgroup.unwrap().force);
    // cgroup2 is always forced.
    let a = parse_mount_auto(["cgroup2:ro"]).unwrap();
    assert_eq!(
        a.cgroup,
        Some(CgroupAuto {
            kind: CgroupKind::Cgroup2,
            mode: CgroupMode::Ro,
            force: true
        })
    );
}

#[test]
fn mount_auto_later_tokens_win_and_empty_clears() {
    let a = parse_mount_auto(["proc:rw sys:ro", "proc:mixed"]).unwrap();
    assert_eq!(a.proc, Some(ProcAuto::Mixed));
    assert_eq!(a.sys, Some(SysAuto::Ro));
    // A value without tokens changes nothing, as in LXC (an empty value clears the key in the
    // config engine before any value reaches the mount code).
    let a = parse_mount_auto(["proc sys", "", " \t "]).unwrap();
    assert_eq!(a.proc, Some(ProcAuto::Mixed));
    assert_eq!(a.sys, Some(SysAuto::Mixed));
    assert!(AutoMounts::default().is_empty());
}

#[test]
fn mount_auto_shmounts() {
    let a = parse_mount_auto(["shmounts:/run/shared"]).unwrap();
    assert_eq!(
        a.shmounts,
        Some(Shmounts {
            host: "/run/shared".into(),
            container: "/dev/.lxc-mounts".into()
        })
    );
    let a = parse_mount_auto(["shmounts:/run/shared:/mnt/in"]).unwrap();
    assert_eq!(a.shmounts.unwrap().container, "/mnt/in");
    // LXC splits at the first ':' after the host path, and keeps a trailing ':' in it.
    let a = parse_mount_auto(["shmounts:/h:/c:/d"]).unwrap();
    assert_eq!(
        a.active_shmounts(),
        Some(&Shmounts {
            host: "/h".into(),
            container: "/c:/d".into()
        })
    );
    let a = parse_mount_auto(["shmounts:/h:"]).unwrap();
    assert_eq!(a.active_shmounts().unwrap().host, "/h:");
    assert_eq!(a.active_shmounts().unwrap().container, "/dev/.lxc-mounts");
    // A bare `shmounts:` turns them on and keeps the paths an earlier token gave.
    let a = parse_mount_auto(["shmounts:/h", "shmounts:"]).unwrap();
    assert_eq!(a.active_shmounts().unwrap().host, "/h");
    let a = parse_mount_auto(["shmounts:"]).unwrap();
    assert!(a.shmounts_on && a.shmounts.is_none());
}

#[test]
fn mount_auto_rejects_unknown_tokens() {
    for bad in [
        "procfs",
        "sys:mixed:force",
        "cgroup:bogus",
        "cgroup-full:rw:forced",
        "cgroup2:rw",
        "proc:ro",
        "shmounts",
    ] {
        let e = parse_mount_auto([bad]).unwrap_err();
        assert!(
            matches!(&e, MountError::Invalid { value, .. } if value == bad),
            "{bad}: {e}"
        );
        assert!(
            e.to_string().starts_with("lxc.mount.auto: invalid value"),
            "{e}"
        );
    }
}

#[test]
fn errors_become_core_hook_errors_naming_key_and_line() {
    let e = MountError::sys(
        &Site::new("lxc.mount.entry", Some(Origin::file("web01/config", 14))),
        "mount /srv/data on /var/lib/lxc/web01/rootfs/srv",
        "/var/lib/lxc/web01/rootfs/srv",
        std::io::Error::from_raw_os_error(2),
    );
    assert_eq!(e.errno(), Some(2));
    let core = e.into_core(Phase::ChildMounts);
    match &core {
        lxc_core::Error::Hook {
            phase,
            owner,
            key,
            message,
        } => {
            assert_eq!(*phase, Phase::ChildMounts);
            assert_eq!(*owner, "mount");
            assert_eq!(key.as_deref(), Some("lxc.mount.entry"));
            assert_eq!(
                message,
                "lxc.mount.entry (web01/config:14): mount /srv/data on \
                 /var/lib/lxc/web01/rootfs/srv: No such file or directory"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_component_is_registered() {
    use lxc_core::registry::{hooks_for, registrations, EntryKind};
    let r = registrations()
        .into_iter()
        .find(|r| r.name == "mount")
        .expect("mount registered");
    assert_eq!(r.kind, EntryKind::Component);
    assert!(hooks_for(Phase::ChildMounts)
        .iter()
        .any(|(n, _)| *n == "mount"));
    assert!(hooks_for(Phase::ChildPivot)
        .iter()
        .any(|(n, _)| *n == "mount"));
}

/// The plan reads keys of several owners (the terminal and capability keys are not this
/// crate's): all of them are linked into this test.
#[test]
fn plan_from_config() {
    let keys = [
        "lxc.rootfs.path",
        "lxc.rootfs.mount",
        "lxc.mount.auto",
        "lxc.mount.entry",
        "lxc.autodev",
        "lxc.pty.max",
        "lxc.tty.dir",
        "lxc.cap.drop",
    ];
    if let Some(k) = keys.iter().find(|k| !lxc_core::config_item_is_supported(k)) {
        panic!("{k} is not supported: its component is not linked into this test");
    }
    let text = "\
lxc.rootfs.path = dir:/var/lib/lxc/web01/rootfs
lxc.rootfs.mount = /mnt/lxcrs-t-root
lxc.mount.auto = proc:mixed sys:ro
lxc.mount.auto = cgroup:mixed
lxc.mount.entry = /srv/data srv/data none bind,create=dir 0 0
lxc.mount.entry = tmpfs tmp tmpfs size=1m,nosuid 0 0
lxc.pty.max = 16
lxc.tty.dir = lxc
lxc.cap.drop = sys_admin
";
    let config = Config::parse_str(text, Some(Path::new("web01/config"))).unwrap();
    let plan = MountPlan::from_config(
        &config,
        "web01",
        Path::new("/var/lib/lxc"),
        StartMode::Start,
    )
    .unwrap();
    let r = plan.rootfs.as_ref().unwrap();
    assert_eq!(r.path, Path::new("/var/lib/lxc/web01/rootfs"));
    assert_eq!(r.storage.as_deref(), Some("dir"));
    assert_eq!(
        plan.rootfs_dir().unwrap(),
        Path::new("/var/lib/lxc/web01/rootfs")
    );
    assert_eq!(r.mount.as_ref().unwrap().0, Path::new("/mnt/lxcrs-t-root"));
    assert_eq!(plan.auto.proc, Some(ProcAuto::Mixed));
    assert_eq!(plan.auto.sys, Some(SysAuto::Ro));
    assert_eq!(plan.auto.cgroup.unwrap().mode, CgroupMode::Mixed);
    assert_eq!(plan.entries.len(), 2);
    assert_eq!(
        plan.entries[1].site.to_string(),
        "lxc.mount.entry (web01/config:6)"
    );
    assert!(plan.autodev, "autodev defaults to 1 with a rootfs");
    assert_eq!(plan.autodev_size, 500_000);
    assert_eq!(plan.pty_max, 16);
    assert_eq!(plan.tty_dir.as_deref(), Some("lxc"));
    assert!(!plan.caps.wants("sys_admin", 21));
    assert!(plan.caps.wants("net_admin", 12));

    // No rootfs: the host's /, and no autodev unless asked for.
    let config = Config::parse_str("lxc.mount.auto = proc\n", None).unwrap();
    let plan = MountPlan::from_config(&config, "x", Path::new("/tmp"), StartMode::Execute).unwrap();
    assert!(plan.rootfs.is_none());
    assert!(!plan.autodev);
}

#[test]
fn cgroup_hierarchies_from_mountinfo() {
    use lxc_mount::auto::{cgroup_hierarchies, Hierarchy};
    let mi = "\
25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
50 41 0:38 /x /sys/fs/cgroup/unified/x rw - cgroup2 cgroup2 rw
";
    let known: Vec<String> = ["cpu", "cpuacct", "memory"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let h = cgroup_hierarchies(mi, &known);
    assert_eq!(
        h,
        vec![
            Hierarchy {
                at_mnt: "cpu,cpuacct".into(),
                unified: false,
                controllers: vec!["cpu".into(), "cpuacct".into()]
            },
            Hierarchy {
                at_mnt: "systemd".into(),
                unified: false,
                controllers: vec!["name=systemd".into()]
            },
            Hierarchy {
                at_mnt: "unified".into(),
                unified: true,
                controllers: vec![]
            },
        ]
    );
    // Pure cgroup2: /sys/fs/cgroup itself.
    let h = cgroup_hierarchies(
        "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
        &known,
    );
    assert_eq!(h.len(), 1);
    assert!(h[0].unified && h[0].at_mnt.is_empty());
}

/// `lxc.mount.auto` has one grammar: what the key's parser accepts at set time is exactly what
/// the mount code reads at start time, and both read it the same way.
#[test]
fn mount_auto_key_and_mount_code_share_one_grammar() {
    let values = [
        "proc",
        "proc:rw sys:ro cgroup:mixed",
        "cgroup:force",
        "cgroup2:ro:force",
        "cgroup-full:rw:force",
        "shmounts:/a:/b",
        "shmounts:",
        " \t sys:mixed\tproc:mixed ",
        "  ",
        "bogus",
        "proc bogus",
        "PROC",
        "proc:ro",
        "cgroup2:rw",
        "cgroup:",
        "shmounts",
    ];
    for v in values {
        let mut c = Config::new();
        let set = c.set("lxc.mount.auto", v);
        let parsed = parse_mount_auto([v]);
        assert_eq!(set.is_ok(), parsed.is_ok(), "{v:?}: {set:?} / {parsed:?}");
        if let Err(e) = set {
            let why = e.to_string();
            assert!(why.contains("automount tokens"), "{v:?}: {why}");
            continue;
        }
        let plan = MountPlan::from_config(&c, "x", Path::new("/tmp"), StartMode::Execute)
            .expect("the plan reads what the key took");
        assert_eq!(plan.auto, parsed.unwrap(), "{v:?}");
        // The printed value is the replayed tokens, LXC's way.
        assert_eq!(c.get("lxc.mount.auto").unwrap(), plan.auto.to_lxc_string());
    }
}

/// A bare `shmounts:` is accepted like LXC does, but gives no host path to share: the start
/// refuses it by key, instead of binding a path that is not there.
#[test]
fn bare_shmounts_is_refused_at_start() {
    let c = Config::parse_str("lxc.mount.auto = shmounts:\n", Some(Path::new("c/config"))).unwrap();
    let plan = MountPlan::from_config(&c, "x", Path::new("/tmp"), StartMode::Execute).unwrap();
    let e = plan.all_entries().unwrap_err().to_string();
    assert!(
        e.contains("lxc.mount.auto") && e.contains("host path"),
        "{e}"
    );
}
