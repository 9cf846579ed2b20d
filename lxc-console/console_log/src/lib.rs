//! API extension `console_log`: the console's ring buffer, kept by the monitor and read through
//! the command socket with LXC's semantics.
//!
//! The registration below is everything this crate does to a container: the key it owns
//! (`lxc.console.buffer.size`), a `Running` hook that gives the console's reader a ring buffer
//! (lxc-console's `console-io` feeds it), and the `console_log` request.

// Unsafe code belongs in small wrappers of lxc-core; lift this only with a `// SAFETY:` line.
#![forbid(unsafe_code)]

use lxc_console::{ConsoleRing, Empty, LogRequest, RingBuffer};
use lxc_core::commands::body;
use lxc_core::linkme::distributed_slice;
use lxc_core::phase::{order, CommandCtx, CommandError, HookCtx};
use lxc_core::registry::{
    CommandDef, EntryKind, KeyDef, KeyPattern, PhaseHook, Registration, ValueKind, REGISTRY,
};
use lxc_core::{Container, Error, Phase};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static CONSOLE_LOG: Registration = Registration {
    name: "console_log",
    kind: EntryKind::ApiExtension,
    keys: &[KeyDef {
        pattern: KeyPattern::Exact("lxc.console.buffer.size"),
        kind: ValueKind::Single,
        parse: parse_buffer_size,
        get: Some(lxc_console::io::get_number),
        clear: None,
        doc: "the console ring buffer's size (bytes, kB, MB, GB or auto = 128 KiB; at least a \
              page, rounded up to a power of two)",
    }],
    hooks: &[PhaseHook {
        phase: Phase::Running,
        order: order::TERMINALS,
        run: running,
    }],
    commands: &[CommandDef {
        name: "console_log",
        handler: serve,
    }],
};

fn parse_buffer_size(key: &str, value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    lxc_console::size::buffer_size(
        "lxc.console.buffer.size",
        value,
        lxc_console::sys::page_size() as u64,
    )
    .map(|n| n.to_string())
    .map_err(|_| format!("{key}: a size in bytes (optionally kB, MB or GB), or auto"))
}

/// Running: a ring buffer of `lxc.console.buffer.size` for the console's output.
fn running(ctx: &mut HookCtx<'_>) -> Result<(), Error> {
    let size = ctx
        .config
        .last("lxc.console.buffer.size")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if size == 0 {
        return Ok(());
    }
    let ring = RingBuffer::new(size).map_err(|e| Error::Start {
        name: ctx.name.to_string(),
        message: format!("lxc.console.buffer.size = {size}: {e}"),
    })?;
    ctx.state.insert(ConsoleRing(ring));
    Ok(())
}

/// Monitor: `console_log`, body `(clear, read, read_max)`; the bytes read as the answer.
fn serve(ctx: &mut CommandCtx<'_>, req: &[u8]) -> Result<Vec<u8>, CommandError> {
    let (clear, read, read_max): (bool, bool, u64) = body::decode(req)?;
    let Some(ring) = ctx.state.get_mut::<ConsoleRing>() else {
        // LXC answers EFAULT when no buffer is configured.
        return Err(CommandError::new(
            libc::EFAULT,
            "no console ring buffer: lxc.console.buffer.size is not set",
        ));
    };
    ring.0
        .answer(LogRequest {
            clear,
            read,
            read_max,
        })
        .map_err(|Empty| CommandError::new(libc::ENODATA, "the console ring buffer is empty"))
}

/// LXC's `console_log(c, log)`: with `read`, the buffered console output (the oldest
/// `read_max` bytes if that is set and smaller), which is consumed; with `clear`, the buffer
/// is emptied. Errors carry LXC's errnos: ENODATA when there is nothing to read, EFAULT when
/// no buffer is configured.
pub fn console_log(
    c: &Container,
    clear: bool,
    read: bool,
    read_max: u64,
) -> Result<Vec<u8>, Error> {
    let req = body::encode(&(clear, read, read_max)).map_err(|e| Error::Command {
        name: c.name().to_string(),
        request: "console_log".into(),
        message: e.message,
        errno: e.errno,
    })?;
    c.ext_request("console_log", req, &[]).map(|(b, _)| b)
}
