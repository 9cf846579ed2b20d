//! `lxc.mount.auto`: proc, sys and cgroup mounted the way LXC mounts them
//! (`lxc_mount_auto_mounts` and cgfsng's `mount` in LXC's source).

use std::os::fd::AsFd;
use std::path::Path;

use nix::mount::MsFlags;

use crate::error::{MountError, Result, Site};
use crate::ops::{self, Step};
use crate::plan::MountPlan;
use crate::rootfs::Rootfs;
use crate::sys::{self, errno};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcAuto {
    /// `proc`, `proc:mixed`: /proc read-write, /proc/sys and /proc/sysrq-trigger read-only
    /// (/proc/sys/net stays writable when the container keeps CAP_NET_ADMIN).
    Mixed,
    /// `proc:rw`.
    Rw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysAuto {
    /// `sys`, `sys:mixed`: /sys read-only but /sys/devices/virtual/net writable.
    Mixed,
    /// `sys:ro`.
    Ro,
    /// `sys:rw`.
    Rw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupKind {
    /// `cgroup`: the container's own cgroups.
    Cgroup,
    /// `cgroup-full`: whole hierarchies.
    Full,
    /// `cgroup2`: the unified hierarchy alone (always forced).
    Cgroup2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// No `:ro`/`:rw`/`:mixed`: rw if the container keeps CAP_SYS_ADMIN, else mixed.
    Unspecified,
    Ro,
    Rw,
    Mixed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupAuto {
    pub kind: CgroupKind,
    pub mode: CgroupMode,
    /// `:force`: mount even where LXC would leave it to the container's init (inside a cgroup
    /// namespace, with CAP_SYS_ADMIN kept).
    pub force: bool,
}

/// `shmounts:<host path>[:<container path>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shmounts {
    pub host: String,
    pub container: String,
}

/// Where `shmounts:HOST` shares mounts in the container without a container path (LXC's).
pub const SHMOUNTS_DEFAULT_CONTAINER_PATH: &str = "/dev/.lxc-mounts";

/// The API extension that makes `shmounts:` work (crate lxc-ext-mount-injection shares the
/// host directory). LXC's parser takes the token in every build, and so does the key's; a
/// start without the extension refuses it (`keys::check_shmounts`).
pub const MOUNT_INJECTION: &str = "mount_injection";

/// The API extension that owns the `cgroup2[:ro][:force]` tokens (crate
/// lxc-ext-cgroup2-auto-mounting). The grammar stays whole here, so that a config naming them
/// without the extension gets "not in this build" rather than "not a token".
pub const CGROUP2_AUTO_MOUNTING: &str = "cgroup2_auto_mounting";

/// One `lxc.mount.auto` token, as LXC's setter (`set_config_mount_auto`) reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoToken {
    Proc(ProcAuto),
    Sys(SysAuto),
    Cgroup(CgroupAuto),
    /// `shmounts:HOST[:CONTAINER]`; a bare `shmounts:` (`None`) turns the shared mounts on and
    /// leaves the paths as they were.
    Shmounts(Option<Shmounts>),
}

/// The one `lxc.mount.auto` grammar, used both by the key's parser (at set and load time) and
/// by the mount code. LXC's table, exactly: `proc`, `proc:mixed`, `proc:rw`, `sys`, `sys:ro`,
/// `sys:mixed`, `sys:rw`, `cgroup2[:ro][:force]`, `cgroup[-full][:mixed|:ro|:rw][:force]`
/// and `shmounts:` followed by anything. `shmounts:HOST:CONTAINER` splits at the first `:`
/// after `HOST`; with nothing after that `:` LXC keeps it in the host path and shares into
/// [`SHMOUNTS_DEFAULT_CONTAINER_PATH`].
pub fn parse_token(token: &str) -> Option<AutoToken> {
    use CgroupKind as K;
    use CgroupMode as M;
    let cg = |kind, mode, force| Some(AutoToken::Cgroup(CgroupAuto { kind, mode, force }));
    match token {
        "proc" | "proc:mixed" => return Some(AutoToken::Proc(ProcAuto::Mixed)),
        "proc:rw" => return Some(AutoToken::Proc(ProcAuto::Rw)),
        "sys" | "sys:mixed" => return Some(AutoToken::Sys(SysAuto::Mixed)),
        "sys:ro" => return Some(AutoToken::Sys(SysAuto::Ro)),
        "sys:rw" => return Some(AutoToken::Sys(SysAuto::Rw)),
        "cgroup2" | "cgroup2:force" => return cg(K::Cgroup2, M::Rw, true),
        "cgroup2:ro" | "cgroup2:ro:force" => return cg(K::Cgroup2, M::Ro, true),
        "shmounts:" => return Some(AutoToken::Shmounts(None)),
        _ => {}
    }
    if let Some(rest) = token.strip_prefix("shmounts:") {
        let (host, container) = match rest.split_once(':') {
            Some((h, c)) if !c.is_empty() => (h, c),
            _ => (rest, SHMOUNTS_DEFAULT_CONTAINER_PATH),
        };
        return Some(AutoToken::Shmounts(Some(Shmounts {
            host: host.to_string(),
            container: container.to_string(),
        })));
    }
    let (kind, rest) = if let Some(r) = token.strip_prefix("cgroup-full") {
        (K::Full, r)
    } else {
        (K::Cgroup, token.strip_prefix("cgroup")?)
    };
    let (rest, force) = match rest.strip_suffix(":force") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let mode = match rest {
        "" => M::Unspecified,
        ":mixed" => M::Mixed,
        ":ro" => M::Ro,
        ":rw" => M::Rw,
        _ => return None,
    };
    cg(kind, mode, force)
}

/// The tokens of one value: LXC splits at any run of blanks and tabs.
pub fn tokens(value: &str) -> impl Iterator<Item = &str> {
    value.split([' ', '\t']).filter(|t| !t.is_empty())
}

/// What was expected of a token LXC refuses.
pub fn expected(token: &str) -> String {
    format!(
        "automount tokens: proc[:mixed|:rw], sys[:ro|:mixed|:rw], \
         cgroup[-full][:mixed|:ro|:rw][:force], cgroup2[:ro][:force] or \
         shmounts:HOST[:CONTAINER]; {token:?} is not one"
    )
}

/// What `lxc.mount.auto` asks for. Later tokens replace earlier ones of the same kind, over
/// every line of the key, as in LXC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutoMounts {
    pub proc: Option<ProcAuto>,
    pub sys: Option<SysAuto>,
    pub cgroup: Option<CgroupAuto>,
    /// The shared-mounts paths, once a `shmounts:HOST` gave them.
    pub shmounts: Option<Shmounts>,
    /// Whether a `shmounts:` token turned them on (a bare one turns them on without paths).
    pub shmounts_on: bool,
}

