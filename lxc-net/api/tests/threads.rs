//! The fork rule: a `Netlink` handle's thread exists while the handle does and is joined when
//! it is dropped, so a monitor that drops its handles before forking forks with one thread.
//! (Its own test binary: no other test's handles run beside it.)

use lxc_net_api::netlink::Netlink;

/// The netlink threads that still show in /proc after their join: pthread_join returns when
/// the thread is done running, and the kernel removes its /proc entry a moment later (a slow,
/// emulated machine shows the gap), so wait for that briefly.
fn netlink_threads_after_join() -> usize {
    for _ in 0..200 {
        if netlink_threads() == 0 {
            return 0;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    netlink_threads()
}

fn netlink_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| t.ok())
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "lxc-netlink")
        })
        .count()
}

#[test]
fn dropping_a_handle_joins_its_thread() {
    assert_eq!(netlink_threads(), 0);
    let nl = Netlink::current().expect("netlink");
    let also = match Netlink::new_netns() {
        Ok(n) => Some(n),
        Err(e) => {
            eprintln!("(no second handle in a new netns: {e})");
            None
        }
    };
    nl.links().expect("links");
    assert_eq!(netlink_threads(), 1 + usize::from(also.is_some()));
    drop(also);
    drop(nl);
    assert_eq!(
        netlink_threads_after_join(),
        0,
        "a netlink thread outlived its handle"
    );
    // A handle whose setup fails leaves no thread either.
    let bad = Netlink::in_netns(not_a_netns());
    assert!(bad.is_err());
    assert_eq!(netlink_threads_after_join(), 0);
}

/// A descriptor that is open but no network namespace (stdin's duplicate would do; /dev/null
/// is certain): setns refuses it with EINVAL.
fn not_a_netns() -> std::os::fd::BorrowedFd<'static> {
    let f: &'static std::fs::File = Box::leak(Box::new(
        std::fs::File::open("/dev/null").expect("/dev/null"),
    ));
    std::os::fd::AsFd::as_fd(f)
}
