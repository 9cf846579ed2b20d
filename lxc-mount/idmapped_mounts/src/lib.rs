//! API extension `idmapped_mounts`: `lxc.rootfs.options = idmap=container|PATH` mounts the
//! rootfs idmapped through the container's user namespace (or the one at PATH), so that a
//! rootfs owned by the host's root is the container's root's, with no chown.
//!
//! The registration below is everything this crate does to a container: it names the
//! extension, checks the config before the clone (PreClone: LXC's refusals, and that an
//! `idmap=PATH` is a user namespace), answers one start request and fills lxc-mount's rootfs
//! seam. In the child, lxc-mount's rootfs step ([`lxc_mount::idmap::ROOTFS_IDMAPPERS`]) asks
//! the monitor for the rootfs ([`REQUEST`]); the monitor, root on the host, clones the rootfs
//! directory's mount tree detached, idmaps it through the user namespace with the rootfs's
//! options and slave propagation in one `mount_setattr`, and hands the mount fd over; the
//! child attaches it on `lxc.rootfs.mount` in its own mount namespace. As LXC 5.0.2
//! (`lxc_rootfs_prepare_parent`): only a container with `lxc.idmap` lines gets it (for the
//! others lxc-mount warns and binds the rootfs plainly, where LXC says nothing), only a
//! directory rootfs, and never without `lxc.rootfs.path`.

// The kernel calls are lxc-mount's small wrappers (`lxc_mount::sys`), each with its `// SAFETY:`.
#![forbid(unsafe_code)]

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, HookCtx, Phase};
use lxc_core::registry::{
    EntryKind, PhaseHook, Registration, StartRequestDef, REGISTRY, START_REQUESTS,
};
use lxc_mount::idmap::{self, ChildIdmap, RootfsIdmapper, ROOTFS_IDMAPPERS};
use lxc_mount::sys;
use lxc_mount::{parse_mount_options, MountError, MountPlan, RootfsSpec, Site};
use nix::mount::MsFlags;

/// The extension's name.
pub const NAME: &str = idmap::ROOTFS_EXTENSION;

/// The start request for the detached idmapped rootfs (no body; one mount fd back).
pub const REQUEST: &str = "idmapped_mounts.rootfs";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static IDMAPPED_MOUNTS: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[PhaseHook {
        phase: Phase::PreClone,
        order: order::FIRST,
        run: check_before_clone,
    }],
    commands: &[],
};

/// Monitor, before the container's process exists: what LXC refuses about this extension's
/// idmapped mounts, and that each `idmap=PATH` is a user namespace (see
/// [`idmap::check_before_clone`]), so that a refused start has made nothing.
fn check_before_clone(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    idmap::pre_clone_hook(ctx, idmap::Idmapped::Rootfs)
}

#[distributed_slice(START_REQUESTS)]
#[linkme(crate = lxc_core::linkme)]
static ROOTFS_REQUEST: StartRequestDef = StartRequestDef {
    owner: NAME,
    name: REQUEST,
    handler: make_rootfs,
};

#[distributed_slice(ROOTFS_IDMAPPERS)]
#[linkme(crate = lxc_core::linkme)]
static ROOTFS: RootfsIdmapper = RootfsIdmapper {
    owner: NAME,
    mount: attach_rootfs,
};

/// Child: get the idmapped rootfs from the monitor and attach it on the mount point.
fn attach_rootfs(
    ctx: &ChildIdmap<'_>,
    spec: &RootfsSpec,
    target: BorrowedFd<'_>,
    target_path: &Path,
) -> Result<(), MountError> {
    let site = spec
        .options
        .as_ref()
        .map_or_else(|| spec.site.clone(), |(_, s)| s.clone());
    let op = format!("idmap the rootfs {}", spec.path.display());
    let (_, fds) = ctx
        .link
        .ask(REQUEST, b"", &[])
        .map_err(|e| MountError::monitor(&site, op.as_str(), e))?;
    let mnt = idmap::one_fd(fds, &site, &op)?;
    sys::move_mount(mnt.as_fd(), target).map_err(|e| {
        MountError::sys(
            &site,
            format!(
                "attach the idmapped rootfs {} on {}",
                spec.path.display(),
                target_path.display()
            ),
            target_path,
            e,
        )
    })?;
    tracing::debug!(rootfs = %spec.path.display(), mount = %target_path.display(), "attached idmapped rootfs");
    Ok(())
}

/// Monitor: the rootfs directory's mount tree, detached, idmapped through the user namespace
/// `idmap=` names, with `lxc.rootfs.options` applied. Everything is taken from the monitor's
/// own copy of the config, not from the request.
fn make_rootfs(
    ctx: &mut HookCtx<'_>,
    _body: &[u8],
    _fds: Vec<OwnedFd>,
) -> Result<(Vec<u8>, Vec<OwnedFd>), lxc_core::Error> {
    let name = ctx.name.to_string();
    let mnt = detached_rootfs(ctx).map_err(|e| idmap::to_core(&name, e))?;
    Ok((Vec::new(), vec![mnt]))
}

fn detached_rootfs(ctx: &HookCtx<'_>) -> Result<OwnedFd, MountError> {
    let plan = MountPlan::from_config(ctx.config, ctx.name, &ctx.lxcpath, ctx.mode)?;
    let none = || MountError::Invalid {
        site: Site::key("lxc.rootfs.options"),
        value: String::new(),
        why: "the container's config asks for no idmapped rootfs".into(),
    };
    let spec = plan.rootfs.as_ref().ok_or_else(none)?;
    let (options, site) = spec.options.as_ref().ok_or_else(none)?;
    let o = parse_mount_options(options).map_err(|e| e.at(site.clone()))?;
    let userns = o.idmap.as_deref().ok_or_else(none)?;
    let pid = ctx.init_pid.ok_or_else(|| MountError::Invalid {
        site: site.clone(),
        value: options.clone(),
        why: "no container process to take the user namespace of".into(),
    })?;
    let source = lxc_mount::rootfs::rootfs_dir(spec)?;
    let ns = idmap::open_userns(userns, pid, site)?;
    let dir = lxc_mount::rootfs::open_rootfs_dir(&source, site)?;
    let mnt = sys::open_tree_clone(dir.as_fd(), true).map_err(|e| {
        MountError::sys(
            site,
            format!("clone the mount tree of {}", source.display()),
            &source,
            e,
        )
    })?;
    let (set, clear) = idmap::attrs(&o);
    // A slave: the clone of a shared host mount would otherwise be its peer, and the
    // container's mounts below its root would show up on the host (LXC does the same).
    idmap::idmap_detached(
        mnt.as_fd(),
        true,
        ns.as_fd(),
        set,
        clear,
        MsFlags::MS_SLAVE,
        site,
        &source,
    )?;
    tracing::debug!(rootfs = %source.display(), userns, pid, "made the detached idmapped rootfs");
    Ok(mnt)
}
