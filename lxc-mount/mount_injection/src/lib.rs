//! API extension `mount_injection`: mounts made in, and removed from, a running container
//! without a restart (`Container::mount` / `Container::umount`, liblxc's `mount` and
//! `umount`), and `lxc.mount.auto = shmounts:HOST[:CONTAINER]`, a host directory whose mounts
//! reach the container.
//!
//! The registration below is everything this crate does to a container: it answers the
//! core's mount injection seam ([`MOUNT_INJECTOR`]) and, in PreClone, shares the shmounts
//! host directory ([`shmounts`]). The `shmounts:` token itself is lxc-mount's grammar, which
//! refuses it at start without this extension; a single file as a bind's source needs
//! `mount_injection_file` too.
//!
//! How a mount gets in (decisions 81): the new mount API, not LXC's propagation through the
//! shmounts directory. A bind is cloned from the host's source (`open_tree`), its flags set
//! (`mount_setattr`), and moved onto the target (`move_mount`) by a child in the container's
//! mount namespace; into a user namespace it first goes through a copy of the host's mount
//! namespace owned by the container's user namespace, which makes the kernel lock its flags
//! ([`child`]). A new filesystem is made by that child after it became the container's root
//! (`fsopen`, `fsconfig`, `fsmount`), so its superblock belongs to the container. Targets are
//! resolved beneath the container's root (`openat2` `RESOLVE_BENEATH`).

pub mod child;
pub mod error;
pub mod inject;
pub mod request;
pub mod shmounts;
pub mod sys;

use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, Phase};
use lxc_core::registry::{
    EntryKind, MountInjector, PhaseHook, Registration, MOUNT_INJECTORS, REGISTRY,
};

pub use error::InjectError;

/// The extension's name.
pub const NAME: &str = "mount_injection";

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static MOUNT_INJECTION: Registration = Registration {
    name: NAME,
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[PhaseHook {
        phase: Phase::PreClone,
        // Before the cgroups are made: a refused shmounts directory leaves nothing.
        order: order::CGROUPS - 50,
        run: shmounts::preclone,
    }],
    commands: &[],
};

#[distributed_slice(MOUNT_INJECTORS)]
#[linkme(crate = lxc_core::linkme)]
static MOUNT_INJECTOR: MountInjector = MountInjector {
    owner: NAME,
    mount: inject::mount,
    umount: inject::umount,
};
