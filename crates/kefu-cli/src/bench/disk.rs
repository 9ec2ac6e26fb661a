//! A probe of the disk beside the load: one 4 KiB write and `fdatasync`
//! every 10 ms on the file system the store writes to, timed.
//!
//! The store acknowledges a message only after its commit's sync returns, so
//! a relay tail is at least as long as the longest sync the device gave in
//! that window. On the shared virtual disks these benchmarks run on, one sync
//! in a few thousand sometimes takes 100–900 ms; without the probe a run
//! that met one reads like a slow server. The probe's own load (100 small
//! syncs a second) is a tenth of what the store issues at 2,000 msgs/s.

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_millis(10);
const BLOCK: usize = 4096;
/// Blocks the probe cycles through, so it rewrites allocated space as the WAL does.
const BLOCKS: u64 = 256;

/// Sync times in milliseconds over one phase.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncTimes {
    pub syncs: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

pub struct Probe {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<std::io::Result<Vec<Duration>>>,
    path: PathBuf,
}

impl Probe {
    /// Starts probing with a file of its own in `dir`.
    pub fn start(dir: &Path) -> std::io::Result<Probe> {
        let path = dir.join(format!("kefu-disk-probe-{}", std::process::id()));
        let mut file = std::fs::OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&path)?;
        file.write_all(&vec![0u8; BLOCK * BLOCKS as usize])?;
        file.sync_all()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new().name("kefu-bench-disk-probe".into()).spawn(move || {
            let mut times = Vec::new();
            let mut block = vec![0u8; BLOCK];
            let mut n: u64 = 0;
            while !stopped.load(Ordering::Relaxed) {
                block[..8].copy_from_slice(&n.to_le_bytes());
                file.write_all_at(&block, (n % BLOCKS) * BLOCK as u64)?;
                let started = Instant::now();
                file.sync_data()?;
                times.push(started.elapsed());
                n += 1;
                std::thread::sleep(EVERY);
            }
            Ok(times)
        })?;
        Ok(Probe { stop, thread, path })
    }

    pub fn finish(self) -> std::io::Result<SyncTimes> {
        self.stop.store(true, Ordering::Relaxed);
        let times = self.thread.join().map_err(|_| std::io::Error::other("the disk probe panicked"))?;
        let _ = std::fs::remove_file(&self.path);
        Ok(summarise(times?))
    }
}

fn summarise(mut times: Vec<Duration>) -> SyncTimes {
    if times.is_empty() {
        return SyncTimes::default();
    }
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
    SyncTimes { syncs: times.len(), p50: at(0.5), p99: at(0.99), max: ms(times[times.len() - 1]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_times_its_syncs_and_leaves_no_file() {
        let dir = std::env::temp_dir();
        let probe = Probe::start(&dir).expect("start");
        std::thread::sleep(Duration::from_millis(60));
        let path = probe.path.clone();
        let times = probe.finish().expect("finish");
        assert!(times.syncs >= 1, "{times:?}");
        assert!(times.p50 <= times.p99 && times.p99 <= times.max, "{times:?}");
        assert!(!path.exists());
    }

    #[test]
    fn quantiles_come_from_the_sorted_times() {
        let times = (1..=100).rev().map(Duration::from_millis).collect();
        let s = summarise(times);
        assert_eq!(s.syncs, 100);
        assert_eq!(s.max, 100.0);
        assert_eq!(s.p99, 99.0);
        assert_eq!(s.p50, 51.0);
        assert_eq!(summarise(Vec::new()).syncs, 0);
    }
}
