//! Idmapped mounts, LXC's `idmap=` mount option: the rootfs (`lxc.rootfs.options =
//! idmap=container|PATH`) or a bind entry (`lxc.mount.entry` / `lxc.mount.fstab` with
//! `idmap=...`) shown to the container through a user namespace's id mapping, so that files
//! owned by the host's root serve an unprivileged container as its root's, with no chown.
//!
//! Only the host's root (the monitor) may idmap a mount, and only while it is detached; only
//! the child can attach it in its new mount namespace. The two sides meet over the start
//! channel (`ChildLink::ask` to a `START_REQUESTS` handler), as LXC's parent and child do over
//! their data socket. The extensions that do the work register here:
//!
//! - [`ROOTFS_IDMAPPERS`]: `idmapped_mounts`, the rootfs, made detached by the monitor;
//! - [`ENTRY_IDMAPPERS`]: `idmapped_mounts_v2`, bind entries, cloned by the child, idmapped by
//!   the monitor, attached by the child after every other entry (LXC's order);
//!
//! and without them a config that asks is refused before anything is made (the key checks
//! below), and again by the mount step itself (an fstab file's lines are no config keys).
//! With them, each extension's PreClone hook runs [`check_before_clone`] in the monitor, so
//! that what LXC refuses (and a user namespace path that is none) fails the start before the
//! container's process, its cgroups or a `create=dir` target exist. The monitor's half both
//! extensions share is [`open_userns`] and [`idmap_detached`].

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use lxc_core::config::bytes::to_path;
use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{CheckScope, KeyCheck, KeyPattern, KEY_CHECKS};
use lxc_core::start::sync::ChildLink;
use nix::mount::MsFlags;

use crate::entry::{parse_mount_entry, parse_mount_options, MountEntry};
use crate::error::{MountError, Result, Site};
use crate::plan::{MountPlan, PlannedEntry, RootfsSpec};
use crate::rootfs::Rootfs;
use crate::sys::{self, oflag, Resolve};

/// The extension that idmaps the rootfs.
pub const ROOTFS_EXTENSION: &str = "idmapped_mounts";
/// The extension that idmaps bind entries.
pub const ENTRY_EXTENSION: &str = "idmapped_mounts_v2";
/// `idmap=container`: the container's own user namespace.
pub const CONTAINER: &str = "container";

/// What the child's idmap steps use.
pub struct ChildIdmap<'a> {
    /// The start channel: the monitor makes the mounts idmapped.
    pub link: &'a ChildLink,
    /// The config has `lxc.idmap` lines. LXC idmaps the rootfs only then (and ignores
    /// `idmap=` on it otherwise); entries it idmaps either way.
    pub has_idmaps: bool,
}

/// The extension that mounts an idmapped rootfs.
pub struct RootfsIdmapper {
    pub owner: &'static str,
    /// Mount the rootfs of `spec` idmapped (with its `lxc.rootfs.options`) on the mount point
    /// `target` (an O_PATH fd of `target_path`).
    pub mount: fn(&ChildIdmap<'_>, &RootfsSpec, BorrowedFd<'_>, &Path) -> Result<()>,
}

/// The idmapped rootfs makers linked in (at most one).
#[distributed_slice]
#[linkme(crate = lxc_core::linkme)]
pub static ROOTFS_IDMAPPERS: [RootfsIdmapper];

