//! The crate registers `mount_injection_file` when it is linked.

use lxc_ext_mount_injection_file as _;

#[test]
fn registers_its_name() {
    assert!(lxc_core::registry::has_api_extension(
        "mount_injection_file"
    ));
}
