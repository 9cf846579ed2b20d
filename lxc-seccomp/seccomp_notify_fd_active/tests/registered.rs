//! The crate registers `seccomp_notify_fd_active` when it is linked.

use lxc_ext_seccomp_notify_fd_active as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension(
        "seccomp_notify_fd_active"
    ));
}
