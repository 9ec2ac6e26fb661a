//! kefu as an HTTP client: one POST over a fresh connection, for the
//! model endpoint (`llm`) and the merchant's notification endpoint
//! (`outbound`), over `http://` or `https://`. HTTPS is rustls with the
//! Mozilla roots compiled in (`webpki-roots`: nothing is read from the
//! machine or the network at run time), plus the roots of a merchant's own
//! CA when `tls_ca_file` names one.

use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST, HeaderName};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// An `http[s]://host[:port][/path][?query]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `https://`: the connection is TLS, and the host's certificate is checked.
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Starts with `/`, with the query if any.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("not an http:// or https:// URL")]
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
        let scheme = |s: &str| url.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s));
        let (tls, rest) = if scheme("http://") {
            (false, &url[7..])
        } else if scheme("https://") {
            (true, &url[8..])
        } else {
            return Err(UrlError::NotHttp);
        };
        if rest.contains('#') {
            return Err(UrlError::Shape);
        }
        let cut = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(cut);
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| UrlError::Port(p.into()))?),
            None => (authority, if tls { 443 } else { 80 }),
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
        Ok(HttpUrl { tls, host: host.to_ascii_lowercase(), port, path })
    }

    /// This URL with `tail` appended to its path (`/v1` + `/chat/completions`).
    pub fn join(&self, tail: &str) -> HttpUrl {
        HttpUrl { path: format!("{}{tail}", self.path.trim_end_matches('/')), ..self.clone() }
    }
}

impl std::fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}{}", self.host, self.port, self.path)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("connecting: {0}")]
    Connect(#[source] std::io::Error),
    /// The TLS handshake failed: most often the certificate (expired, for
    /// another name, signed by a CA kefu does not trust).
    #[error("TLS: {0}")]
    Tls(#[source] std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("{0}")]
    Protocol(String),
}

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("not PEM certificates: {0}")]
    Pem(String),
    #[error("no certificate in it")]
    Empty,
    #[error("{0}")]
    Rejected(#[from] rustls::Error),
}

/// What kefu's outgoing requests trust, built once per server.
#[derive(Clone)]
pub struct Client {
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("http_out::Client")
    }
}

impl Default for Client {
    /// The Mozilla roots only.
    fn default() -> Self {
        Client::with_roots(mozilla_roots())
    }
}

fn mozilla_roots() -> rustls::RootCertStore {
    rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }
}

impl Client {
    /// Trusts the Mozilla roots and the certificates in `extra_ca_pem`: a
    /// merchant's own CA, for an endpoint inside their network.
    pub fn with_extra_roots(extra_ca_pem: &[u8]) -> Result<Client, TlsSetupError> {
        let certs = CertificateDer::pem_slice_iter(extra_ca_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsSetupError::Pem(e.to_string()))?;
        if certs.is_empty() {
            return Err(TlsSetupError::Empty);
        }
        let mut roots = mozilla_roots();
        for cert in certs {
            roots.add(cert)?;
        }
        Ok(Client::with_roots(roots))
    }

    fn with_roots(roots: rustls::RootCertStore) -> Client {
        // ring is the one provider compiled in, so it is the default.
        let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        Client { tls: Arc::new(config) }
    }

    /// POSTs a JSON `body` with `headers` and answers the status and at most
    /// `max_response` bytes of the body (more is an error). No timeout here:
    /// callers wrap the call in their own.
    pub async fn post_json(
        &self,
        url: &HttpUrl,
        headers: &[(HeaderName, String)],
        body: Vec<u8>,
        max_response: usize,
    ) -> Result<(u16, Bytes), HttpError> {
        let stream = tokio::net::TcpStream::connect((url.host.as_str(), url.port)).await.map_err(HttpError::Connect)?;
        if !url.tls {
            return post_over(stream, url, headers, body, max_response).await;
        }
        let name = ServerName::try_from(url.host.clone())
            .map_err(|_| HttpError::Protocol(format!("{:?} is not a name a certificate can be for", url.host)))?;
        let stream =
            tokio_rustls::TlsConnector::from(self.tls.clone()).connect(name, stream).await.map_err(HttpError::Tls)?;
        post_over(stream, url, headers, body, max_response).await
    }
}

async fn post_over<S>(
    stream: S,
    url: &HttpUrl,
    headers: &[(HeaderName, String)],
    body: Vec<u8>,
    max_response: usize,
) -> Result<(u16, Bytes), HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Ends with the response; an error here already failed the request.
        let _ = connection.await;
    });
    let default_port = if url.tls { 443 } else { 80 };
    let host = if url.port == default_port { url.host.clone() } else { format!("{}:{}", url.host, url.port) };
    let mut request =
        hyper::Request::post(url.path.as_str()).header(HOST, host).header(CONTENT_TYPE, "application/json");
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
        let u = HttpUrl::parse(" http://ERP.shop.local:8080/kefu/hook?token=a1 ").expect("url");
        assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("erp.shop.local", 8080, "/kefu/hook?token=a1"));
        assert_eq!(HttpUrl::parse("http://10.0.0.5").expect("url").path, "/");
        assert_eq!(HttpUrl::parse("HTTP://h?x=1").expect("url").path, "/?x=1");
        assert_eq!(
            HttpUrl::parse("http://h:11434/v1/").expect("url").join("/chat/completions").path,
            "/v1/chat/completions"
        );
        let https = HttpUrl::parse("HTTPS://api.example.com/v1").expect("https");
        assert_eq!((https.tls, https.port, https.to_string().as_str()), (true, 443, "https://api.example.com:443/v1"));
        assert_eq!(HttpUrl::parse("https://h:8443").expect("https").port, 8443);
        assert!(!HttpUrl::parse("http://h").expect("http").tls);
        assert_eq!(HttpUrl::parse("https:/h"), Err(UrlError::NotHttp));
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
            let _ = HttpUrl::parse(&format!("https://{tail}"));
        }

        /// What is accepted is stored as its `Display` and read back the same.
        #[test]
        fn an_accepted_url_reads_back_the_same(
            tls: bool,
            host in "[a-z0-9][a-z0-9._-]{0,30}",
            port in 1u16..,
            path in "(/[A-Za-z0-9._~%-]{0,12}){0,4}(\\?[a-z0-9=&]{0,20})?",
        ) {
            let scheme = if tls { "https" } else { "http" };
            let url = HttpUrl::parse(&format!("{scheme}://{host}:{port}{path}")).expect("valid");
            proptest::prop_assert_eq!(HttpUrl::parse(&url.to_string()).expect("again"), url);
        }
    }
}
