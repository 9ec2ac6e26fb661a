//! kefu as an HTTP client: one POST over a fresh connection, for the
//! model endpoint (`llm`) and the merchant's notification endpoint
//! (`outbound`). Plain HTTP only: both run beside kefu or behind the
//! merchant's own gateway; an HTTPS endpoint goes through a local TLS proxy
//! (a TLS stack and its root store would be most of this binary's
//! dependencies for two calls).

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST, HeaderName};
use hyper_util::rt::TokioIo;

/// An `http://host[:port][/path][?query]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    pub host: String,
    pub port: u16,
    /// Starts with `/`, with the query if any.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("kefu speaks plain HTTP; put a local TLS proxy in front of an https endpoint")]
    Https,
    #[error("not an http:// URL")]
    NotHttp,
    #[error("bad host {0:?}")]
    Host(String),
    #[error("bad port {0:?}")]
    Port(String),
    #[error(
        "a URL is at most {MAX_URL_CHARS} ASCII characters, without spaces or a fragment (percent-encode the rest)"
    )]
    Shape,
}

pub const MAX_URL_CHARS: usize = 500;

impl HttpUrl {
    pub fn parse(url: &str) -> Result<HttpUrl, UrlError> {
        let url = url.trim();
        if url.len() > MAX_URL_CHARS || !url.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(UrlError::Shape);
        }
        let rest = match url.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case("http://") => &url[7..],
            _ if url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://")) => return Err(UrlError::Https),
            _ => return Err(UrlError::NotHttp),
        };
        if rest.contains('#') {
            return Err(UrlError::Shape);
        }
        let cut = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(cut);
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| UrlError::Port(p.into()))?),
            None => (authority, 80),
        };
        let host_ok =
            !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !host_ok {
            return Err(UrlError::Host(host.into()));
        }
        let path = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        Ok(HttpUrl { host: host.to_owned(), port, path })
    }

    /// This URL with `tail` appended to its path (`/v1` + `/chat/completions`).
    pub fn join(&self, tail: &str) -> HttpUrl {
        HttpUrl { path: format!("{}{tail}", self.path.trim_end_matches('/')), ..self.clone() }
    }
}

impl std::fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "http://{}:{}{}", self.host, self.port, self.path)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("connecting: {0}")]
    Connect(#[source] std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("{0}")]
    Protocol(String),
}

/// POSTs a JSON `body` with `headers` and answers the status and at most
/// `max_response` bytes of the body (more is an error). No timeout here:
/// callers wrap the call in their own.
pub async fn post_json(
    url: &HttpUrl,
    headers: &[(HeaderName, String)],
    body: Vec<u8>,
    max_response: usize,
) -> Result<(u16, Bytes), HttpError> {
    let stream = tokio::net::TcpStream::connect((url.host.as_str(), url.port)).await.map_err(HttpError::Connect)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Ends with the response; an error here already failed the request.
        let _ = connection.await;
    });
    let mut request = hyper::Request::post(url.path.as_str())
        .header(HOST, format!("{}:{}", url.host, url.port))
        .header(CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request.body(Full::new(Bytes::from(body))).map_err(|e| HttpError::Protocol(e.to_string()))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let bytes = Limited::new(response.into_body(), max_response)
        .collect()
        .await
        .map_err(|e| HttpError::Protocol(format!("reading the body: {e}")))?
        .to_bytes();
    Ok((status, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_strictly() {
        let u = HttpUrl::parse(" http://erp.shop.local:8080/kefu/hook?token=a1 ").expect("url");
        assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("erp.shop.local", 8080, "/kefu/hook?token=a1"));
        assert_eq!(HttpUrl::parse("http://10.0.0.5").expect("url").path, "/");
        assert_eq!(HttpUrl::parse("HTTP://h?x=1").expect("url").path, "/?x=1");
        assert_eq!(
            HttpUrl::parse("http://h:11434/v1/").expect("url").join("/chat/completions").path,
            "/v1/chat/completions"
        );
        assert_eq!(HttpUrl::parse("https://api.example.com"), Err(UrlError::Https));
        assert_eq!(HttpUrl::parse("ftp://h/"), Err(UrlError::NotHttp));
        assert_eq!(HttpUrl::parse("http://user@h/"), Err(UrlError::Host("user@h".into())));
        assert_eq!(HttpUrl::parse("http://h:0/"), Err(UrlError::Port("0".into())));
        assert_eq!(HttpUrl::parse("http://h:99999/"), Err(UrlError::Port("99999".into())));
        assert_eq!(HttpUrl::parse("http:///x"), Err(UrlError::Host(String::new())));
        assert_eq!(HttpUrl::parse("http://h/a b"), Err(UrlError::Shape));
        assert_eq!(HttpUrl::parse("http://h/a#frag"), Err(UrlError::Shape));
        assert_eq!(HttpUrl::parse(&format!("http://h/{}", "a".repeat(600))), Err(UrlError::Shape));
        assert_eq!(HttpUrl::parse("http://[::1]:80/"), Err(UrlError::Host("[::1]".into())), "no IPv6 literals yet");
        assert_eq!(HttpUrl::parse("http://h:80/é"), Err(UrlError::Shape));
        assert_eq!(HttpUrl::parse("http://h:80/%C3%A9").expect("url").path, "/%C3%A9");
    }

    proptest::proptest! {
        /// An admin types the notification URL: any text is parsed or refused, never a panic.
        #[test]
        fn any_text_is_parsed_or_refused(text in "(?s).{0,600}", tail in "(?s).{0,80}") {
            let _ = HttpUrl::parse(&text);
            let _ = HttpUrl::parse(&format!("http://{tail}"));
        }

        /// What is accepted is stored as its `Display` and read back the same.
        #[test]
        fn an_accepted_url_reads_back_the_same(
            host in "[a-z0-9][a-z0-9._-]{0,30}",
            port in 1u16..,
            path in "(/[A-Za-z0-9._~%-]{0,12}){0,4}(\\?[a-z0-9=&]{0,20})?",
        ) {
            let url = HttpUrl::parse(&format!("http://{host}:{port}{path}")).expect("valid");
            proptest::prop_assert_eq!(HttpUrl::parse(&url.to_string()).expect("again"), url);
        }
    }
}
