//! An optional OpenAI-compatible chat endpoint (Ollama, vLLM, Xinference,
//! any `/v1/chat/completions` server) the bot may use for two things: to
//! rephrase a knowledge-base answer for the shopper's question, and to write
//! the hand-off summary an agent reads. Off unless configured.
//!
//! Every use has a deterministic fallback — the knowledge-base answer as
//! written, the bot's own summary — taken on a timeout, an error, a reply
//! that is not the protocol's shape, or a rephrasing that states a number the
//! knowledge base does not (an invented price or deadline is worse than a
//! stiff sentence). Over `http://` (a model server beside kefu) or
//! `https://` (a hosted API), see `http_out`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::header::AUTHORIZATION;
use serde_json::{Value, json};

use crate::http_out::{self, HttpError, HttpUrl};

/// Replies larger than this are refused (a chat answer is a few KiB).
const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// A rephrased answer longer than this is not a rephrasing.
const MAX_REPLY_CHARS: usize = 400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmConfig {
    /// The API base: `http://127.0.0.1:11434/v1`.
    base: HttpUrl,
    pub model: String,
    pub api_key: String,
    pub timeout: Duration,
}

impl LlmConfig {
    /// `url` is the API base, e.g. `http://127.0.0.1:11434/v1`.
    pub fn parse(url: &str, model: &str, api_key: &str, timeout_ms: u64) -> Result<LlmConfig, String> {
        let base = HttpUrl::parse(url).map_err(|e| format!("llm_url {url:?}: {e}"))?;
        if model.trim().is_empty() {
            return Err("llm_model: name the model the endpoint serves".into());
        }
        if !(100..=60_000).contains(&timeout_ms) {
            return Err("llm_timeout_ms must be between 100 and 60000".into());
        }
        Ok(LlmConfig {
            base,
            model: model.trim().to_owned(),
            api_key: api_key.to_owned(),
            timeout: Duration::from_millis(timeout_ms),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("timed out")]
    Timeout,
    #[error(transparent)]
    Transport(#[from] HttpError),
    #[error("status {0}")]
    Status(u16),
    #[error("not a chat completion: {0}")]
    Protocol(String),
}

/// Outcomes, for `/metrics`.
#[derive(Debug, Default)]
pub struct LlmStats {
    pub used: AtomicU64,
    pub fell_back: AtomicU64,
}

pub struct Llm {
    config: LlmConfig,
    http: http_out::Client,
    pub stats: LlmStats,
}

impl Llm {
    pub fn new(config: LlmConfig, http: http_out::Client) -> Llm {
        Llm { config, http, stats: LlmStats::default() }
    }

    /// One chat completion: the assistant's text.
    pub async fn chat(&self, system: &str, user: &str) -> Result<String, LlmError> {
        tokio::time::timeout(self.config.timeout, self.chat_inner(system, user)).await.map_err(|_| LlmError::Timeout)?
    }

    async fn chat_inner(&self, system: &str, user: &str) -> Result<String, LlmError> {
        let c = &self.config;
        let body = json!({
            "model": c.model,
            "temperature": 0.2,
            "stream": false,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        });
        let mut headers = Vec::new();
        if !c.api_key.is_empty() {
            headers.push((AUTHORIZATION, format!("Bearer {}", c.api_key)));
        }
        let url = c.base.join("/chat/completions");
        let (status, bytes) =
            self.http.post_json(&url, &headers, body.to_string().into_bytes(), MAX_RESPONSE_BYTES).await?;
        if status != 200 {
            return Err(LlmError::Status(status));
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| LlmError::Protocol(e.to_string()))?;
        v["choices"][0]["message"]["content"]
            .as_str()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| LlmError::Protocol("no choices[0].message.content".into()))
    }

    /// The knowledge-base `answer` rephrased for the shopper's message, or
    /// `None` (keep the answer as written).
    pub async fn rephrase(&self, shop: &str, message: &str, question: &str, answer: &str) -> Option<String> {
        let system = format!(
            "你是{shop}的在线客服。只能依据给出的知识回答，不得添加知识里没有的事实、数字、承诺或链接。\
             语气亲切、简洁，一到两句话，不超过120字。顾客用英文提问时用英文回答。"
        );
        let user =
            format!("顾客的问题：{message}\n知识（问）：{question}\n知识（答）：{answer}\n请直接给出回复顾客的话。");
        let reply = self.ok_or_log(self.chat(&system, &user).await, "rephrase");
        let kept = reply.filter(|r| {
            let ok = grounded(r, &[answer, message]);
            if !ok {
                tracing::info!(reply = %r, "llm rephrasing refused: it states something the knowledge base does not");
            }
            ok
        });
        self.count(kept.is_some());
        kept
    }

    /// A short summary of the conversation for the agent who takes over, or `None`.
    pub async fn summarize(&self, transcript: &str, bot_summary: &str) -> Option<String> {
        let system = "你在为接手的人工客服写交接摘要。用中文写两到三句话：客户要什么、涉及哪个订单、机器人做了什么、还需要人工做什么。只写对话里出现过的信息。";
        let user = format!("对话：\n{transcript}\n\n机器人的记录：{bot_summary}");
        let kept = self
            .ok_or_log(self.chat(system, &user).await, "summary")
            .filter(|r| r.chars().count() <= 2 * MAX_REPLY_CHARS);
        self.count(kept.is_some());
        kept
    }

    fn ok_or_log(&self, result: Result<String, LlmError>, what: &str) -> Option<String> {
        result.map_err(|e| tracing::warn!(error = %e, what, "llm unavailable; using the deterministic text")).ok()
    }

    fn count(&self, used: bool) {
        let counter = if used { &self.stats.used } else { &self.stats.fell_back };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Whether a rephrasing says only what its sources say, as far as a machine
/// can check cheaply: not too long, and every number in it appears in a source.
pub fn grounded(reply: &str, sources: &[&str]) -> bool {
    let reply = kefu_nlu::normalize(reply);
    if reply.trim().is_empty() || reply.chars().count() > MAX_REPLY_CHARS {
        return false;
    }
    let sources: Vec<String> = sources.iter().map(|s| kefu_nlu::normalize(s)).collect();
    let numbers = reply.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty());
    let urls = reply.contains("http") || reply.contains("www.");
    !urls && numbers.into_iter().all(|n| sources.iter().any(|s| s.contains(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_is_checked() {
        let c = LlmConfig::parse("http://127.0.0.1:11434/v1/", "qwen2.5", "", 3000).expect("valid");
        let url = c.base.join("/chat/completions");
        assert_eq!((url.host.as_str(), url.port, url.path.as_str()), ("127.0.0.1", 11434, "/v1/chat/completions"));
        let c = LlmConfig::parse("http://llm.internal", "m", "k", 3000).expect("valid");
        let url = c.base.join("/chat/completions");
        assert_eq!((url.port, url.path.as_str()), (80, "/chat/completions"));
        let hosted = LlmConfig::parse("https://api.example.com/v1", "m", "sk", 3000).expect("a hosted API");
        assert_eq!((hosted.base.tls, hosted.base.port), (true, 443));
        assert!(LlmConfig::parse("ftp://x", "m", "", 3000).is_err());
        assert!(LlmConfig::parse("http://h:99999/v1", "m", "", 3000).is_err());
        assert!(LlmConfig::parse("http://h/v1", " ", "", 3000).is_err());
        assert!(LlmConfig::parse("http://h/v1", "m", "", 10).is_err());
    }

    #[test]
    fn a_rephrasing_may_not_invent_numbers_or_links() {
        let answer = "整机保修一年，压缩机保修十年，凭订单号即可报修。";
        assert!(grounded("亲，整机保一年、压缩机保十年，报修提供订单号就行～", &[answer]));
        assert!(!grounded("整机保修两年，500元以内免费", &[answer]));
        assert!(!grounded("详见 https://example.com", &[answer]));
        assert!(!grounded("", &[answer]));
        assert!(grounded("订单JD2026111800002的保修一年", &[answer, "JD2026111800002保修多久"]));
    }
}
