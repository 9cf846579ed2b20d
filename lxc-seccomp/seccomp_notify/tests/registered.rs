//! The crate registers `seccomp_notify` when it is linked.

use lxc_ext_seccomp_notify as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension("seccomp_notify"));
}
