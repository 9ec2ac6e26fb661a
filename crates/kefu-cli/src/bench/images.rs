//! Images uploaded beside the chat load (`bench chat --images-per-sec`): on
//! SQLite an image goes through the same single writer as every message, so
//! a 5 MiB blob in a group commit delays the messages beside it. This drives
//! `POST /api/widget/attachments` on an open-loop schedule from idle
//! shoppers (a different one each time, so no shopper's quota is reached)
//! and times each upload; the chat figures of the same run show the rest.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::load::Percentiles;

pub struct Uploads {
    pub uploaded: u64,
    pub failed: u64,
    pub latency: Percentiles,
}

/// A PNG signature and zeros: an image by its bytes, `kib` KiB long.
fn image(kib: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(kib.max(1) * 1024, 0);
    bytes
}

/// One upload over a fresh HTTP/1.1 connection; the status code.
async fn upload(addr: SocketAddr, token: &str, body: &[u8]) -> anyhow::Result<u16> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "POST /api/widget/attachments HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await?;
    tcp.write_all(body).await?;
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await?;
    let status = std::str::from_utf8(answer.get(9..12).unwrap_or_default()).unwrap_or("0").parse().unwrap_or(0);
    Ok(status)
}

/// Uploads at `per_sec` for `duration`, each from the next of `tokens`.
pub async fn run(
    addr: SocketAddr,
    tokens: Vec<String>,
    per_sec: f64,
    kib: usize,
    duration: Duration,
) -> anyhow::Result<Uploads> {
    anyhow::ensure!(!tokens.is_empty(), "no idle shoppers to upload from");
    let body = std::sync::Arc::new(image(kib));
    let start = Instant::now();
    let gap = Duration::from_secs_f64(1.0 / per_sec.max(0.01));
    let mut tasks = Vec::new();
    for (i, token) in tokens.iter().cycle().enumerate() {
        let due = start + gap * u32::try_from(i).unwrap_or(u32::MAX);
        if due.duration_since(start) >= duration {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let (token, body) = (token.clone(), body.clone());
        // Open loop: each upload on its own task, timed from when it was due.
        tasks.push(tokio::spawn(async move { (upload(addr, &token, &body).await, due.elapsed()) }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).context("histogram")?;
    let (mut uploaded, mut failed) = (0, 0);
    for task in tasks {
        match task.await? {
            (Ok(200), took) => {
                uploaded += 1;
                hist.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1))?;
            }
            _ => failed += 1,
        }
    }
    Ok(Uploads { uploaded, failed, latency: Percentiles::of(&hist) })
}
