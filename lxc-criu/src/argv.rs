//! CRIU's command line, in the order and form LXC 5.0.2's `exec_criu` (src/lxc/criu.c) builds
//! it. Pure: everything read from the container or the host comes in a [`Plan`], so each case
//! can be compared with LXC's line in tests.

use std::path::{Path, PathBuf};

use crate::MigrateOpts;

/// criu's version from which `--skip-in-flight` exists (LXC compares it as a string).
pub const CRIU_IN_FLIGHT_SUPPORT: &str = "2.4";
/// From this version veth pairs are `--external veth[...]` instead of `--veth-pair`.
pub const CRIU_EXTERNAL_NOT_VETH: &str = "2.8";
/// From this version physical devices can be restored (`--external netdev[...]`).
pub const CRIU_EXTERNAL_NETDEV: &str = "3.15";

/// The criu action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    PreDump,
    Dump,
    Restore,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::PreDump => "pre-dump",
            Action::Dump => "dump",
            Action::Restore => "restore",
        }
    }
}

/// One cgroup hierarchy of the container: its controllers and the container's cgroup in it
/// (relative to the hierarchy's root, with a leading `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupRoot {
    pub controllers: Vec<String>,
    pub path: String,
}

/// A bind `lxc.mount.entry`: its source (`mnt_fsname`) and its target as written (`mnt_dir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindEntry {
    pub source: String,
    pub target: String,
}

/// A network of the container as the restore maps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetDev {
    /// veth: the name inside, the host side's name, the bridge (may be empty).
    Veth {
        name: String,
        host: String,
        link: String,
    },
    Macvlan {
        name: String,
        link: String,
    },
    Phys {
        name: String,
        link: String,
    },
    /// `empty` and `none`: nothing to map.
    Nothing,
}

/// What the dump side needs beyond the common part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpPart {
    pub init_pid: i32,
    /// `--freeze-cgroup`'s path.
    pub freezer: String,
    /// `tty[RDEV:DEV]` of the container's /dev/console, empty with `lxc.console.path = none`.
    pub tty_id: String,
}

/// What the restore side needs beyond the common part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePart {
    /// `lxc.rootfs.mount`, where the rootfs is bound for criu's `--root`.
    pub root: PathBuf,
    /// tty.info of the dump, and the fd (in criu) of the new console's peer.
    pub tty: Option<(String, i32)>,
    /// The new console's name on the host (`/dev/pts/N`).
    pub console_name: Option<String>,
    /// `apparmor:PROFILE` or `selinux:CONTEXT`.
    pub lsm_profile: Option<String>,
    pub netdevs: Vec<NetDev>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    Dump(DumpPart),
    Restore(RestorePart),
}

/// Everything one criu command line is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// criu's path (found on PATH, as LXC's `on_path`).
    pub criu: PathBuf,
    pub action: Action,
    /// The user's options (`directory`, `verbose`, ... as liblxc's `migrate_opts`).
    pub user: MigrateOpts,
    /// `Version:` of `criu --version`.
    pub criu_version: String,
    pub cgroups: Vec<CgroupRoot>,
    pub binds: Vec<BindEntry>,
    pub side: Side,
}

/// Why a plan cannot become a command line (LXC refuses these the same way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// The dump had a console, the restore has none to give it.
    ConsoleMissing,
    MacvlanNoLink(String),
    PhysNoLink(String),
    PhysUnsupported(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::ConsoleMissing => {
                write!(
                    f,
                    "lxc.console.path configured on source host but not target"
                )
            }
            PlanError::MacvlanNoLink(n) => write!(f, "no host interface (link) for macvlan {n}"),
            PlanError::PhysNoLink(n) => write!(f, "phys {n}: specifying link is required"),
            PlanError::PhysUnsupported(v) => write!(
                f,
                "restoring physical network devices needs criu {CRIU_EXTERNAL_NETDEV}, this is {v}"
            ),
        }
    }
}

/// The log criu writes: `DIRECTORY/ACTION.log`.
pub fn log_path(directory: &Path, action: Action) -> PathBuf {
    PathBuf::from(format!("{}/{}.log", directory.display(), action.as_str()))
}

