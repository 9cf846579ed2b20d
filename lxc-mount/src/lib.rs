//! lxc-rs mounts: everything the container's first process does to its mount namespace, from
//! the rootfs to pivot_root, in LXC's order (`lxc_setup` in LXC's conf.c):
//!
//! ChildMounts: `/` made a slave tree, `pre-mount` hooks, the rootfs bind, the autodev tmpfs,
//! `lxc.mount.auto` proc/sys, `lxc.mount.fstab`, `lxc.mount.entry`, the cgroup automounts,
//! `mount` hooks, `autodev` hooks and the /dev nodes.
//! ChildPivot: devpts and /dev/ptmx (`order::DEVPTS`), then, after lxc-console bound the
//! console and the ttys (`order::TERMINALS`), the /dev symlinks and pivot_root (`order::PIVOT`).

use std::os::fd::OwnedFd;
use std::path::Path;

use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, HookCtx, Phase};
use lxc_core::registry::{EntryKind, PhaseHook, Registration, REGISTRY};
use lxc_core::start::sync::ChildLink;
use nix::mount::MsFlags;

pub mod auto;
pub mod dev;
pub mod entry;
pub mod error;
pub mod idmap;
pub mod keys;
pub mod ops;
pub mod pivot;
pub mod plan;
pub mod rootfs;
pub mod sys;

pub use auto::{
    parse_mount_auto, AutoMounts, CgroupAuto, CgroupKind, CgroupMode, ProcAuto, SysAuto,
};
pub use entry::{parse_fstab, parse_mount_entry, parse_mount_options, MountEntry, MountOptions};
pub use error::{MountError, Result, Site};
pub use pivot::pivot;
pub use plan::{MountPlan, PlannedEntry, RootfsSpec};
pub use rootfs::{setup_rootfs, Rootfs};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static MOUNT: Registration = Registration {
    name: "mount",
    kind: EntryKind::Component,
    // lxc.rootfs.*, lxc.mount.*, lxc.autodev* (the terminal keys belong to the terminals).
    keys: keys::MOUNT_KEYS,
    hooks: &[
        PhaseHook {
            phase: Phase::ChildMounts,
            order: order::MOUNTS,
            run: child_mounts_hook,
        },
        PhaseHook {
            phase: Phase::ChildPivot,
            order: order::DEVPTS,
            run: child_devpts_hook,
        },
        PhaseHook {
            phase: Phase::ChildPivot,
            order: order::PIVOT,
            run: child_pivot_hook,
        },
    ],
    commands: &[],
};

/// What the child saw of the host before it changed anything.
#[derive(Debug)]
pub struct HostView {
    /// Whether the container has a cgroup namespace of its own.
    pub in_cgroup_ns: bool,
    /// The host's /dev, for binding device nodes when mknod is refused.
    pub host_dev: OwnedFd,
    /// /proc/self/mountinfo before our mounts (the cgroup hierarchies).
    pub mountinfo: String,
}

/// What ChildMounts leaves for ChildPivot (kept in the start's state map).
#[derive(Debug)]
pub struct Prepared {
    pub plan: MountPlan,
    pub rootfs: Rootfs,
    pub host: HostView,
}

/// Look at the host, then make every mount of this (new) mount namespace a slave, so that
/// nothing mounted from here on propagates back to the host.
pub fn prepare_namespace() -> Result<HostView> {
    let site = Site::key("lxc.rootfs.path");
    let ns = |p: &str| std::fs::read_link(p).ok();
    let in_cgroup_ns = match (ns("/proc/self/ns/cgroup"), ns("/proc/1/ns/cgroup")) {
        (Some(a), Some(b)) => a != b,
        // If we cannot see pid 1's, we are in a pid namespace with our own /proc already;
        // assume the container was given a cgroup namespace, as lxc-rs always does.
        _ => true,
    };
    let host_dev = sys::openat2(
        None,
        Path::new("/dev"),
        sys::oflag::PATH | sys::oflag::DIRECTORY,
        0,
        sys::Resolve::Normal,
    )
    .map_err(|e| MountError::sys(&site, "open /dev", "/dev", e))?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| {
        MountError::sys(
            &site,
            "read /proc/self/mountinfo",
            "/proc/self/mountinfo",
            e,
        )
    })?;
    sys::mount(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None,
    )
    .map_err(|e| MountError::sys(&site, "make / a recursive slave mount", "/", e))?;
    Ok(HostView {
        in_cgroup_ns,
        host_dev,
        mountinfo,
    })
}

