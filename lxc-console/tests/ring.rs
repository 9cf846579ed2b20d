//! The console ring buffer against a plain model, and its size rules against liblxc.

use std::collections::VecDeque;

use lxc_console::size::{buffer_size, parse_byte_size};
use lxc_console::{Empty, LogRequest, RingBuffer};
use lxc_testkit::{Oracle, TestDir};

const PAGE: usize = 4096;

/// A container writing 1 MiB to a 64 KiB buffer: the buffer holds exactly the last 64 KiB,
/// in order, however the writes were cut.
#[test]
fn keeps_exactly_the_newest_bytes() {
    let size = 64 * 1024;
    let data: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for chunk in [1, 7, 4095, 4096, 65_535, 65_536, 65_537, 300_000] {
        let mut r = RingBuffer::new(size).unwrap();
        for c in data.chunks(chunk) {
            r.write(c);
        }
        assert_eq!(r.used(), size, "chunk {chunk}");
        assert_eq!(r.total_written(), data.len() as u64);
        assert!(
            r.peek(usize::MAX) == &data[data.len() - size..],
            "chunk {chunk}"
        );
        let all = r
            .answer(LogRequest {
                read: true,
                ..Default::default()
            })
            .unwrap();
        assert!(all == data[data.len() - size..], "chunk {chunk}");
        assert_eq!(r.used(), 0, "a read consumes");
    }
}

/// Random writes, peeks, consumes and clears agree with a VecDeque capped at the size.
#[test]
fn agrees_with_a_model() {
    let size = 2 * PAGE;
    let mut r = RingBuffer::new(size).unwrap();
    let mut model: VecDeque<u8> = VecDeque::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for step in 0..20_000u32 {
        match rand() % 10 {
            0..=5 => {
                let len = (rand() % (size as u64 * 3 / 2)) as usize;
                let byte = step as u8;
                let data: Vec<u8> = (0..len).map(|i| byte.wrapping_add(i as u8)).collect();
                r.write(&data);
                model.extend(&data);
                while model.len() > size {
                    model.pop_front();
                }
            }
            6 | 7 => {
                let n = (rand() % size as u64) as usize;
                r.consume(n);
                for _ in 0..n.min(model.len()) {
                    model.pop_front();
                }
            }
            8 => {
                let max = (rand() % (size as u64 + 10)) as usize;
                let want: Vec<u8> = model.iter().take(max).copied().collect();
                assert_eq!(r.peek(max), &want[..], "step {step}");
            }
            _ => {
                r.clear();
                model.clear();
            }
        }
        assert_eq!(r.used(), model.len(), "step {step}");
    }
}

/// LXC's console_log answers: nothing buffered gives ENODATA on a read, a read consumes, read_max
/// takes the oldest bytes, clear empties after answering.
#[test]
fn answers_console_log_as_lxc() {
    let mut r = RingBuffer::new(PAGE).unwrap();
    let read = LogRequest {
        read: true,
        ..Default::default()
    };
    assert_eq!(r.answer(read), Err(Empty));
    // Neither read nor clear: an empty answer, not an error, and nothing changes.
    r.write(b"hello world");
    assert_eq!(r.answer(LogRequest::default()), Ok(vec![]));
    assert_eq!(r.used(), 11);
    let first = r.answer(LogRequest {
        read: true,
        read_max: 5,
        ..Default::default()
    });
    assert_eq!(first.as_deref(), Ok(&b"hello"[..]));
    assert_eq!(r.answer(read).as_deref(), Ok(&b" world"[..]));
    assert_eq!(r.answer(read), Err(Empty));
    r.write(b"again");
    let cleared = r.answer(LogRequest {
        read: true,
        clear: true,
        read_max: 2,
    });
    assert_eq!(cleared.as_deref(), Ok(&b"ag"[..]));
    assert_eq!(
        r.used(),
        0,
        "clear empties the buffer, not just what was read"
    );
    // read_max larger than what is there gives what is there.
    r.write(b"xyz");
    let all = r.answer(LogRequest {
        read: true,
        read_max: 100,
        ..Default::default()
    });
    assert_eq!(all.as_deref(), Ok(&b"xyz"[..]));
}

#[test]
fn refuses_sizes_that_are_not_pages() {
    for bad in [0, 1, 100, PAGE + 1] {
        let e = RingBuffer::new(bad).unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL, "{bad}: {e}");
        assert!(e.to_string().contains(&bad.to_string()), "{e}");
    }
}

#[test]
fn byte_sizes_parse_as_lxc() {
    assert_eq!(parse_byte_size("4096"), Some(4096));
    assert_eq!(parse_byte_size("64kB"), Some(65536));
    assert_eq!(parse_byte_size("2mb"), Some(2 << 20));
    assert_eq!(parse_byte_size("1GB"), Some(1 << 30));
    // LXC ignores a one-letter suffix.
    assert_eq!(parse_byte_size("64K"), Some(64));
    for bad in ["", "k", "kB", "12TB", "-1", "1.5MB", "x1"] {
        assert_eq!(parse_byte_size(bad), None, "{bad:?}");
    }
}

/// `lxc.console.buffer.size` and `lxc.console.size` as liblxc stores them (its getter prints the
/// number it computed), for values across its rules: auto, rounding to a page and to a power of
/// two, units, and refusals.
#[test]
fn buffer_sizes_match_liblxc() {
    let tmp = TestDir::fresh("lxcrs-t-consolesize");
    let bin = match Oracle::build(tmp.path()) {
        Ok(b) => b,
        Err(why) => {
            eprintln!("SKIP buffer_sizes_match_liblxc: {why}");
            return;
        }
    };
    let mut lxc = Oracle::spawn(&bin, tmp.path(), "lxcrs-t-consolesize");
    let values = [
        "auto",
        "1",
        "4096",
        "4097",
        "65536",
        "100000",
        "64kB",
        "64K",
        "3MB",
        "1GB",
        "0",
        "-5",
        "12TB",
        "abc",
        "1.5MB",
        "9223372036854775807",
    ];
    let mut checked = 0;
    for key in ["lxc.console.buffer.size", "lxc.console.size"] {
        for v in values {
            lxc.reset();
            let theirs = if lxc.set(key, v) { lxc.get(key) } else { None };
            let ours = buffer_size(key, v, PAGE as u64).ok().map(|n| n.to_string());
            assert_eq!(ours, theirs, "{key} = {v}");
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * values.len());
}