/// LXC's `cmp_version`: `major.minor.patch` compared as numbers; -1 when either does not
/// parse (or on a missing patch number where the other has one).
pub fn cmp_version(v1: &str, v2: &str) -> i32 {
    fn parse(v: &str) -> Option<[i64; 3]> {
        let mut out = [-1i64; 3];
        let mut any = false;
        for (i, part) in v.split('.').take(3).enumerate() {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            match digits.parse() {
                Ok(n) => {
                    out[i] = n;
                    any = true;
                }
                Err(_) => break,
            }
            if digits.len() != part.len() {
                break;
            }
        }
        any.then_some(out)
    }
    let (Some(a), Some(b)) = (parse(v1), parse(v2)) else {
        return -1;
    };
    for i in 0..2 {
        if a[i] != b[i] {
            return if a[i] > b[i] { 1 } else { -1 };
        }
    }
    match a[2].cmp(&b[2]) {
        std::cmp::Ordering::Greater => 1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Less => -1,
    }
}

/// criu's argv (argv[0] the binary), as LXC 5.0.2 orders it.
pub fn build(plan: &Plan) -> Result<Vec<String>, PlanError> {
    let u = &plan.user;
    let dir = u.directory.display().to_string();
    let mut a: Vec<String> = vec![plan.criu.display().to_string()];
    let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
    push(&[
        plan.action.as_str(),
        "--tcp-established",
        "--file-locks",
        "--link-remap",
        "--manage-cgroups=full",
        "--ext-mount-map",
        "auto",
        "--enable-external-sharing",
        "--enable-external-masters",
        "--enable-fs",
        "hugetlbfs",
        "--enable-fs",
        "tracefs",
        "-D",
        &dir,
        "-o",
        &log_path(&u.directory, plan.action).display().to_string(),
    ]);
    for cg in &plan.cgroups {
        let root = if cg.controllers.is_empty() {
            cg.path.clone()
        } else {
            format!("{}:{}", cg.controllers.join(","), cg.path)
        };
        push(&["--cgroup-root", &root]);
    }
    if u.verbose {
        push(&["-v4"]);
    }
    if let Some(s) = &u.action_script {
        push(&["--action-script", s]);
    }
    for b in &plan.binds {
        let map = match plan.action {
            Action::Dump => format!("/{}:{}", b.target, b.target),
            // LXC's pre-dump takes the restore's form (its check is for "dump" only).
            Action::PreDump | Action::Restore => format!("{}:{}", b.target, b.source),
        };
        push(&["--ext-mount-map", &map]);
    }
    match &plan.side {
        Side::Dump(d) => {
            push(&["-t", &d.init_pid.to_string()]);
            // A string comparison, as LXC's strcmp.
            if !u.disable_skip_in_flight && plan.criu_version.as_str() >= CRIU_IN_FLIGHT_SUPPORT {
                push(&["--skip-in-flight"]);
            }
            push(&["--freeze-cgroup", &d.freezer]);
            if !d.tty_id.is_empty() {
                push(&["--ext-mount-map", "/dev/console:console"]);
                push(&["--external", &d.tty_id]);
            }
            if let Some(p) = &u.predump_dir {
                push(&["--prev-images-dir", p, "--track-mem"]);
            }
            if let (Some(addr), Some(port)) = (&u.pageserver_address, &u.pageserver_port) {
                push(&["--page-server", "--address", addr, "--port", port]);
            }
            if !u.preserves_inodes {
                push(&["--force-irmap"]);
            }
            if u.ghost_limit != 0 {
                push(&["--ghost-limit", &u.ghost_limit.to_string()]);
            }
            if plan.action == Action::Dump && !u.stop {
                push(&["--leave-running"]);
            }
        }
        Side::Restore(r) => {
            push(&[
                "--root",
                &r.root.display().to_string(),
                "--restore-detached",
                "--restore-sibling",
            ]);
            if let Some((tty, fd)) = &r.tty {
                if *fd < 0 {
                    return Err(PlanError::ConsoleMissing);
                }
                push(&["--inherit-fd", &format!("fd[{fd}]:{tty}")]);
            }
            if let Some(name) = &r.console_name {
                push(&["--ext-mount-map", &format!("console:{name}")]);
            }
            if let Some(p) = &r.lsm_profile {
                push(&["--lsm-profile", p]);
            }
            let external = cmp_version(&plan.criu_version, CRIU_EXTERNAL_NOT_VETH) >= 0;
            for (n, dev) in r.netdevs.iter().enumerate() {
                let eth = |name: &str| {
                    if name.is_empty() {
                        format!("eth{n}")
                    } else {
                        name.to_string()
                    }
                };
                let spec = match dev {
                    NetDev::Veth { name, host, link } => {
                        let eth = eth(name);
                        let at = if link.is_empty() {
                            String::new()
                        } else {
                            format!("@{link}")
                        };
                        if external {
                            format!("veth[{eth}]:{host}{at}")
                        } else {
                            format!("{eth}={host}{at}")
                        }
                    }
                    NetDev::Macvlan { name, link } => {
                        if link.is_empty() {
                            return Err(PlanError::MacvlanNoLink(eth(name)));
                        }
                        format!("macvlan[{}]:{link}", eth(name))
                    }
                    NetDev::Phys { name, link } => {
                        if cmp_version(&plan.criu_version, CRIU_EXTERNAL_NETDEV) < 0 {
                            return Err(PlanError::PhysUnsupported(plan.criu_version.clone()));
                        }
                        if link.is_empty() {
                            return Err(PlanError::PhysNoLink(eth(name)));
                        }
                        format!("netdev[{}]:{link}", eth(name))
                    }
                    NetDev::Nothing => {
                        // LXC still passes the option, with the buffer of the last entry
                        // (garbage for a first entry); lxc-rs passes nothing for these.
                        continue;
                    }
                };
                push(&[
                    if external {
                        "--external"
                    } else {
                        "--veth-pair"
                    },
                    &spec,
                ]);
            }
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(action: Action, side: Side) -> Plan {
        Plan {
            criu: PathBuf::from("/usr/sbin/criu"),
            action,
            user: MigrateOpts::new("/d"),
            criu_version: "3.17.1".into(),
            cgroups: vec![CgroupRoot {
                controllers: vec!["cpu".into(), "memory".into()],
                path: "/lxc.payload.c1".into(),
            }],
            binds: vec![BindEntry {
                source: "/srv".into(),
                target: "srv".into(),
            }],
            side,
        }
    }

    fn dump() -> Side {
        Side::Dump(DumpPart {
            init_pid: 42,
            freezer: "/sys/fs/cgroup//lxc.payload.c1".into(),
            tty_id: String::new(),
        })
    }

    fn restore(netdevs: Vec<NetDev>) -> Side {
        Side::Restore(RestorePart {
            root: PathBuf::from("/usr/lib/x86_64-linux-gnu/lxc/rootfs"),
            tty: None,
            console_name: None,
            lsm_profile: None,
            netdevs,
        })
    }

    fn line(p: &Plan) -> String {
        build(p).unwrap().join(" ")
    }

    const COMMON: &str = "--tcp-established --file-locks --link-remap --manage-cgroups=full \
                          --ext-mount-map auto --enable-external-sharing \
                          --enable-external-masters --enable-fs hugetlbfs --enable-fs tracefs";

    #[test]
    fn a_plain_dump_is_lxc_s_line() {
        assert_eq!(
            line(&plan(Action::Dump, dump())),
            format!(
                "/usr/sbin/criu dump {COMMON} -D /d -o /d/dump.log \
                 --cgroup-root cpu,memory:/lxc.payload.c1 --ext-mount-map /srv:srv -t 42 \
                 --skip-in-flight --freeze-cgroup /sys/fs/cgroup//lxc.payload.c1 \
                 --force-irmap --leave-running"
            )
        );
    }

    #[test]
    fn every_dump_option_in_lxc_s_order() {
        let mut p = plan(Action::PreDump, dump());
        if let Side::Dump(d) = &mut p.side {
            d.tty_id = "tty[8800:1b]".into();
        }
        p.cgroups[0].controllers.clear();
        p.user.verbose = true;
        p.user.action_script = Some("/bin/act".into());
        p.user.predump_dir = Some("../pre".into());
        p.user.pageserver_address = Some("127.0.0.1".into());
        p.user.pageserver_port = Some("2000".into());
        p.user.preserves_inodes = true;
        p.user.ghost_limit = 4096;
        p.user.disable_skip_in_flight = true;
        p.user.stop = false;
        // pre-dump: the bind in the restore's form, no --leave-running.
        assert_eq!(
            line(&p),
            format!(
                "/usr/sbin/criu pre-dump {COMMON} -D /d -o /d/pre-dump.log \
                 --cgroup-root /lxc.payload.c1 -v4 --action-script /bin/act \
                 --ext-mount-map srv:/srv -t 42 \
                 --freeze-cgroup /sys/fs/cgroup//lxc.payload.c1 \
                 --ext-mount-map /dev/console:console --external tty[8800:1b] \
                 --prev-images-dir ../pre --track-mem \
                 --page-server --address 127.0.0.1 --port 2000 --ghost-limit 4096"
            )
        );
        // A page server needs both halves.
        p.user.pageserver_port = None;
        assert!(!line(&p).contains("--page-server"));
        // -s: no --leave-running.
        let mut p = plan(Action::Dump, dump());
        p.user.stop = true;
        assert!(!line(&p).contains("--leave-running"));
    }

    #[test]
    fn skip_in_flight_follows_lxc_s_string_comparison() {
        let mut p = plan(Action::Dump, dump());
        p.criu_version = "2.3".into();
        assert!(!line(&p).contains("--skip-in-flight"));
        p.criu_version = "2.4".into();
        assert!(line(&p).contains("--skip-in-flight"));
        // LXC compares the strings: criu 10.0 sorts before 2.4.
        p.criu_version = "10.0".into();
        assert!(!line(&p).contains("--skip-in-flight"));
    }

    #[test]
    fn a_restore_maps_console_lsm_and_networks() {
        let nets = vec![
            NetDev::Veth {
                name: String::new(),
                host: "vethAbC123".into(),
                link: "br0".into(),
            },
            NetDev::Nothing,
            NetDev::Macvlan {
                name: "mv0".into(),
                link: "eth9".into(),
            },
            NetDev::Phys {
                name: String::new(),
                link: "dummy0".into(),
            },
        ];
        let mut p = plan(Action::Restore, restore(nets));
        if let Side::Restore(r) = &mut p.side {
            r.tty = Some(("tty[8800:1b]".into(), 7));
            r.console_name = Some("/dev/pts/3".into());
            r.lsm_profile = Some("apparmor:lxc-container-default".into());
        }
        assert_eq!(
            line(&p),
            format!(
                "/usr/sbin/criu restore {COMMON} -D /d -o /d/restore.log \
                 --cgroup-root cpu,memory:/lxc.payload.c1 --ext-mount-map srv:/srv \
                 --root /usr/lib/x86_64-linux-gnu/lxc/rootfs --restore-detached \
                 --restore-sibling --inherit-fd fd[7]:tty[8800:1b] \
                 --ext-mount-map console:/dev/pts/3 \
                 --lsm-profile apparmor:lxc-container-default \
                 --external veth[eth0]:vethAbC123@br0 --external macvlan[mv0]:eth9 \
                 --external netdev[eth3]:dummy0"
            )
        );
    }

    #[test]
    fn older_criu_gets_veth_pair_and_no_phys() {
        let veth = NetDev::Veth {
            name: "eth0".into(),
            host: "vethAbC123".into(),
            link: String::new(),
        };
        let mut p = plan(Action::Restore, restore(vec![veth]));
        p.criu_version = "2.7".into();
        assert!(
            line(&p).ends_with("--veth-pair eth0=vethAbC123"),
            "{}",
            line(&p)
        );
        let phys = NetDev::Phys {
            name: "eth0".into(),
            link: "dummy0".into(),
        };
        let mut p = plan(Action::Restore, restore(vec![phys]));
        p.criu_version = "3.14".into();
        assert_eq!(build(&p), Err(PlanError::PhysUnsupported("3.14".into())));
    }

    #[test]
    fn what_lxc_refuses_is_refused() {
        let refuse = |dev: NetDev| build(&plan(Action::Restore, restore(vec![dev]))).unwrap_err();
        assert_eq!(
            refuse(NetDev::Macvlan {
                name: String::new(),
                link: String::new()
            }),
            PlanError::MacvlanNoLink("eth0".into())
        );
        assert_eq!(
            refuse(NetDev::Phys {
                name: "p".into(),
                link: String::new()
            }),
            PlanError::PhysNoLink("p".into())
        );
        // A dump with a console, restored where there is none.
        let mut p = plan(Action::Restore, restore(Vec::new()));
        if let Side::Restore(r) = &mut p.side {
            r.tty = Some(("tty[8800:1b]".into(), -1));
        }
        assert_eq!(build(&p), Err(PlanError::ConsoleMissing));
    }

    #[test]
    fn versions_compare_as_lxc_s_cmp_version() {
        assert_eq!(cmp_version("3.17.1", "2.8"), 1);
        assert_eq!(cmp_version("2.8", "2.8"), 0);
        assert_eq!(cmp_version("2.7", "2.8"), -1);
        assert_eq!(cmp_version("3.15", "3.15"), 0);
        assert_eq!(cmp_version("3.15.1", "3.15"), 1);
        assert_eq!(cmp_version("x", "3.15"), -1);
        assert_eq!(cmp_version("10.0", "3.15"), 1);
    }
}