/// A hook runner between the mount steps: `(hook kind, the rootfs once it is mounted)`.
pub type HookRunner<'a> = dyn FnMut(&str, Option<&Rootfs>) -> Result<(), lxc_core::Error> + 'a;

fn run_hook(hooks: &mut HookRunner<'_>, kind: &str, rootfs: Option<&Rootfs>) -> Result<()> {
    hooks(kind, rootfs).map_err(|e| MountError::Hook {
        site: Site::key(format!("lxc.hook.{kind}")),
        source: Box::new(e),
    })
}

/// A new proc on /proc for a container that shares the host's `/`: its pid namespace's view.
fn mount_fresh_proc(root: &Rootfs) -> Result<()> {
    ops::run_step(
        root,
        &ops::Step::fs(
            "proc",
            "proc",
            "proc",
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None,
        ),
        &Site::key("lxc.rootfs.path"),
    )
}

/// Fail if something was mounted over the rootfs after we bound it (LXC checks this too: a
/// pivot_root into the wrong tree would be worse than an error).
fn check_not_overmounted(plan: &MountPlan, root: &Rootfs) -> Result<()> {
    let site = plan
        .rootfs
        .as_ref()
        .map(|r| r.site.clone())
        .unwrap_or_else(|| Site::key("lxc.rootfs.path"));
    let now = sys::openat2(
        None,
        &root.mount,
        sys::oflag::PATH | sys::oflag::DIRECTORY,
        0,
        sys::Resolve::Normal,
    )
    .and_then(|fd| sys::fstat(std::os::fd::AsFd::as_fd(&fd)));
    let was = sys::fstat(root.fd());
    match (now, was) {
        (Ok(a), Ok(b)) if a.dev == b.dev && a.ino == b.ino => Ok(()),
        (Err(e), _) | (_, Err(e)) => Err(MountError::sys(
            &site,
            format!("check {}", root.mount.display()),
            &root.mount,
            e,
        )),
        _ => Err(MountError::Invalid {
            site,
            value: root.mount.display().to_string(),
            why: "something was mounted over the rootfs (a mount entry or a mount hook)".into(),
        }),
    }
}

/// Everything of ChildMounts, in LXC's order. `hooks` runs the `lxc.hook.*` scripts of a kind.
pub fn child_mounts(plan: MountPlan, hooks: &mut HookRunner<'_>) -> Result<Prepared> {
    child_mounts_with(plan, None, hooks)
}

/// [`child_mounts`] in a start, whose monitor makes the idmapped mounts (`idmap`).
pub fn child_mounts_with(
    plan: MountPlan,
    idmap: Option<&idmap::ChildIdmap<'_>>,
    hooks: &mut HookRunner<'_>,
) -> Result<Prepared> {
    let host = prepare_namespace()?;
    run_hook(hooks, "pre-mount", None)?;
    let rootfs = rootfs::setup_rootfs_with(&plan, idmap)?;
    if rootfs.is_host() && plan.auto.proc.is_none() {
        mount_fresh_proc(&rootfs)?;
    }
    if plan.autodev {
        dev::mount_autodev(&plan, &rootfs)?;
    }
    auto::mount_proc_sys(&plan, &rootfs, &plan.auto_site)?;
    let entries = plan.all_entries()?;
    for pe in &entries {
        ops::apply_entry(&plan, &rootfs, pe)?;
    }
    idmap::mount_entries(&plan, &rootfs, &entries, idmap)?;
    auto::mount_cgroups(
        &plan,
        &rootfs,
        &plan.auto_site,
        host.in_cgroup_ns,
        &host.mountinfo,
    )?;
    run_hook(hooks, "mount", Some(&rootfs))?;
    if !rootfs.is_host() {
        check_not_overmounted(&plan, &rootfs)?;
    }
    if plan.autodev {
        run_hook(hooks, "autodev", Some(&rootfs))?;
        dev::fill_autodev(&plan, &rootfs, &host.host_dev)?;
    }
    Ok(Prepared { plan, rootfs, host })
}

