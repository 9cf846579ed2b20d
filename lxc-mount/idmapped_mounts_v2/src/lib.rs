//! API extension `idmapped_mounts_v2`: `idmap=container|PATH` in the options of a bind mount
//! line (`lxc.mount.entry`, `lxc.mount.fstab`) mounts it idmapped through the container's user
//! namespace (or the one at PATH), so the container's root owns what the host's root owns
//! there.
//!
//! The registration below is everything this crate does to a container: it names the
//! extension, checks the config before the clone (PreClone: LXC's rules, `idmap=container`
//! only with `lxc.idmap`, and that an `idmap=PATH` is a user namespace), answers one start
//! request and fills lxc-mount's entry seam. lxc-mount's second pass over the mount lines
//! ([`lxc_mount::idmap::ENTRY_IDMAPPERS`], after every other entry, as LXC's
//! `lxc_idmapped_mounts_child`) calls [`attach_entry`] in the child for each idmapped line: it
//! clones the source detached (the host's path, or the rootfs's with `relative`), sends the
//! mount fd to the monitor ([`REQUEST`]), which idmaps it (only the host's root may), then sets
//! the line's mount flags and propagation and attaches it on the target. LXC's rules hold:
//! bind mounts only, with no filesystem options (a line that breaks them fails the start,
//! `optional` or not); an `optional` line whose mount fails is left out. Where lxc-rs differs:
//! the target of an idmapped line is placed as every other line's (LXC takes an absolute one
//! below the rootfs only here), the source of a `relative` line cannot leave the rootfs, the
//! monitor opens `idmap=PATH` (LXC's child does: `/proc/self/...` names differ) and idmaps
//! only through user namespaces the config names, and what LXC finds wrong only when its
//! parent's `mount_setattr` fails is refused before the clone.

// The kernel calls are lxc-mount's small wrappers (`lxc_mount::sys`), each with its `// SAFETY:`.
#![forbid(unsafe_code)]

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use lxc_core::config::bytes::to_path;
use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, HookCtx, Phase};
use lxc_core::registry::{
    EntryKind, PhaseHook, Registration, StartRequestDef, REGISTRY, START_REQUESTS,
};
use lxc_mount::idmap::{self, ChildIdmap, EntryIdmapper, ENTRY_IDMAPPERS};
use lxc_mount::sys::{self, oflag, Resolve};
use lxc_mount::{MountError, MountPlan, PlannedEntry, Rootfs, Site};
use nix::mount::MsFlags;

/// The extension's name.
pub const NAME: &str = idmap::ENTRY_EXTENSION;

/// The start request that idmaps a detached mount: the body is [`Request::encode`], the one
/// fd the mount; nothing comes back but the answer.
pub const REQUEST: &str = "idmapped_mounts_v2.idmap";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static IDMAPPED_MOUNTS_V2: Registration = Registration {
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
    idmap::pre_clone_hook(ctx, idmap::Idmapped::Entries)
}

#[distributed_slice(START_REQUESTS)]
#[linkme(crate = lxc_core::linkme)]
static IDMAP_REQUEST: StartRequestDef = StartRequestDef {
    owner: NAME,
    name: REQUEST,
    handler: idmap_entry,
};

#[distributed_slice(ENTRY_IDMAPPERS)]
#[linkme(crate = lxc_core::linkme)]
static ENTRIES: EntryIdmapper = EntryIdmapper {
    owner: NAME,
    mount: attach_entry,
};

/// What the child asks of the monitor for one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `rbind`: the whole tree below the source was cloned, and is idmapped.
    pub recursive: bool,
    /// The `idmap=` value as written in the config (`container` or a path).
    pub userns: String,
    /// The source as the child opened it (for messages).
    pub source: String,
}

impl Request {
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{}\n{}\n{}",
            u8::from(self.recursive),
            self.userns,
            self.source
        )
        .into_bytes()
    }

    pub fn decode(body: &[u8]) -> Option<Request> {
        let text = std::str::from_utf8(body).ok()?;
        let (rec, rest) = text.split_once('\n')?;
        let (userns, source) = rest.split_once('\n')?;
        let recursive = match rec {
            "0" => false,
            "1" => true,
            _ => return None,
        };
        (!userns.is_empty()).then(|| Request {
            recursive,
            userns: userns.to_string(),
            source: source.to_string(),
        })
    }
}

