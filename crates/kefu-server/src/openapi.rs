//! `GET /api/openapi.json`: the REST API described for merchants' developers.
//! Kept by hand beside the router; a test checks both list the same paths.

use axum::response::IntoResponse;

pub const DOCUMENT: &str = include_str!("openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
