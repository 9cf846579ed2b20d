//! The crate registers `seccomp_proxy_send_notify_fd` when it is linked.

use lxc_ext_seccomp_proxy_send_notify_fd as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension(
        "seccomp_proxy_send_notify_fd"
    ));
}
