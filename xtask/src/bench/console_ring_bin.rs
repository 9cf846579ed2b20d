//! `lxcrs-bench-console-ring SIZE MIB BATCHES`: write throughput of lxc-console's ring buffer
//! (`lxc.console.buffer.size` = SIZE bytes), in the console reader's 16 KiB chunks, timed
//! in-process. Prints one line per batch: MB/s (10^6 bytes per second) over MIB MiB written.
//! `cargo xtask bench` builds this in release beside lxc-rs.

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed: Option<Vec<usize>> = args.iter().map(|a| a.parse().ok()).collect();
    let Some([size, mib, batches]) = parsed
        .as_deref()
        .and_then(|v| <[usize; 3]>::try_from(v).ok())
    else {
        eprintln!("usage: lxcrs-bench-console-ring SIZE MIB BATCHES");
        return ExitCode::from(2);
    };
    let mut ring = match lxc::console::RingBuffer::new(size) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lxcrs-bench-console-ring: {e}");
            return ExitCode::FAILURE;
        }
    };
    let chunk: Vec<u8> = (0..16384u32).map(|i| (i % 251) as u8).collect();
    let total = mib << 20;
    for _ in 0..batches {
        let start = Instant::now();
        let mut done = 0;
        while done < total {
            ring.write(std::hint::black_box(&chunk));
            done += chunk.len();
        }
        std::hint::black_box(ring.peek(16));
        let secs = start.elapsed().as_secs_f64();
        println!("{:.1}", done as f64 / 1e6 / secs.max(1e-9));
    }
    ExitCode::SUCCESS
}
