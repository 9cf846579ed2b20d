//! The crate registers `seccomp_allow_nesting` when it is linked.

use lxc_ext_seccomp_allow_nesting as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension(
        "seccomp_allow_nesting"
    ));
}