/// The extension that mounts idmapped bind entries.
pub struct EntryIdmapper {
    pub owner: &'static str,
    /// Mount the entry `pe` idmapped on `rel` (its target, relative to the rootfs; created
    /// already if it asked for `create=`).
    pub mount: fn(&ChildIdmap<'_>, &Rootfs, &PlannedEntry, &Path) -> Result<()>,
}

/// The idmapped entry makers linked in (at most one).
#[distributed_slice]
#[linkme(crate = lxc_core::linkme)]
pub static ENTRY_IDMAPPERS: [EntryIdmapper];

fn needs(extension: &str) -> String {
    format!("needs the API extension {extension}, which this build does not have")
}

/// LXC's rules for an idmapped entry (checked before anything is made, and again for fstab
/// lines): a bind mount of no filesystem type and with no filesystem options.
pub fn entry_rule(e: &MountEntry) -> Result<(), String> {
    if e.opts.idmap.is_none() {
        return Ok(());
    }
    if !e.is_bind() || !(e.fstype.is_empty() || e.fstype == "none") {
        return Err("only bind mounts (bind or rbind, type none) can be idmapped".into());
    }
    if let Some(data) = &e.opts.data {
        return Err(format!(
            "an idmapped bind mount takes no filesystem options ({data:?})"
        ));
    }
    Ok(())
}

#[distributed_slice(KEY_CHECKS)]
#[linkme(crate = lxc_core::linkme)]
static ENTRY_CHECK: KeyCheck = KeyCheck {
    owner: crate::keys::OWNER,
    pattern: KeyPattern::Exact("lxc.mount.entry"),
    scope: CheckScope::Static,
    check: check_entry,
};

#[distributed_slice(KEY_CHECKS)]
#[linkme(crate = lxc_core::linkme)]
static ROOTFS_CHECK: KeyCheck = KeyCheck {
    owner: crate::keys::OWNER,
    pattern: KeyPattern::Exact("lxc.rootfs.options"),
    scope: CheckScope::Static,
    check: check_rootfs_options,
};

/// `lxc.mount.entry` with `idmap=`: LXC's rules, and the extension. An `optional` entry
/// without the extension is left out at start instead (what `optional` means).
fn check_entry(_key: &str, value: &str) -> Result<(), String> {
    let Ok(e) = parse_mount_entry(value) else {
        // The mount code reports a line it cannot parse, with its own words.
        return Ok(());
    };
    if e.opts.idmap.is_none() {
        return Ok(());
    }
    entry_rule(&e).map_err(|why| format!("an entry that can be idmapped: {why}"))?;
    if !e.opts.optional && !lxc_core::has_api_extension(ENTRY_EXTENSION) {
        return Err(format!(
            "no idmap= (an idmapped mount entry {})",
            needs(ENTRY_EXTENSION)
        ));
    }
    Ok(())
}

/// `lxc.rootfs.options` with `idmap=`: the extension.
fn check_rootfs_options(_key: &str, value: &str) -> Result<(), String> {
    let idmapped = parse_mount_options(value).is_ok_and(|o| o.idmap.is_some());
    if idmapped && !lxc_core::has_api_extension(ROOTFS_EXTENSION) {
        return Err(format!(
            "no idmap= (an idmapped rootfs {})",
            needs(ROOTFS_EXTENSION)
        ));
    }
    Ok(())
}

/// What LXC refuses before it mounts anything, checked in the child before the first mount:
/// `idmap=` on the rootfs of a container without `lxc.rootfs.path` (LXC's `lxc_rootfs_init`),
/// a mount line (the fstab file's too) that cannot be idmapped, and `idmap=container` on a
/// line of a container without `lxc.idmap` (its "own" user namespace is the host's, which
/// cannot idmap: LXC fails the start when its parent's mount_setattr says EPERM, `optional`
/// or not).
pub fn refuse_before_mounts(
    config: &lxc_core::Config,
    plan: &MountPlan,
    has_idmaps: bool,
) -> Result<()> {
    if plan.rootfs.is_none() {
        if let Some(options) = config.last("lxc.rootfs.options") {
            if parse_mount_options(options).is_ok_and(|o| o.idmap.is_some()) {
                return Err(MountError::Invalid {
                    site: Site::new(
                        "lxc.rootfs.options",
                        config.origin_of("lxc.rootfs.options").cloned(),
                    ),
                    value: options.to_string(),
                    why: "an idmapped rootfs needs a rootfs of its own (lxc.rootfs.path)".into(),
                });
            }
        }
    }
    for pe in plan
        .entries
        .iter()
        .filter(|pe| pe.entry.opts.idmap.is_some())
    {
        let e = &pe.entry;
        entry_rule(e).map_err(|why| MountError::Invalid {
            site: pe.site.clone(),
            value: e.options.clone(),
            why,
        })?;
        if !has_idmaps && e.opts.idmap.as_deref() == Some(CONTAINER) {
            return Err(MountError::Invalid {
                site: pe.site.clone(),
                value: e.options.clone(),
                why: "idmap=container needs the container's own user namespace (lxc.idmap \
                      lines); without them it is the host's, which cannot idmap a mount"
                    .into(),
            });
        }
    }
    Ok(())
}

/// The `idmap=` value of `lxc.rootfs.options`, with its line.
pub fn rootfs_userns(spec: &RootfsSpec) -> Result<Option<(String, Site)>> {
    let Some((options, site)) = &spec.options else {
        return Ok(None);
    };
    let o = parse_mount_options(options).map_err(|e| e.at(site.clone()))?;
    Ok(o.idmap.map(|u| (u, site.clone())))
}

/// The child's step for the rootfs: true when it mounted the rootfs idmapped on `target`,
/// false when the plain bind is to be made (no `idmap=`, or no `lxc.idmap` as with LXC).
pub fn mount_rootfs(
    idmap: Option<&ChildIdmap<'_>>,
    spec: &RootfsSpec,
    target: BorrowedFd<'_>,
    target_path: &Path,
) -> Result<bool> {
    let Some((userns, site)) = rootfs_userns(spec)? else {
        return Ok(false);
    };
    let Some(ctx) = idmap else {
        return Err(MountError::Unsupported {
            site,
            what: format!("idmap={userns} on the rootfs outside a start"),
            why: "the monitor of a start makes idmapped mounts".into(),
        });
    };
    if !ctx.has_idmaps {
        tracing::warn!(%site, userns = %userns,
            "idmap= on the rootfs ignored: the container has no lxc.idmap (as LXC does)");
        return Ok(false);
    }
    let Some(m) = ROOTFS_IDMAPPERS.first() else {
        return Err(MountError::Unsupported {
            site,
            what: format!("idmap={userns} on the rootfs"),
            why: needs(ROOTFS_EXTENSION),
        });
    };
    (m.mount)(ctx, spec, target, target_path)?;
    Ok(true)
}

/// The child's second pass over the mount lines, after every other entry (LXC's order: the
/// `lxc.mount.entry` lines, then the `lxc.mount.fstab` ones): the idmapped ones. The first
/// pass (`ops::apply_entry`) made their targets if they asked for `create=`.
pub fn mount_entries(
    plan: &MountPlan,
    root: &Rootfs,
    entries: &[PlannedEntry],
    idmap: Option<&ChildIdmap<'_>>,
) -> Result<()> {
    let from_fstab = |pe: &&PlannedEntry| pe.site.key == "lxc.mount.fstab";
    let idmapped = entries.iter().filter(|pe| pe.entry.opts.idmap.is_some());
    let ordered = idmapped
        .clone()
        .filter(|pe| !from_fstab(pe))
        .chain(idmapped.filter(from_fstab));
    for pe in ordered {
        let e = &pe.entry;
        let site = &pe.site;
        let Some(rel) = crate::ops::entry_target(plan, root, &e.target) else {
            tracing::warn!(%site, target = %e.target, "ignoring mount point outside the rootfs");
            continue;
        };
        // A line that cannot be idmapped fails the start, `optional` or not (as in LXC);
        // `refuse_before_mounts` has said so already in a start.
        entry_rule(e).map_err(|why| MountError::Invalid {
            site: site.clone(),
            value: e.options.clone(),
            why,
        })?;
        match mount_entry(idmap, root, pe, &rel) {
            Ok(()) => {}
            Err(err) if e.opts.optional => {
                tracing::info!(error = %err, "optional idmapped mount entry left out");
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

fn mount_entry(
    idmap: Option<&ChildIdmap<'_>>,
    root: &Rootfs,
    pe: &PlannedEntry,
    rel: &Path,
) -> Result<()> {
    let site = &pe.site;
    let what = format!(
        "an idmapped mount entry (idmap={})",
        pe.entry.opts.idmap.as_deref().unwrap_or_default()
    );
    let Some(m) = ENTRY_IDMAPPERS.first() else {
        return Err(MountError::Unsupported {
            site: site.clone(),
            what,
            why: needs(ENTRY_EXTENSION),
        });
    };
    let Some(ctx) = idmap else {
        return Err(MountError::Unsupported {
            site: site.clone(),
            what: format!("{what} outside a start"),
            why: "the monitor of a start makes idmapped mounts".into(),
        });
    };
    (m.mount)(ctx, root, pe, rel)
}

/// The monitor's half: open the user namespace `userns` names (`container`: init's, `pid`),
/// checking that it is one, and, for `container`, that it is not the host's.
pub fn open_userns(userns: &str, pid: i32, site: &Site) -> Result<OwnedFd> {
    if userns != CONTAINER {
        return open_userns_path(userns, site);
    }
    let path = PathBuf::from(format!("/proc/{pid}/ns/user"));
    let fd = open_ns(&path, userns, site)?;
    let own = sys::openat2(
        None,
        Path::new("/proc/self/ns/user"),
        oflag::RDONLY,
        0,
        Resolve::Normal,
    )
    .and_then(|f| sys::fstat(f.as_fd()));
    let theirs = sys::fstat(fd.as_fd());
    if let (Ok(a), Ok(b)) = (own, theirs) {
        if (a.dev, a.ino) == (b.dev, b.ino) {
            return Err(MountError::Invalid {
                site: site.clone(),
                value: format!("idmap={userns}"),
                why: "the container has no user namespace of its own (no lxc.idmap)".into(),
            });
        }
    }
    Ok(fd)
}

/// The user namespace file `idmap=PATH` names, opened by the host's root and checked to be one.
pub fn open_userns_path(userns: &str, site: &Site) -> Result<OwnedFd> {
    open_ns(&to_path(userns), userns, site)
}

fn open_ns(path: &Path, userns: &str, site: &Site) -> Result<OwnedFd> {
    let fd = sys::openat2(
        None,
        path,
        oflag::RDONLY | oflag::NOCTTY,
        0,
        Resolve::Normal,
    )
    .map_err(|e| {
        MountError::sys(
            site,
            format!("open the user namespace {}", path.display()),
            path,
            e,
        )
    })?;
    match sys::ns_type(fd.as_fd()) {
        Ok(t) if t == sys::CLONE_NEWUSER => Ok(fd),
        _ => Err(MountError::Invalid {
            site: site.clone(),
            value: format!("idmap={userns}"),
            why: format!("{} is not a user namespace", path.display()),
        }),
    }
}

/// The PreClone hook of each idmap extension (order FIRST): [`check_before_clone`] on the
/// monitor's copy of the config, so that a refused start has made nothing.
pub fn pre_clone_hook(
    ctx: &mut lxc_core::phase::HookCtx<'_>,
    which: Idmapped,
) -> std::result::Result<(), lxc_core::Error> {
    let phase = ctx.phase;
    let plan = MountPlan::from_config(ctx.config, ctx.name, &ctx.lxcpath, ctx.mode)
        .map_err(|e| e.into_core(phase))?;
    check_before_clone(ctx.config, &plan, which).map_err(|e| e.into_core(phase))
}

/// Which idmapped mounts [`check_before_clone`] covers: each extension checks its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idmapped {
    /// `lxc.rootfs.options` (`idmapped_mounts`).
    Rootfs,
    /// The mount lines, `lxc.mount.fstab`'s too (`idmapped_mounts_v2`).
    Entries,
}

/// The monitor's check before the container's process exists (PreClone), so that a refused
/// idmapped mount leaves nothing, not even a `create=dir` target: LXC's refusals
/// ([`refuse_before_mounts`]) and every `idmap=PATH` opened and checked to be a user namespace
/// (LXC opens the paths while it reads the config, and fails at start on one that is no user
/// namespace, `optional` or not). A rootfs `idmap=` of a container without `lxc.idmap` is left
/// alone: LXC ignores it.
pub fn check_before_clone(
    config: &lxc_core::Config,
    plan: &MountPlan,
    which: Idmapped,
) -> Result<()> {
    let has_idmaps = !lxc_core::start::spec::idmaps(config).is_empty();
    refuse_before_mounts(config, plan, has_idmaps)?;
    match which {
        Idmapped::Rootfs => {
            let Some(spec) = plan.rootfs.as_ref().filter(|_| has_idmaps) else {
                return Ok(());
            };
            if let Some((userns, site)) = rootfs_userns(spec)? {
                if userns != CONTAINER {
                    open_userns_path(&userns, &site)?;
                }
            }
        }
        Idmapped::Entries => {
            for pe in &plan.entries {
                match pe.entry.opts.idmap.as_deref() {
                    Some(u) if u != CONTAINER => drop(open_userns_path(u, &pe.site)?),
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// The monitor's half: make the detached mount `mnt` (the whole tree below it when
/// `recursive`) idmapped through `userns`, with `set` / `clear` (`MOUNT_ATTR_*`) and
/// `propagation` in the same call. `what` words the error.
#[allow(clippy::too_many_arguments)]
pub fn idmap_detached(
    mnt: BorrowedFd<'_>,
    recursive: bool,
    userns: BorrowedFd<'_>,
    set: u64,
    clear: u64,
    propagation: MsFlags,
    site: &Site,
    what: &Path,
) -> Result<()> {
    sys::mount_setattr_userns(
        mnt,
        recursive,
        set | sys::attr::IDMAP,
        clear,
        propagation,
        Some(userns),
    )
    .map_err(|e| {
        let hint = match e.raw_os_error() {
            Some(sys::errno::EINVAL) => {
                " (the filesystem cannot be idmapped, or it is idmapped already)"
            }
            _ => "",
        };
        MountError::sys(
            site,
            format!("idmap the detached mount of {}{hint}", what.display()),
            what,
            e,
        )
    })
}

/// What the start request handlers return for a failure: the message alone (the child adds
/// the config line it came from).
pub fn to_core(name: &str, e: MountError) -> lxc_core::Error {
    let message = match &e {
        MountError::Sys { op, source, .. } => {
            format!("{op}: {}", crate::error::os_text(source))
        }
        MountError::Invalid { why, value, .. } => format!("{value}: {why}"),
        MountError::Unsupported { what, why, .. } => format!("{what}: {why}"),
        other => other.to_string(),
    };
    lxc_core::Error::Start {
        name: name.to_string(),
        message,
    }
}

/// `MOUNT_ATTR_*` sets of an entry's or the rootfs's mount flags.
pub fn attrs(o: &crate::entry::MountOptions) -> (u64, u64) {
    crate::rootfs::attrs_of(o.flags, o.cleared)
}

/// The fds of a start request's answer as exactly one mount fd.
pub fn one_fd(fds: Vec<OwnedFd>, site: &Site, op: &str) -> Result<OwnedFd> {
    let n = fds.len();
    <[OwnedFd; 1]>::try_from(fds)
        .map(|[fd]| fd)
        .map_err(|_| MountError::Monitor {
            site: site.clone(),
            op: op.to_string(),
            message: format!("the monitor answered with {n} fds, not one mount"),
        })
}