impl AutoMounts {
    /// Apply one `lxc.mount.auto` value. A value without tokens changes nothing, as in LXC
    /// (an empty value clears the key; the config engine does that before any value is kept).
    pub fn apply_value(&mut self, value: &str) -> Result<()> {
        for token in tokens(value) {
            let Some(t) = parse_token(token) else {
                return Err(MountError::Invalid {
                    site: Site::key("lxc.mount.auto"),
                    value: token.to_string(),
                    why: expected(token),
                });
            };
            self.apply(t);
        }
        Ok(())
    }

    /// Apply one parsed token.
    pub fn apply(&mut self, token: AutoToken) {
        match token {
            AutoToken::Proc(p) => self.proc = Some(p),
            AutoToken::Sys(s) => self.sys = Some(s),
            AutoToken::Cgroup(c) => self.cgroup = Some(c),
            AutoToken::Shmounts(paths) => {
                self.shmounts_on = true;
                if paths.is_some() {
                    self.shmounts = paths;
                }
            }
        }
    }

    /// The shared-mounts paths if `shmounts:` is on.
    pub fn active_shmounts(&self) -> Option<&Shmounts> {
        self.shmounts.as_ref().filter(|_| self.shmounts_on)
    }

    pub fn is_empty(&self) -> bool {
        self.proc.is_none() && self.sys.is_none() && self.cgroup.is_none() && !self.shmounts_on
    }

