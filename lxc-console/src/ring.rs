//! The console ring buffer: one memfd mapped twice, back to back, so the bytes from any offset
//! up to `size` long are contiguous in memory. A write is one copy however it wraps, and so is
//! a read: no split reads, no second copy to reassemble them.
//!
//! Positions are two running byte counts (`written`, `read`) rather than offsets that wrap, so
//! "how much is in it" is one subtraction and can never be confused between full and empty.

use std::ffi::CStr;
use std::os::fd::OwnedFd;
use std::ptr::NonNull;

use crate::error::{Error, Result};
use crate::sys;

pub struct RingBuffer {
    addr: NonNull<u8>,
    size: usize,
    written: u64,
    read: u64,
    // Kept open so the mappings' backing never depends on the mappings alone.
    _memfd: OwnedFd,
}

// SAFETY: the mapping is owned by this value alone (no other pointer to it escapes but borrows
// tied to `&self` / `&mut self`), so moving it to another thread moves sole ownership.
unsafe impl Send for RingBuffer {}

/// What a `console_log` request asks for, with LXC's meaning (`struct lxc_console_log`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogRequest {
    /// Empty the buffer after answering.
    pub clear: bool,
    /// Return the buffered bytes (and consume them, unless `clear`).
    pub read: bool,
    /// At most this many bytes (0: all).
    pub read_max: u64,
}

/// Why a `console_log` request has no data: LXC answers ENODATA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Empty;

impl RingBuffer {
    /// A buffer of `size` bytes; `size` must be a non-zero multiple of the page size (see
    /// [`crate::size::buffer_size`] for how LXC rounds a configured size to one).
    pub fn new(size: usize) -> Result<RingBuffer> {
        let err = |op, source| Error::RingBuffer { size, op, source };
        if size == 0 || !size.is_multiple_of(sys::page_size()) {
            return Err(err("size", std::io::Error::from_raw_os_error(libc::EINVAL)));
        }
        let double = size
            .checked_mul(2)
            .ok_or_else(|| err("size", std::io::Error::from_raw_os_error(libc::EINVAL)))?;
        const NAME: &CStr = c".lxc-rs-console-ring";
        let memfd = sys::memfd(NAME).map_err(|e| err("memfd_create", e))?;
        sys::ftruncate(&memfd, size).map_err(|e| err("ftruncate", e))?;
        let addr = sys::reserve(double).map_err(|e| err("mmap", e))?;
        // From here on `ring` owns the reservation: an early return unmaps it in Drop.
        let ring = RingBuffer {
            addr,
            size,
            written: 0,
            read: 0,
            _memfd: memfd,
        };
        // The second half starts `size` bytes in: still inside the reservation of `double`.
        let second = NonNull::new(addr.as_ptr().wrapping_add(size))
            .ok_or_else(|| err("mmap", std::io::Error::from_raw_os_error(libc::EFAULT)))?;
        for at in [addr, second] {
            // SAFETY: both halves lie in the reservation made above, which nothing refers to yet.
            unsafe { sys::map_fixed(at, size, &ring._memfd) }.map_err(|e| err("mmap", e))?;
        }
        Ok(ring)
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes in the buffer now (at most `size`).
    pub fn used(&self) -> usize {
        // `written - read` never exceeds `size`, which is a usize.
        (self.written - self.read) as usize
    }

    /// Bytes ever written, kept or not.
    pub fn total_written(&self) -> u64 {
        self.written
    }

    fn offset(&self, pos: u64) -> usize {
        (pos % self.size as u64) as usize
    }

    /// Append `data`. The buffer never refuses a write: what does not fit pushes out the oldest
    /// bytes, so it always holds the newest `size` bytes written.
    pub fn write(&mut self, data: &[u8]) {
        let keep = &data[data.len().saturating_sub(self.size)..];
        self.written += (data.len() - keep.len()) as u64;
        let at = self.offset(self.written);
        // SAFETY: `at < size` and `keep.len() <= size`, so the range lies in the double mapping;
        // `&mut self` means no other borrow of the buffer's memory is alive.
        let dst = unsafe { std::slice::from_raw_parts_mut(self.addr.as_ptr().add(at), keep.len()) };
        dst.copy_from_slice(keep);
        self.written += keep.len() as u64;
        self.read = self.read.max(self.written.saturating_sub(self.size as u64));
    }

    /// The oldest `max` bytes in the buffer (all of them if fewer), in order, without consuming.
    pub fn peek(&self, max: usize) -> &[u8] {
        let len = self.used().min(max);
        let at = self.offset(self.read);
        // SAFETY: `at < size` and `len <= size`: inside the double mapping; the borrow of
        // `self` keeps writers (which need `&mut self`) away while the slice lives.
        unsafe { std::slice::from_raw_parts(self.addr.as_ptr().add(at), len) }
    }

    /// Drop the oldest `n` bytes (at most what is there).
    pub fn consume(&mut self, n: usize) {
        self.read += n.min(self.used()) as u64;
    }

    /// Empty the buffer.
    pub fn clear(&mut self) {
        self.read = self.written;
    }

    /// Answer a `console_log` request as LXC's monitor does: with `read`, the buffered bytes
    /// (the oldest `read_max` if that is set and smaller), which are then consumed, or
    /// [`Empty`] if there are none; with `clear`, the buffer is emptied after the answer is
    /// taken (and nothing is consumed separately).
    pub fn answer(&mut self, req: LogRequest) -> std::result::Result<Vec<u8>, Empty> {
        if req.read && self.used() == 0 {
            return Err(Empty);
        }
        let mut len = if req.read { self.used() } else { 0 };
        if req.read_max > 0 && req.read_max <= len as u64 {
            len = req.read_max as usize;
        }
        let data = self.peek(len).to_vec();
        if req.clear {
            self.clear();
        } else {
            self.consume(len);
        }
        Ok(data)
    }
}

impl Drop for RingBuffer {
    fn drop(&mut self) {
        // SAFETY: the whole double-size reservation is ours, and `&mut self` proves no slice
        // into it is alive.
        unsafe { sys::unmap(self.addr, self.size * 2) };
    }
}

impl std::fmt::Debug for RingBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingBuffer")
            .field("size", &self.size)
            .field("used", &self.used())
            .field("written", &self.written)
            .finish()
    }
}
