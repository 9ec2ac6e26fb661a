//! The API's stable error codes. Clients (the UI, the widget, merchants'
//! systems) branch on `code`; the message is for people. Codes are never
//! renamed; new ones are added.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kefu_core::desk::DeskError;
use kefu_core::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    MalformedJson,
    InvalidInput,
    Unauthenticated,
    InvalidCredentials,
    Forbidden,
    CsrfFailed,
    NotFound,
    ConversationClosed,
    CapacityReached,
    Conflict,
    IdentityInvalid,
    IdentityExpired,
    SignatureInvalid,
    ImportRowInvalid,
    RateLimited,
    FrameTooLarge,
    MalformedFrame,
    UnknownFrameType,
    UnsupportedVersion,
    NotReady,
    PayloadTooLarge,
    Internal,
    NotEligible,
    AccountDisabled,
    SessionRevoked,
}

impl Code {
    pub const ALL: [Code; 25] = [
        Code::MalformedJson,
        Code::InvalidInput,
        Code::Unauthenticated,
        Code::InvalidCredentials,
        Code::Forbidden,
        Code::CsrfFailed,
        Code::NotFound,
        Code::ConversationClosed,
        Code::CapacityReached,
        Code::Conflict,
        Code::IdentityInvalid,
        Code::IdentityExpired,
        Code::SignatureInvalid,
        Code::ImportRowInvalid,
        Code::RateLimited,
        Code::FrameTooLarge,
        Code::MalformedFrame,
        Code::UnknownFrameType,
        Code::UnsupportedVersion,
        Code::NotReady,
        Code::PayloadTooLarge,
        Code::Internal,
        Code::NotEligible,
        Code::AccountDisabled,
        Code::SessionRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::MalformedJson => "malformed_json",
            Code::InvalidInput => "invalid_input",
            Code::Unauthenticated => "unauthenticated",
            Code::InvalidCredentials => "invalid_credentials",
            Code::Forbidden => "forbidden",
            Code::CsrfFailed => "csrf_failed",
            Code::NotFound => "not_found",
            Code::ConversationClosed => "conversation_closed",
            Code::CapacityReached => "capacity_reached",
            Code::Conflict => "conflict",
            Code::IdentityInvalid => "identity_invalid",
            Code::IdentityExpired => "identity_expired",
            Code::SignatureInvalid => "signature_invalid",
            Code::ImportRowInvalid => "import_row_invalid",
            Code::RateLimited => "rate_limited",
            Code::FrameTooLarge => "frame_too_large",
            Code::MalformedFrame => "malformed_frame",
            Code::UnknownFrameType => "unknown_frame_type",
            Code::UnsupportedVersion => "unsupported_version",
            Code::NotReady => "not_ready",
            Code::PayloadTooLarge => "payload_too_large",
            Code::Internal => "internal",
            Code::NotEligible => "not_eligible",
            Code::AccountDisabled => "account_disabled",
            Code::SessionRevoked => "session_revoked",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Code::MalformedJson | Code::InvalidInput | Code::ImportRowInvalid => StatusCode::BAD_REQUEST,
            Code::MalformedFrame | Code::UnknownFrameType | Code::UnsupportedVersion => StatusCode::BAD_REQUEST,
            Code::Unauthenticated | Code::InvalidCredentials | Code::IdentityInvalid | Code::IdentityExpired => {
                StatusCode::UNAUTHORIZED
            }
            Code::SignatureInvalid | Code::SessionRevoked => StatusCode::UNAUTHORIZED,
            Code::Forbidden | Code::CsrfFailed | Code::AccountDisabled => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::ConversationClosed | Code::CapacityReached | Code::Conflict | Code::NotEligible => {
                StatusCode::CONFLICT
            }
            Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Code::FrameTooLarge | Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answer: `{"error": {"code": …, "message": …, "details": …}}`.
#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: None }
    }
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
    pub fn body(&self) -> serde_json::Value {
        let mut err = serde_json::json!({ "code": self.code.as_str(), "message": self.message });
        if let Some(d) = &self.details {
            err["details"] = d.clone();
        }
        serde_json::json!({ "error": err })
    }
    pub fn internal(e: &(dyn std::error::Error + 'static)) -> Self {
        let request = uuid::Uuid::now_v7();
        let mut chain = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(request_id = %request, error = %chain, "internal error");
        ApiError::new(Code::Internal, format!("internal error (request {request})"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code.status(), axum::Json(self.body())).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::from(DeskError::from(e))
    }
}

impl From<DeskError> for ApiError {
    fn from(e: DeskError) -> Self {
        match e {
            DeskError::NotFound(what) => ApiError::new(Code::NotFound, format!("{what} not found")),
            DeskError::Forbidden(why) => ApiError::new(Code::Forbidden, why),
            DeskError::Closed => ApiError::new(Code::ConversationClosed, "the conversation is closed"),
            DeskError::CapacityReached => {
                ApiError::new(Code::CapacityReached, "the agent already holds as many conversations as allowed")
            }
            DeskError::Conflict(what) => ApiError::new(Code::Conflict, what),
            DeskError::Invalid(why) => ApiError::new(Code::InvalidInput, why),
            DeskError::RateLimited { retry_after_ms } => {
                let seconds = (retry_after_ms + 999) / 1000;
                ApiError::new(Code::RateLimited, format!("too many; try again in {seconds} s"))
                    .with_details(serde_json::json!({ "retry_after_seconds": seconds }))
            }
            DeskError::Store(e) => ApiError::internal(&e),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            assert!(c.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }
}
