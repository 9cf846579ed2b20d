//! `Container::execute` through the API (as root where it matters).

use lxc_cgroup as _;
use lxc_console as _;
use lxc_mount as _;

use lxc_core::{Container, Error};

#[test]
fn execute_of_an_undefined_container_with_no_config_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skip: the old behaviour (running the command) needs root to show");
        return;
    }
    let name = format!("lxcrs-t-execapi-{}", std::process::id());
    let lxcpath = std::path::PathBuf::from("/tmp").join(&name);
    std::fs::create_dir_all(&lxcpath).unwrap();
    let marker = lxcpath.join("ran");
    let c = Container::new(&name, Some(&lxcpath)).unwrap();
    let argv: Vec<String> = ["sh", "-c", &format!("touch {}", marker.display())]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let r = c.execute(&argv);
    let ran = marker.exists();
    let _ = std::fs::remove_dir_all(&lxcpath);
    assert!(!ran, "the command ran on the host");
    match r {
        Err(Error::NoConfig { name: n, .. }) => assert_eq!(n, name),
        other => panic!("expected NoConfig, got {other:?}"),
    }
}
