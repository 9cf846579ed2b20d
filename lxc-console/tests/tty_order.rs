//! The terminals sit between lxc-mount's two ChildPivot steps: after the devpts instance is
//! mounted (they are allocated from it) and before pivot_root (they are bound into the rootfs
//! from the host's view).

use lxc_console as _;
use lxc_core::registry::hooks_for;
use lxc_core::Phase;

#[test]
fn terminals_run_between_devpts_and_pivot() {
    let owners: Vec<&str> = hooks_for(Phase::ChildPivot)
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let first_mount = owners.iter().position(|n| *n == "mount");
    let terminals = owners.iter().position(|n| *n == "terminals");
    let last_mount = owners.iter().rposition(|n| *n == "mount");
    assert!(
        first_mount < terminals && terminals < last_mount && first_mount.is_some(),
        "{owners:?}"
    );
}
