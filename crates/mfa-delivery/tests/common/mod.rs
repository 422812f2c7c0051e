//! Provider doubles on 127.0.0.1: axum servers that record every request and play back scripted
//! answers, a server that resets connections, and a tracing subscriber that keeps what is logged.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri};
use axum::response::Response;
use mfa::{MessagePurpose, PhoneMessage, PhoneNumber};
#[cfg(feature = "http")]
use mfa_delivery::{HttpClient, HttpConfig};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// The number the tests send to, and how logs must show it.
pub const NUMBER: &str = "+14155552671";
pub const MASKED: &str = "+*********71";
/// A code no log, error or Debug string may contain.
pub const CODE: &str = "907153";

pub fn number() -> PhoneNumber {
    NUMBER.parse().unwrap()
}

pub fn message() -> PhoneMessage {
    PhoneMessage::new("Example", CODE, MessagePurpose::SignIn, 300)
}

/// Fast retries, short timeouts: what the tests' clients use.
#[cfg(feature = "http")]
pub fn http_config() -> HttpConfig {
    HttpConfig {
        attempt_timeout_ms: 2_000,
        connect_timeout_ms: 1_000,
        max_attempts: 3,
        retry_backoff_ms: 1,
        max_retry_after_ms: 50,
        call_timeout_ms: 10_000,
    }
}

#[cfg(feature = "http")]
pub fn http() -> HttpClient {
    HttpClient::new(&http_config()).unwrap()
}

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    /// The form fields in order.
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body).into_owned().collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

pub fn reply(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: vec![("content-type", "application/json".to_owned())],
        body: body.to_owned(),
        delay: Duration::ZERO,
    }
}

impl Reply {
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<Recorded>>,
    replies: Mutex<VecDeque<Reply>>,
}

/// A provider double: answers the scripted replies in order, the last one again once they run out.
pub struct Mock {
    pub url: String,
    state: Arc<State>,
}

impl Mock {
    pub async fn start(replies: Vec<Reply>) -> Mock {
        assert!(!replies.is_empty());
        let state = Arc::new(State {
            requests: Mutex::new(Vec::new()),
            replies: Mutex::new(replies.into()),
        });
        let handler_state = state.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, request: Request<Body>| {
                let state = handler_state.clone();
                async move {
                    let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap();
                    state.requests.lock().unwrap().push(Recorded {
                        method,
                        path: uri.path().to_owned(),
                        query: uri.query().map(str::to_owned),
                        headers,
                        body,
                    });
                    let reply = {
                        let mut replies = state.replies.lock().unwrap();
                        if replies.len() > 1 {
                            replies.pop_front().unwrap()
                        } else {
                            replies.front().cloned().unwrap()
                        }
                    };
                    tokio::time::sleep(reply.delay).await;
                    let mut response =
                        Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
                    for (name, value) in &reply.headers {
                        response = response.header(*name, value);
                    }
                    response.body(Body::from(reply.body)).unwrap()
                }
            },
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Mock { url, state }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }
}

/// A server that reads the start of each request and resets the connection (`SO_LINGER` 0, so
/// the client gets RST, not FIN). Returns its URL and the number of connections it took.
pub async fn resetting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buffer = [0u8; 1024];
            let _ = stream.read(&mut buffer).await;
            let _ = stream.set_zero_linger();
            drop(stream);
        }
    });
    (url, connections)
}

/// A server that accepts each request with `201 Created`, then drops the connection halfway through
/// the body: the provider took the message and the answer was lost. Counts connections.
pub async fn accepting_then_resetting_server() -> (String, Arc<AtomicUsize>) {
    use tokio::io::AsyncWriteExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
            let head = "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{\"sid\": \"SM";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.flush().await;
            let _ = stream.set_zero_linger();
            drop(stream);
        }
    });
    (url, connections)
}

/// A tracing subscriber that keeps every event, its fields and message formatted as text.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<String>>>);

impl Logs {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn all(&self) -> String {
        self.lines().join("\n")
    }

    /// Installs the subscriber on this thread until the guard drops (the tests run on a
    /// current-thread runtime, so every event of the test lands here).
    pub fn capture(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(self.clone())
    }
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl tracing::Subscriber for Logs {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = format!("{} {}:", event.metadata().level(), event.metadata().target());
        event.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push(line);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}