/// Child: one idmapped line, on `rel` below the rootfs.
pub fn attach_entry(
    ctx: &ChildIdmap<'_>,
    root: &Rootfs,
    pe: &PlannedEntry,
    rel: &Path,
) -> Result<(), MountError> {
    let e = &pe.entry;
    let site = &pe.site;
    let o = &e.opts;
    let userns = o.idmap.clone().unwrap_or_default();
    let recursive = o.flags.contains(MsFlags::MS_REC);
    let source = to_path(&e.source);
    // LXC takes the source below the rootfs with `relative`, and when the container has no
    // rootfs of its own (then the host's `/` is the root anyway).
    let in_root = o.relative || root.is_host();
    let shown = if in_root {
        root.display(&source)
    } else {
        source.clone()
    };
    let target = root.display(rel);
    let src = if in_root {
        root.path_fd(&source)
    } else {
        sys::openat2(None, &source, oflag::PATH, 0, Resolve::Normal)
    }
    .map_err(|err| MountError::sys(site, format!("open {}", shown.display()), &shown, err))?;
    let mnt = sys::open_tree_clone(src.as_fd(), recursive).map_err(|err| {
        MountError::sys(
            site,
            format!("clone the mount of {}", shown.display()),
            &shown,
            err,
        )
    })?;

    let op = format!("idmap {} (idmap={userns})", shown.display());
    let ask = Request {
        recursive,
        userns: userns.clone(),
        source: shown.display().to_string(),
    };
    ctx.link
        .ask(REQUEST, &ask.encode(), &[mnt.as_fd()])
        .map_err(|err| MountError::monitor(site, op.as_str(), err))?;

    let (set, clear) = idmap::attrs(o);
    if set != 0 || clear != 0 {
        sys::mount_setattr(mnt.as_fd(), recursive, set, clear, MsFlags::empty()).map_err(
            |err| {
                MountError::sys(
                    site,
                    format!("apply {:?} to {}", e.options, shown.display()),
                    &shown,
                    err,
                )
            },
        )?;
    }
    if !o.propagation.is_empty() {
        let rec = o.propagation.contains(MsFlags::MS_REC);
        sys::mount_setattr(mnt.as_fd(), rec, 0, 0, o.propagation - MsFlags::MS_REC).map_err(
            |err| {
                MountError::sys(
                    site,
                    format!("change propagation of {}", shown.display()),
                    &shown,
                    err,
                )
            },
        )?;
    }
    let to = root
        .path_fd(rel)
        .map_err(|err| MountError::sys(site, format!("open {}", target.display()), &target, err))?;
    sys::move_mount(mnt.as_fd(), to.as_fd()).map_err(|err| {
        MountError::sys(
            site,
            format!(
                "attach the idmapped mount of {} on {}",
                shown.display(),
                target.display()
            ),
            &target,
            err,
        )
    })?;
    tracing::debug!(%site, source = %shown.display(), target = %target.display(), userns = %userns, "mounted idmapped entry");
    Ok(())
}

/// Monitor: idmap the detached mount the child cloned, through a user namespace one of the
/// config's idmapped lines names.
fn idmap_entry(
    ctx: &mut HookCtx<'_>,
    body: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<(Vec<u8>, Vec<OwnedFd>), lxc_core::Error> {
    let name = ctx.name.to_string();
    idmap_detached_entry(ctx, body, fds).map_err(|e| idmap::to_core(&name, e))?;
    Ok((Vec::new(), Vec::new()))
}

fn idmap_detached_entry(
    ctx: &HookCtx<'_>,
    body: &[u8],
    fds: Vec<OwnedFd>,
) -> Result<(), MountError> {
    let site = Site::key("lxc.mount.entry");
    let bad = |why: &str| MountError::Invalid {
        site: site.clone(),
        value: String::from_utf8_lossy(body).into_owned(),
        why: why.to_string(),
    };
    let req = Request::decode(body).ok_or_else(|| bad("not an idmap request"))?;
    let mnt = idmap::one_fd(fds, &site, "idmap a mount entry")?;
    let plan = MountPlan::from_config(ctx.config, ctx.name, &ctx.lxcpath, ctx.mode)?;
    let named = plan
        .all_entries()?
        .into_iter()
        .find(|pe| pe.entry.opts.idmap.as_deref() == Some(req.userns.as_str()))
        .ok_or_else(|| bad("no idmapped mount line of the config names this user namespace"))?;
    let pid = ctx
        .init_pid
        .ok_or_else(|| bad("no container process to take the user namespace of"))?;
    let ns = idmap::open_userns(&req.userns, pid, &named.site)?;
    idmap::idmap_detached(
        mnt.as_fd(),
        req.recursive,
        ns.as_fd(),
        0,
        0,
        MsFlags::empty(),
        &named.site,
        Path::new(&req.source),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip() {
        let r = Request {
            recursive: true,
            userns: "/proc/1/ns/user".into(),
            source: "/srv/a\nb".into(),
        };
        assert_eq!(Request::decode(&r.encode()), Some(r));
        assert_eq!(Request::decode(b"2\ncontainer"), None);
        assert_eq!(Request::decode(b"0\n\n/x"), None);
        assert_eq!(Request::decode(b"0\ncontainer"), None);
    }
}
