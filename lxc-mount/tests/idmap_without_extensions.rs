//! `idmap=` with neither idmapped mounts extension linked (this test binary names only
//! lxc-mount and the crates its plan reads): the key checks `start` runs first refuse
//! `lxc.rootfs.options = idmap=...` and a non-optional idmapped `lxc.mount.entry`, naming the
//! missing extension; LXC's rules for idmapped lines hold without them; and the mount step
//! itself refuses (or, `optional`, leaves out) an idmapped line it is handed anyway, as it does
//! for the lines of an fstab file, which no key check sees.

use std::path::Path;

// The terminal keys the mount plan reads (lxc.pty.max, lxc.tty.dir) are lxc-console's.
use lxc_console as _;
use lxc_core::check::check_config;
use lxc_core::phase::StartMode;
use lxc_core::registry::{has_api_extension, CheckScope};
use lxc_core::{Config, Error};
use lxc_mount::idmap::{self, ENTRY_IDMAPPERS, ROOTFS_IDMAPPERS};
use lxc_mount::{MountError, MountPlan, Rootfs};

/// (line, key, expected) of each static-check problem of `text`.
fn problems(text: &str) -> Vec<(usize, String, String)> {
    let c = Config::parse_str(text, Some("c.conf".as_ref())).expect("every value parses");
    check_config(&c, &[CheckScope::Static])
        .into_iter()
        .map(|e| match e {
            Error::Unusable {
                key,
                origin,
                expected,
                ..
            } => (origin.line, key, expected),
            other => panic!("not an Unusable problem: {other}"),
        })
        .collect()
}

#[test]
fn nothing_idmaps_in_this_build() {
    assert!(!has_api_extension(idmap::ROOTFS_EXTENSION));
    assert!(!has_api_extension(idmap::ENTRY_EXTENSION));
    assert!(ROOTFS_IDMAPPERS.is_empty() && ENTRY_IDMAPPERS.is_empty());
}

#[test]
fn key_checks_name_the_missing_extension() {
    let got = problems(
        "lxc.rootfs.path = /tmp/lxcrs-t-none\n\
         lxc.rootfs.options = idmap=container\n\
         lxc.mount.entry = /srv/a mnt/a none bind,create=dir,idmap=container 0 0\n\
         lxc.mount.entry = /srv/b mnt/b none rbind,idmap=/proc/1/ns/user 0 0\n\
         lxc.mount.entry = /srv/c mnt/c none bind,optional,idmap=container 0 0\n\
         lxc.mount.entry = /srv/d mnt/d none bind,ro 0 0\n",
    );
    let want = [
        (2, "lxc.rootfs.options", "idmapped_mounts,"),
        (3, "lxc.mount.entry", "idmapped_mounts_v2"),
        (4, "lxc.mount.entry", "idmapped_mounts_v2"),
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for ((line, key, expected), (wline, wkey, wtext)) in got.iter().zip(want) {
        assert_eq!((*line, key.as_str()), (wline, wkey), "{got:#?}");
        assert!(
            expected.contains(wtext) && expected.contains("needs the API extension"),
            "{key}: {expected:?} does not name {wtext:?}"
        );
    }
}

#[test]
fn lxc_rules_for_idmapped_lines_hold_without_the_extensions() {
    let got = problems(
        "lxc.mount.entry = tmpfs mnt/t tmpfs defaults,idmap=container 0 0\n\
         lxc.mount.entry = /srv/a mnt/a none bind,size=10m,idmap=container,optional 0 0\n\
         lxc.mount.entry = /srv/b mnt/b ext4 bind,idmap=container,optional 0 0\n",
    );
    let lines: Vec<usize> = got.iter().map(|p| p.0).collect();
    assert_eq!(lines, [1, 2, 3], "{got:#?}");
    assert!(got[0].2.contains("only bind mounts"), "{got:#?}");
    assert!(got[1].2.contains("no filesystem options"), "{got:#?}");
    assert!(got[2].2.contains("only bind mounts"), "{got:#?}");
}

fn plan(text: &str) -> MountPlan {
    let c = Config::parse_str(text, Some("c.conf".as_ref())).expect("parses");
    MountPlan::from_config(&c, "x", Path::new("/tmp"), StartMode::Execute).expect("plans")
}

/// The second pass over the mount lines, handed an idmapped line with no extension linked (an
/// fstab file's line would get there): refused with the extension's name, or left out when
/// `optional`. Nothing is mounted either way (the refusal comes before any syscall).
#[test]
fn the_mount_step_refuses_or_leaves_out() {
    let root = Rootfs::host().expect("open /");
    let p = plan("lxc.mount.entry = /lxcrs-t-none mnt none bind,idmap=container 0 0\n");
    let entries = p.all_entries().unwrap();
    let err = idmap::mount_entries(&p, &root, &entries, None).unwrap_err();
    assert!(matches!(err, MountError::Unsupported { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("lxc.mount.entry") && text.contains("idmapped_mounts_v2"),
        "{text}"
    );

    let p = plan("lxc.mount.entry = /lxcrs-t-none mnt none bind,optional,idmap=container 0 0\n");
    let entries = p.all_entries().unwrap();
    idmap::mount_entries(&p, &root, &entries, None).expect("an optional line is left out");
}

/// What the child refuses before its first mount, extension or not (LXC's rules).
#[test]
fn refused_before_any_mount() {
    let text = "lxc.rootfs.options = idmap=container\n";
    let c = Config::parse_str(text, Some("c.conf".as_ref())).unwrap();
    let p = MountPlan::from_config(&c, "x", Path::new("/tmp"), StartMode::Execute).unwrap();
    let err = idmap::refuse_before_mounts(&c, &p, true).unwrap_err();
    let s = err.to_string();
    assert!(
        s.contains("lxc.rootfs.options") && s.contains("lxc.rootfs.path"),
        "{s}"
    );

    // idmap=container without lxc.idmap: the host's user namespace cannot idmap (LXC fails
    // the start then, `optional` or not).
    let text = "lxc.rootfs.path = /tmp/lxcrs-t-none\n\
                lxc.mount.entry = /srv/a mnt/a none bind,optional,idmap=container 0 0\n";
    let c = Config::parse_str(text, Some("c.conf".as_ref())).unwrap();
    let p = MountPlan::from_config(&c, "x", Path::new("/tmp"), StartMode::Execute).unwrap();
    let s = idmap::refuse_before_mounts(&c, &p, false)
        .unwrap_err()
        .to_string();
    assert!(
        s.contains("lxc.mount.entry") && s.contains("c.conf:2") && s.contains("lxc.idmap"),
        "{s}"
    );
    idmap::refuse_before_mounts(&c, &p, true).expect("with lxc.idmap it is fine");

    // A path names a user namespace of its own: fine without lxc.idmap.
    let text = "lxc.rootfs.path = /tmp/lxcrs-t-none\n\
                lxc.mount.entry = /srv/a mnt/a none bind,idmap=/proc/1/ns/user 0 0\n";
    let c = Config::parse_str(text, Some("c.conf".as_ref())).unwrap();
    let p = MountPlan::from_config(&c, "x", Path::new("/tmp"), StartMode::Execute).unwrap();
    idmap::refuse_before_mounts(&c, &p, false).expect("a path needs no lxc.idmap");
}