    /// How LXC's `get_config_item` prints these: proc, sys and cgroup in that order; the
    /// `:force` and cgroup2 variants print nothing (LXC's getter has no case for them), nor do
    /// shmounts.
    pub fn to_lxc_string(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        match self.proc {
            Some(ProcAuto::Mixed) => parts.push("proc:mixed"),
            Some(ProcAuto::Rw) => parts.push("proc:rw"),
            None => {}
        }
        match self.sys {
            Some(SysAuto::Ro) => parts.push("sys:ro"),
            Some(SysAuto::Rw) => parts.push("sys:rw"),
            Some(SysAuto::Mixed) => parts.push("sys:mixed"),
            None => {}
        }
        if let Some(CgroupAuto {
            kind,
            mode,
            force: false,
        }) = self.cgroup
        {
            let name = match (kind, mode) {
                (CgroupKind::Cgroup, CgroupMode::Unspecified) => Some("cgroup"),
                (CgroupKind::Cgroup, CgroupMode::Mixed) => Some("cgroup:mixed"),
                (CgroupKind::Cgroup, CgroupMode::Ro) => Some("cgroup:ro"),
                (CgroupKind::Cgroup, CgroupMode::Rw) => Some("cgroup:rw"),
                (CgroupKind::Full, CgroupMode::Unspecified) => Some("cgroup-full"),
                (CgroupKind::Full, CgroupMode::Mixed) => Some("cgroup-full:mixed"),
                (CgroupKind::Full, CgroupMode::Ro) => Some("cgroup-full:ro"),
                (CgroupKind::Full, CgroupMode::Rw) => Some("cgroup-full:rw"),
                (CgroupKind::Cgroup2, _) => None,
            };
            parts.extend(name);
        }
        parts.join(" ")
    }
}

/// Parse every `lxc.mount.auto` value, in order, into what they ask for together.
pub fn parse_mount_auto<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<AutoMounts> {
    let mut a = AutoMounts::default();
    for v in values {
        a.apply_value(v)?;
    }
    Ok(a)
}

/// CAP_NET_ADMIN and CAP_SYS_ADMIN, by LXC name and number.
const CAP_NET_ADMIN: (&str, u32) = ("net_admin", 12);
const CAP_SYS_ADMIN: (&str, u32) = ("sys_admin", 21);

