//! A container's whole life through the Rust API: create (busybox), start, state, init pid,
//! stop, execute a command, destroy. Run as root:
//! `cargo run -p lxc --example lifecycle -- /tmp/lxcrs-demo demo1`

use lxc::{Container, StartMode, StartOptions, State};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let lxcpath = std::path::PathBuf::from(args.next().unwrap_or_else(|| "/tmp/lxcrs-demo".into()));
    let name = args.next().unwrap_or_else(|| "demo1".into());

    let mut c = Container::new(&name, Some(&lxcpath))?;
    if !c.is_defined() {
        // LXCRS_IDMAP=1 makes an unprivileged (user-namespaced) container.
        let idmap = if std::env::var_os("LXCRS_IDMAP").is_some() {
            vec![
                "u 0 100000 65536".to_string(),
                "g 0 100000 65536".to_string(),
            ]
        } else {
            Vec::new()
        };
        c.create(&lxc::CreateOptions {
            template: "busybox".into(),
            idmap,
            ..Default::default()
        })?;
    }
    c.start(&StartOptions {
        mode: StartMode::Start,
        argv: Vec::new(),
        inherit_stdio: false,
        close_all_fds: false,
    })?;
    println!("state: {}", c.state());
    println!("init pid: {}", c.init_pid()?);
    println!("cgroups: {:?}", c.cgroup_paths()?);
    c.freeze()?;
    println!("after freeze: {}", c.state());
    c.unfreeze()?;
    println!("after unfreeze: {}", c.state());
    let before = c.init_pid()?;
    let ok = lxc::reboot2(&c, 30)?;
    println!("reboot2: {ok}, init pid {before} -> {}", c.init_pid()?);
    c.stop()?;
    println!("state: {}", c.state());
    assert_eq!(c.state(), State::Stopped);
    let exit = c.execute(&[
        "/bin/sh".into(),
        "-c".into(),
        "echo hello from $(hostname); exit 7".into(),
    ])?;
    println!("execute exit: {exit:?}");
    c.destroy()?;
    Ok(())
}
