//! Prometheus metrics, kept as plain atomics and rendered in the text format
//! at `GET /metrics` (no metrics library needed for a handful of series).

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::error::Code;

#[derive(Default)]
pub struct Metrics {
    pub ws_connections: AtomicI64,
    pub ws_connections_total: AtomicU64,
    pub ws_frames_received_total: AtomicU64,
    pub messages_stored_total: AtomicU64,
    pub messages_duplicate_total: AtomicU64,
    pub http_requests_total: AtomicU64,
    /// Outbound notifications: attempts answered 2xx, attempts that failed,
    /// and deliveries given up after the last attempt.
    pub notify_delivered_total: AtomicU64,
    pub notify_failed_attempts_total: AtomicU64,
    pub notify_gave_up_total: AtomicU64,
    /// Auto-assign: offers that lapsed (漏接), and shoppers the queue sweep
    /// handed out (what no event on this node did: a rising count says
    /// closings elsewhere, or a race, leave shoppers waiting up to a sweep).
    pub offers_lapsed_total: AtomicU64,
    pub sweep_assigned_total: AtomicU64,
    errors: [AtomicU64; Code::ALL.len()],
}

impl Metrics {
    pub fn error(&self, code: Code) {
        if let Some(i) = Code::ALL.iter().position(|c| *c == code) {
            self.errors[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str, kind: &str, v: i128| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        gauge(
            "kefu_ws_connections",
            "Open WebSocket connections.",
            "gauge",
            self.ws_connections.load(Ordering::Relaxed).into(),
        );
        gauge(
            "kefu_ws_connections_total",
            "WebSocket connections accepted.",
            "counter",
            self.ws_connections_total.load(Ordering::Relaxed).into(),
        );
        gauge(
            "kefu_ws_frames_received_total",
            "WebSocket frames received.",
            "counter",
            self.ws_frames_received_total.load(Ordering::Relaxed).into(),
        );
        gauge(
            "kefu_messages_stored_total",
            "Messages committed to the store.",
            "counter",
            self.messages_stored_total.load(Ordering::Relaxed).into(),
        );
        gauge(
            "kefu_messages_duplicate_total",
            "Retried sends answered from the store.",
            "counter",
            self.messages_duplicate_total.load(Ordering::Relaxed).into(),
        );
        gauge(
            "kefu_http_requests_total",
            "HTTP requests served.",
            "counter",
            self.http_requests_total.load(Ordering::Relaxed).into(),
        );
        gauge(
            "kefu_notify_delivered_total",
            "Notifications the merchant's endpoint accepted (2xx).",
            "counter",
            self.notify_delivered_total.load(Ordering::Relaxed).into(),
        );
        gauge(
            "kefu_notify_failed_attempts_total",
            "Notification attempts that failed (to be tried again, or given up).",
            "counter",
            self.notify_failed_attempts_total.load(Ordering::Relaxed).into(),
        );
        gauge(
            "kefu_notify_gave_up_total",
            "Notifications given up after their last attempt.",
            "counter",
            self.notify_gave_up_total.load(Ordering::Relaxed).into(),
        );
        gauge(
            "kefu_offers_lapsed_total",
            "Auto-assign offers not accepted in time, back to the queue (漏接).",
            "counter",
            self.offers_lapsed_total.load(Ordering::Relaxed).into(),
        );
        gauge(
            "kefu_queue_sweep_assigned_total",
            "Queued shoppers the periodic queue sweep handed to agents with room.",
            "counter",
            self.sweep_assigned_total.load(Ordering::Relaxed).into(),
        );
        let _ = writeln!(
            out,
            "# HELP kefu_errors_total Errors answered, by stable code.\n# TYPE kefu_errors_total counter"
        );
        for (i, code) in Code::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "kefu_errors_total{{code=\"{}\"}} {}",
                code.as_str(),
                self.errors[i].load(Ordering::Relaxed)
            );
        }
        out
    }
}