/// ChildPivot, first: the container's devpts instance and /dev/ptmx. The console and the ttys
/// (lxc-console) are allocated from it and bound into /dev before [`child_pivot`].
pub fn child_devpts(prepared: &Prepared) -> Result<()> {
    dev::setup_devpts(&prepared.plan, &prepared.rootfs)
}

/// ChildPivot, last: the /dev symlinks, then pivot_root (not without a rootfs) and the
/// container's own boot id.
pub fn child_pivot(prepared: &Prepared) -> Result<()> {
    let Prepared { plan, rootfs, .. } = prepared;
    dev::setup_dev_symlinks(rootfs)?;
    let site = plan
        .rootfs
        .as_ref()
        .map(|r| r.site.clone())
        .unwrap_or_else(|| Site::key("lxc.rootfs.path"));
    pivot(rootfs, &site)?;
    if plan.autodev && !rootfs.is_host() {
        pivot::setup_boot_id();
    }
    Ok(())
}

// TODO(lead): call lxc_core::hooks::run(ctx, kind) once lxc-core exports `pub mod hooks`
// (lxc-core/src/hooks.rs exists but is not in lib.rs yet). Until then no lxc.hook.* runs here.
fn run_lxc_hook(ctx: &HookCtx<'_>, kind: &str) -> Result<(), lxc_core::Error> {
    lxc_core::hooks::run(ctx, kind)
}

fn child_mounts_hook(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    let phase = ctx.phase;
    let plan = MountPlan::from_config(ctx.config, ctx.name, &ctx.lxcpath, ctx.mode)
        .map_err(|e| e.into_core(phase))?;
    let has_idmaps = !lxc_core::start::spec::idmaps(ctx.config).is_empty();
    idmap::refuse_before_mounts(ctx.config, &plan, has_idmaps).map_err(|e| e.into_core(phase))?;
    // The idmap steps talk to the monitor while the hook runner holds the context: the start
    // channel is lent to them for the mount steps (the mount hooks' scripts do not use it).
    let link = ctx.state.remove::<ChildLink>();
    let prepared = {
        let idmap = link
            .as_ref()
            .map(|link| idmap::ChildIdmap { link, has_idmaps });
        child_mounts_with(plan, idmap.as_ref(), &mut |kind, rootfs| {
            if let Some(r) = rootfs {
                ctx.state.insert(r.info());
            }
            run_lxc_hook(ctx, kind)
        })
    };
    if let Some(link) = link {
        ctx.state.insert(link);
    }
    let prepared = prepared.map_err(|e| e.into_core(phase))?;
    ctx.state.insert(prepared.rootfs.info());
    ctx.state.insert(prepared);
    Ok(())
}

fn prepared<'a>(ctx: &'a HookCtx<'_>) -> Result<&'a Prepared, lxc_core::Error> {
    ctx.state
        .get::<Prepared>()
        .ok_or_else(|| lxc_core::Error::Hook {
            phase: ctx.phase,
            owner: "mount",
            key: None,
            message: "ChildPivot ran without ChildMounts' rootfs".into(),
        })
}

fn child_devpts_hook(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    child_devpts(prepared(ctx)?).map_err(|e| e.into_core(ctx.phase))
}

fn child_pivot_hook(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    child_pivot(prepared(ctx)?).map_err(|e| e.into_core(ctx.phase))
}
