//! The web UI, embedded in the binary (read from disk in debug builds so
//! edits show on reload). Plain ES modules and CSS; no bundler, no CDN.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "ui/"]
struct Ui;

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("wav") => "audio/wav",
        _ => "application/octet-stream",
    }
}

/// A file of the UI, or 404.
pub fn serve(path: &str) -> Response {
    match Ui::get(path) {
        Some(file) => (
            [
                (header::CONTENT_TYPE, content_type(path)),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            file.data.into_owned(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Every embedded file name (for the offline test: no asset may point off-server).
pub fn names() -> impl Iterator<Item = String> {
    Ui::iter().map(|n| n.into_owned())
}

pub fn text(path: &str) -> Option<String> {
    Ui::get(path).map(|f| String::from_utf8_lossy(&f.data).into_owned())
}
