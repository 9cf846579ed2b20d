//! The console log file's size and rotation rules (LXC's `lxc_terminal_write_log_file`) and
//! lxc-console's escape handling, without a container.

use std::fs;

use lxc_console::attach::{escape_char, filter_escape};
use lxc_console::LogFile;
use lxc_testkit::TestDir;

#[test]
fn log_file_rotates_at_its_size_keeping_one_old_file() {
    let tmp = TestDir::fresh("lxcrs-t-consolelog-rot");
    let path = tmp.path().join("console.log");
    let mut log = LogFile::open(path.clone(), 8, true).unwrap();
    log.write(b"abcde").unwrap();
    log.write(b"fghij").unwrap();
    // 8 bytes fill the file, which moves to .1; the rest starts the new one.
    assert_eq!(
        fs::read(tmp.path().join("console.log.1")).unwrap(),
        b"abcdefgh"
    );
    assert_eq!(fs::read(&path).unwrap(), b"ij");
    log.write(b"klmnopqrstuvwxyz").unwrap();
    // 6 fit; the rest (10 bytes) is more than the limit: the first 8 of it are kept.
    assert_eq!(
        fs::read(tmp.path().join("console.log.1")).unwrap(),
        b"ijklmnop"
    );
    assert_eq!(fs::read(&path).unwrap(), b"qrstuvwx");
}

#[test]
fn log_file_without_rotation_starts_again_from_empty() {
    let tmp = TestDir::fresh("lxcrs-t-consolelog-trunc");
    let path = tmp.path().join("console.log");
    fs::write(&path, b"old-").unwrap();
    let mut log = LogFile::open(path.clone(), 8, false).unwrap();
    // Appended to what was there, as LXC opens it O_APPEND.
    log.write(b"abcd").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"old-abcd");
    log.write(b"efg").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"efg");
    assert!(!tmp.path().join("console.log.1").exists());
    let mut unlimited = LogFile::open(tmp.path().join("all.log"), 0, true).unwrap();
    unlimited.write(&[b'x'; 100]).unwrap();
    assert_eq!(fs::read(tmp.path().join("all.log")).unwrap().len(), 100);
}

#[test]
fn escape_is_lxc_consoles() {
    assert_eq!(escape_char("^a"), Some(1));
    assert_eq!(escape_char("^B"), Some(2));
    assert_eq!(escape_char("x"), Some(i32::from(b'x')));
    assert_eq!(escape_char(""), None);
    let run = |input: &[u8], escape| {
        let (mut saw, mut out) = (false, Vec::new());
        let quit = filter_escape(input, escape, &mut saw, &mut out);
        (out, quit)
    };
    assert_eq!(run(b"ls\r", 1), (b"ls\r".to_vec(), false));
    assert_eq!(run(b"ab\x01q", 1), (b"ab".to_vec(), true));
    // Escape twice sends it once; escape then another key sends that key.
    assert_eq!(run(b"\x01\x01x", 1), (b"\x01x".to_vec(), false));
    assert_eq!(run(b"\x01xq", 1), (b"xq".to_vec(), false));
    // No escape: everything passes.
    assert_eq!(run(b"\x01q", 0), (b"\x01q".to_vec(), false));
}