/// Mount proc and sys as `lxc.mount.auto` asks (LXC's first automount pass; cgroups come
/// after the mount entries, see [`mount_cgroups`]).
pub fn mount_proc_sys(plan: &MountPlan, root: &Rootfs, site: &Site) -> Result<()> {
    let auto = &plan.auto;
    if auto.proc.is_none() && auto.sys.is_none() {
        return Ok(());
    }
    let nosuid_nodev_noexec = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    for (wanted, dir) in [(auto.proc.is_some(), "proc"), (auto.sys.is_some(), "sys")] {
        if !wanted {
            continue;
        }
        if !root.is_host() {
            // Whatever the rootfs has mounted there goes: the container gets fresh ones.
            ops::detach_all(root, Path::new(dir));
        }
        ops::mkdir_one(root, Path::new(dir), 0o755, site)?;
    }

    let net_admin = plan.caps.wants(CAP_NET_ADMIN.0, CAP_NET_ADMIN.1);
    let mut steps: Vec<Step> = Vec::new();
    match auto.proc {
        Some(ProcAuto::Mixed) => {
            steps.push(Step::fs("proc", "proc", "proc", nosuid_nodev_noexec, None));
            // proc/tty holds proc/sys/net while proc/sys is made read-only, then it moves back.
            if net_admin {
                steps.push(Step::bind("proc/sys/net", "proc/tty"));
            }
            steps.push(Step::bind("proc/sys", "proc/sys"));
            steps.push(Step::remount_ro("proc/sys"));
            if net_admin {
                steps.push(Step::mv("proc/tty", "proc/sys/net"));
            }
            steps.push(Step::bind("proc/sysrq-trigger", "proc/sysrq-trigger"));
            steps.push(Step::remount_ro("proc/sysrq-trigger"));
        }
        Some(ProcAuto::Rw) => {
            steps.push(Step::fs("proc", "proc", "proc", nosuid_nodev_noexec, None))
        }
        None => {}
    }
    match auto.sys {
        Some(SysAuto::Rw) => steps.push(Step::fs("sysfs", "sys", "sysfs", MsFlags::empty(), None)),
        Some(SysAuto::Ro) => {
            steps.push(Step::fs("sysfs", "sys", "sysfs", MsFlags::MS_RDONLY, None))
        }
        Some(SysAuto::Mixed) => {
            // A writable sysfs is staged on proc/sys just long enough to take its
            // devices/virtual/net from it.
            steps.push(Step::fs(
                "sysfs",
                "proc/sys",
                "sysfs",
                nosuid_nodev_noexec,
                None,
            ));
            steps.push(Step::fs(
                "sysfs",
                "sys",
                "sysfs",
                nosuid_nodev_noexec | MsFlags::MS_RDONLY,
                None,
            ));
            steps.push(Step::bind(
                "proc/sys/devices/virtual/net",
                "sys/devices/virtual/net",
            ));
            steps.push(Step::Unmount("proc/sys"));
        }
        None => {}
    }
    for step in &steps {
        match ops::run_step(root, step, site) {
            Ok(()) => {}
            // LXC: a source or target the kernel does not have is skipped.
            Err(e) if e.errno() == Some(errno::ENOENT) => {
                tracing::info!(error = %e, "automount source or target missing, skipped");
            }
            // The sysfs staging mount was skipped, so there is nothing to take down.
            Err(e) if matches!(step, Step::Unmount(_)) && e.errno() == Some(errno::EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One cgroup hierarchy of the host, as /proc/self/mountinfo shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// The directory below /sys/fs/cgroup (`cpu,cpuacct`, `unified`; empty for a pure
    /// cgroup2 host where /sys/fs/cgroup itself is the mount).
    pub at_mnt: String,
    /// `cgroup2`, or `cgroup` with its controllers (`name=systemd` for named ones).
    pub unified: bool,
    pub controllers: Vec<String>,
}

/// The host's cgroup hierarchies under /sys/fs/cgroup, from a mountinfo text.
pub fn cgroup_hierarchies(mountinfo: &str, known_controllers: &[String]) -> Vec<Hierarchy> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        let mountpoint = crate::ops::unescape_mountinfo(pre[4]);
        let fstype = post[0];
        let at_mnt = if mountpoint == "/sys/fs/cgroup" {
            String::new()
        } else if let Some(rest) = mountpoint.strip_prefix("/sys/fs/cgroup/") {
            if rest.contains('/') {
                continue;
            }
            rest.to_string()
        } else {
            continue;
        };
        let h = match fstype {
            "cgroup2" => Hierarchy {
                at_mnt,
                unified: true,
                controllers: Vec::new(),
            },
            "cgroup" => Hierarchy {
                at_mnt,
                unified: false,
                controllers: post[2]
                    .split(',')
                    .filter(|o| o.starts_with("name=") || known_controllers.iter().any(|k| k == o))
                    .map(str::to_string)
                    .collect(),
            },
            _ => continue,
        };
        // A later mount on the same point hides the earlier one.
        out.retain(|x: &Hierarchy| x.at_mnt != h.at_mnt);
        out.push(h);
    }
    out
}

/// The controllers this kernel has (`/proc/cgroups`).
fn known_controllers() -> Vec<String> {
    std::fs::read_to_string("/proc/cgroups")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// The cgroup part of `lxc.mount.auto`, after the mount entries (so that a /sys from an entry
/// is there). `in_cgroup_ns`: whether the container has its own cgroup namespace.
pub fn mount_cgroups(
    plan: &MountPlan,
    root: &Rootfs,
    site: &Site,
    in_cgroup_ns: bool,
    mountinfo: &str,
) -> Result<()> {
    let Some(cg) = plan.auto.cgroup else {
        return Ok(());
    };
    let sys_admin = plan.caps.wants(CAP_SYS_ADMIN.0, CAP_SYS_ADMIN.1);
    let mode = match cg.mode {
        CgroupMode::Unspecified if sys_admin => CgroupMode::Rw,
        CgroupMode::Unspecified => CgroupMode::Mixed,
        m => m,
    };
    let hierarchies = cgroup_hierarchies(mountinfo, &known_controllers());
    let pure_unified =
        hierarchies.len() == 1 && hierarchies[0].unified && hierarchies[0].at_mnt.is_empty();
    let force = cg.force || !sys_admin || pure_unified;
    if in_cgroup_ns && !force {
        tracing::debug!("cgroup namespace: mounting cgroups is left to the container's init");
        return Ok(());
    }
    let ro = mode == CgroupMode::Ro;
    let cg_flags = MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV
        | MsFlags::MS_NOEXEC
        | MsFlags::MS_RELATIME
        | if ro {
            MsFlags::MS_RDONLY
        } else {
            MsFlags::empty()
        };
    let base = Path::new("sys/fs/cgroup");

    if pure_unified || cg.kind == CgroupKind::Cgroup2 {
        if !hierarchies.iter().any(|h| h.unified) {
            return Err(MountError::Unsupported {
                site: site.clone(),
                what: "cgroup2 automount".into(),
                why: "the host has no cgroup2 hierarchy mounted".into(),
            });
        }
        if !in_cgroup_ns {
            return Err(no_cgroupns(site));
        }
        return ops::run_step(
            root,
            &Step::fs_owned("cgroup2", base, "cgroup2", cg_flags, None),
            site,
        );
    }

    if cg.kind == CgroupKind::Cgroup && !in_cgroup_ns {
        return Err(no_cgroupns(site));
    }
    // The tmpfs stays writable in every mode (LXC works around a mountall quirk this way).
    ops::run_step(
        root,
        &Step::fs_owned(
            "tmpfs",
            base,
            "tmpfs",
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RELATIME,
            Some("size=10240k,mode=755".into()),
        ),
        site,
    )?;
    let dir = root.path_fd(base).map_err(|e| {
        MountError::sys(
            site,
            format!("open {}", root.display(base).display()),
            root.display(base),
            e,
        )
    })?;
    // A v1 mount without controller options would ask for every controller at once.
    for h in hierarchies
        .iter()
        .filter(|h| !h.at_mnt.is_empty() && (h.unified || !h.controllers.is_empty()))
    {
        match sys::mkdirat(dir.as_fd(), Path::new(&h.at_mnt), 0o755) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(errno::EEXIST) => {}
            Err(e) => {
                let p = root.display(&base.join(&h.at_mnt));
                return Err(MountError::sys(
                    site,
                    format!("mkdir {}", p.display()),
                    p,
                    e,
                ));
            }
        }
        let (fstype, data) = if h.unified {
            ("cgroup2", None)
        } else {
            ("cgroup", Some(h.controllers.join(",")))
        };
        // Inside a cgroup namespace a fresh mount shows the container's own cgroup as its
        // root; for cgroup-full without one it shows the host's whole hierarchy, as LXC's does.
        ops::run_step(
            root,
            &Step::fs_owned(fstype, &base.join(&h.at_mnt), fstype, cg_flags, data),
            site,
        )?;
    }
    Ok(())
}

fn no_cgroupns(site: &Site) -> MountError {
    MountError::Unsupported {
        site: site.clone(),
        what: "cgroup automount without a cgroup namespace".into(),
        why: "lxc-rs mounts cgroups only for containers with their own cgroup namespace".into(),
    }
}
