#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! Drives `mfa authenticator` against a mock push service on 127.0.0.1, built from mfa-push's service
//! side: enrollment (receipt checked, file 0600), pending requests shown without a number, approve with
//! the right and a wrong number, deny and report, replays refused, a tampered receipt refused with
//! nothing saved, the service's error codes as clear errors, `watch`; TOTP accounts (`add`, `code`,
//! `list`); a file others can read refused; a passphrase-sealed file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mfa_push::{
    AnswerRequest, AnswerResult, Challenge, ChallengeId, DEFAULT_CHALLENGE_TTL, DeviceId, DevicePublicKey,
    Digits, EnrollmentAnswer, EnrollmentOffer, EnrollmentReceipt, ErrorBody, ErrorCode, FetchRequest,
    MatchNumber, MemoryReplayCache, PendingChallenges, PendingEnrollment, ReplayCache, Requester, ServiceKey,
    UnixTime,
};

// ---------------------------------------------------------------------------------------------------
// The mock service
// ---------------------------------------------------------------------------------------------------

#[derive(Default)]
struct Mock {
    offers: HashMap<String, (PendingEnrollment, EnrollmentOffer)>,
    devices: HashMap<String, DevicePublicKey>,
    /// Pending challenges, with their numbers.
    challenges: HashMap<String, (Challenge, MatchNumber)>,
    /// The outcome of every answer the service accepted, by challenge id.
    results: Vec<(String, AnswerResult)>,
    replay: Option<MemoryReplayCache>,
    /// Every request body received, with its endpoint.
    received: Vec<(&'static str, Vec<u8>)>,
    /// Change the receipt's device id after signing it.
    tamper_receipt: bool,
    /// Answer every request with this error.
    fail_with: Option<ErrorCode>,
}

struct Service {
    key: ServiceKey,
    base_url: String,
    state: Arc<Mutex<Mock>>,
}

fn now() -> UnixTime {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    UnixTime::from_millis(i64::try_from(ms).unwrap())
}

fn error(code: ErrorCode) -> (u16, String) {
    (code.status(), ErrorBody::new(code, now()).to_json())
}

type Shared = (Arc<Mutex<Mock>>, Arc<ServiceKey>);

fn handle(endpoint: &'static str, shared: &Shared, body: &[u8]) -> (u16, String) {
    let (state, key) = shared;
    let mut mock = state.lock().unwrap();
    mock.received.push((endpoint, body.to_vec()));
    if let Some(code) = mock.fail_with {
        return error(code);
    }
    let now = now();
    mock.replay.get_or_insert_with(|| MemoryReplayCache::new(1000));
    match endpoint {
        "enroll" => {
            let answer = match EnrollmentAnswer::from_json(body) {
                Ok(a) => a,
                Err(e) => return error(e.code()),
            };
            let Some((pending, offer)) = mock.offers.remove(answer.enrollment_id().as_str()) else {
                return error(ErrorCode::EnrollmentUnusable);
            };
            let device = match pending.verify(&answer, now) {
                Ok(d) => d,
                Err(e) => return error(e.code()),
            };
            let device_id = DeviceId::generate().unwrap();
            mock.devices.insert(device_id.to_string(), *device.public_key());
            let receipt = EnrollmentReceipt::sign(key, offer.enrollment_id(), device_id, device.public_key());
            let mut json = receipt.to_json();
            if mock.tamper_receipt {
                let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
                value["device_id"] = "tampered0000".into();
                json = value.to_string();
            }
            (201, json)
        }
        "pending" => {
            let request = match FetchRequest::from_json(body) {
                Ok(r) => r,
                Err(e) => return error(e.code()),
            };
            let Some(public) = mock.devices.get(request.device_id().as_str()).cloned() else {
                return error(ErrorCode::Unauthorized);
            };
            let replay_key = match request.verify(&public, now) {
                Ok(k) => k,
                Err(e) => return error(e.code()),
            };
            if let Err(e) = mock.replay.as_mut().unwrap().remember(&replay_key, now) {
                return error(e.code());
            }
            let list = mock
                .challenges
                .values()
                .filter(|(c, _)| c.device_id() == request.device_id() && !c.is_expired(now))
                .map(|(c, _)| c.sign(key))
                .collect();
            (200, PendingChallenges::new(now, list).to_json())
        }
        "answer" => {
            let request = match AnswerRequest::from_json(body) {
                Ok(r) => r,
                Err(e) => return error(e.code()),
            };
            let Some(public) = mock.devices.get(request.device_id().as_str()).cloned() else {
                return error(ErrorCode::Unauthorized);
            };
            let verified = match request.verify(&public, now) {
                Ok(v) => v,
                Err(e) => return error(e.code()),
            };
            if let Err(e) = mock.replay.as_mut().unwrap().remember(verified.replay_key(), now) {
                return error(e.code());
            }
            let id = verified.challenge_id().to_string();
            match mock.challenges.get(&id) {
                Some((c, _)) if c.device_id() == verified.device_id() => {}
                _ => return error(ErrorCode::NotPending),
            }
            let (challenge, number) = mock.challenges.remove(&id).unwrap();
            match challenge.check_answer(&number, &verified, now) {
                Ok(result) => {
                    mock.results.push((id, result));
                    (200, result.to_json())
                }
                Err(e) => error(e.code()),
            }
        }
        _ => unreachable!(),
    }
}

async fn route(endpoint: &'static str, shared: Shared, body: Bytes) -> Response {
    let (status, json) = handle(endpoint, &shared, &body);
    (
        StatusCode::from_u16(status).unwrap(),
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        json,
    )
        .into_response()
}

impl Service {
    fn start() -> Service {
        let key = ServiceKey::generate().unwrap();
        let state = Arc::new(Mutex::new(Mock::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared: Shared = (state.clone(), Arc::new(key.clone()));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let (s1, s2, s3) = (shared.clone(), shared.clone(), shared);
                let app = axum::Router::new()
                    .route("/push/enroll", post(move |b: Bytes| route("enroll", s1, b)))
                    .route("/push/pending", post(move |b: Bytes| route("pending", s2, b)))
                    .route("/push/answer", post(move |b: Bytes| route("answer", s3, b)));
                axum::serve(listener, app).await.unwrap();
            });
        });
        Service {
            key,
            base_url: format!("http://127.0.0.1:{port}/push"),
            state,
        }
    }

    fn mock(&self) -> std::sync::MutexGuard<'_, Mock> {
        self.state.lock().unwrap()
    }

    /// A new enrollment offer's URI.
    fn offer(&self, account: &str) -> String {
        let offer = EnrollmentOffer::generate(
            &self.base_url,
            self.key.public_key(),
            "Example Corp",
            account,
            now(),
        )
        .unwrap();
        let uri = offer.to_uri().to_string();
        self.mock()
            .offers
            .insert(offer.enrollment_id().to_string(), (offer.pending(), offer));
        uri
    }

    fn only_device(&self) -> String {
        let mock = self.mock();
        assert_eq!(mock.devices.len(), 1);
        mock.devices.keys().next().unwrap().clone()
    }

    /// A challenge for `device` with the number `number`; returns its id.
    fn challenge(&self, device: &str, number: &str) -> String {
        let id = ChallengeId::generate().unwrap();
        let requester = Requester {
            user: "alice@example.com".into(),
            application: "Example Mail".into(),
            client_ip: "203.0.113.7".into(),
            location: "Paris, France".into(),
        };
        let challenge = Challenge::new(
            id.clone(),
            DeviceId::new(device).unwrap(),
            requester,
            now(),
            DEFAULT_CHALLENGE_TTL,
            Digits::Two,
        )
        .unwrap();
        self.mock()
            .challenges
            .insert(id.to_string(), (challenge, number.parse().unwrap()));
        id.to_string()
    }

    fn result_of(&self, id: &str) -> Option<AnswerResult> {
        self.mock().results.iter().find(|(c, _)| c == id).map(|(_, r)| *r)
    }

    fn last_body(&self, endpoint: &str) -> Vec<u8> {
        self.mock()
            .received
            .iter()
            .rev()
            .find(|(e, _)| *e == endpoint)
            .unwrap()
            .1
            .clone()
    }

    /// Sends `body` to the endpoint as anyone could: status and reply.
    fn post(&self, endpoint: &str, body: Vec<u8>) -> (u16, String) {
        // The binary's dependencies bring rustls without a default provider: the tests pick ring too.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let reply = reqwest::blocking::Client::new()
            .post(format!("{}/{endpoint}", self.base_url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap();
        (reply.status().as_u16(), reply.text().unwrap())
    }
}

// ---------------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------------

struct Dir {
    _dir: tempfile::TempDir,
    file: PathBuf,
}

fn dir() -> Dir {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mfa").join("authenticator.json");
    Dir { _dir: dir, file }
}

fn run(file: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mfa"));
    command
        .arg("authenticator")
        .arg("--file")
        .arg(file)
        .args(args)
        .env_remove("MFA_AUTHENTICATOR_FILE")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn ok(file: &Path, args: &[&str]) -> String {
    ok_env(file, args, &[])
}

fn ok_env(file: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run(file, args, env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    assert!(out.stderr.is_empty(), "{args:?}: {err}");
    String::from_utf8(out.stdout).unwrap()
}

/// Exit 2, nothing on stdout, one line on stderr.
fn bad(file: &Path, args: &[&str]) -> String {
    bad_env(file, args, &[])
}

fn bad_env(file: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run(file, args, env);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.starts_with("mfa: ") && !err.contains("panicked"), "{err}");
    err
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn enrolled(service: &Service, d: &Dir) -> String {
    let uri = service.offer("alice@example.com");
    let out = ok(&d.file, &["enroll", &uri, "--label", "test terminal"]);
    let device = service.only_device();
    assert!(out.contains(&device), "{out}");
    device
}

/// The digit groups of a text ("12:42:07" has 12, 42 and 07).
fn digit_groups(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect()
}

// ---------------------------------------------------------------------------------------------------
// Push
// ---------------------------------------------------------------------------------------------------

#[test]
fn enroll_then_approve_with_the_number() {
    let service = Service::start();
    let d = dir();
    let device = enrolled(&service, &d);
    #[cfg(unix)]
    assert_eq!(mode(&d.file), 0o600);
    let text = std::fs::read_to_string(&d.file).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["format"], "mfa-authenticator/v1");
    let stored = &file["accounts"]["push"][0];
    assert_eq!(stored["device_id"], device.as_str());
    assert_eq!(stored["algorithm"], "ES256");
    assert_eq!(stored["base_url"], service.base_url.as_str());
    assert_eq!(
        stored["service_key"],
        service.key.public_key().to_string().as_str()
    );
    assert_eq!(stored["name"], "Example Corp:alice@example.com");

    // Nothing pending yet.
    assert_eq!(ok(&d.file, &["pending"]), "no pending sign-in requests\n");

    // A number that is none of the digit groups the listing shows anyway (times, ids, address), so
    // that finding it in the output would mean the number leaked.
    let id = service.challenge(&device, "10");
    let listing = ok(&d.file, &["pending"]);
    let shown: Vec<String> = digit_groups(&listing).into_iter().map(str::to_owned).collect();
    let number = (10..100)
        .map(|n| n.to_string())
        .find(|n| !shown.contains(n))
        .unwrap();
    service.mock().challenges.get_mut(&id).unwrap().1 = number.parse().unwrap();
    let listing = ok(&d.file, &["pending"]);
    for expected in [
        id.as_str(),
        "Example Mail",
        "alice@example.com",
        "203.0.113.7 (Paris, France)",
        "Example Corp:alice@example.com",
        "2 digits",
    ] {
        assert!(listing.contains(expected), "{expected} not in {listing}");
    }
    assert!(!digit_groups(&listing).contains(&number.as_str()), "{listing}");
    // The JSON form has the same, and no number either.
    let json: serde_json::Value = serde_json::from_str(&ok(&d.file, &["pending", "--json"])).unwrap();
    let item = &json[0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["application"], "Example Mail");
    assert_eq!(item["digits"], 2);
    assert!(item.get("number").is_none());
    assert!(!json.to_string().contains(&format!("\"{number}\"")));

    let out = ok(&d.file, &["approve", &id, "--number", &number]);
    assert!(out.starts_with("approved"), "{out}");
    assert_eq!(service.result_of(&id), Some(AnswerResult::Approved));
    // The service received exactly the typed number.
    let body: serde_json::Value = serde_json::from_slice(&service.last_body("answer")).unwrap();
    assert_eq!(body["decision"], "approve");
    assert_eq!(body["number"], number.as_str());
    // Answered: no longer pending, and a second answer is refused.
    assert_eq!(ok(&d.file, &["pending"]), "no pending sign-in requests\n");
    let err = bad(&d.file, &["approve", &id, "--number", &number]);
    assert!(err.contains("no pending request"), "{err}");
}

#[test]
fn a_wrong_number_is_refused_by_the_service() {
    let service = Service::start();
    let d = dir();
    let device = enrolled(&service, &d);
    let id = service.challenge(&device, "42");
    let out = run(&d.file, &["approve", &id, "--number", "24"], &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("wrong_number"));
    assert_eq!(service.result_of(&id), Some(AnswerResult::WrongNumber));
    // The number must have the request's count of digits; nothing is sent otherwise.
    let id = service.challenge(&device, "42");
    let err = bad(&d.file, &["approve", &id, "--number", "420"]);
    assert!(err.contains("2 digits"), "{err}");
    let err = bad(&d.file, &["approve", &id, "--number", "4x"]);
    assert!(err.contains("--number"), "{err}");
    assert_eq!(service.result_of(&id), None);
}

#[test]
fn deny_and_report() {
    let service = Service::start();
    let d = dir();
    let device = enrolled(&service, &d);
    let denied = service.challenge(&device, "42");
    assert!(ok(&d.file, &["deny", &denied]).starts_with("denied"));
    assert_eq!(service.result_of(&denied), Some(AnswerResult::Denied));
    let reported = service.challenge(&device, "42");
    assert!(ok(&d.file, &["deny", &reported, "--report"]).starts_with("reported"));
    assert_eq!(service.result_of(&reported), Some(AnswerResult::Reported));
    let body: serde_json::Value = serde_json::from_slice(&service.last_body("answer")).unwrap();
    assert_eq!(body["decision"], "report");
    assert!(body.get("number").is_none());
}

#[test]
fn replayed_requests_are_refused() {
    let service = Service::start();
    let d = dir();
    let device = enrolled(&service, &d);
    ok(&d.file, &["pending"]);
    let fetch = service.last_body("pending");
    let (status, reply) = service.post("pending", fetch.clone());
    assert_eq!(status, 409, "{reply}");
    assert_eq!(
        ErrorBody::from_json(reply.as_bytes()).unwrap().code(),
        ErrorCode::Replayed
    );

    let id = service.challenge(&device, "42");
    ok(&d.file, &["deny", &id]);
    let answer = service.last_body("answer");
    // Put the challenge back: the replayed answer is refused for its nonce, not because it was answered.
    service.challenge(&device, "42");
    let (status, reply) = service.post("answer", answer);
    assert_eq!(status, 409, "{reply}");
    // Each run signs with a new nonce: the authenticator's own requests are never replays.
    ok(&d.file, &["pending"]);
    ok(&d.file, &["pending"]);
    let mock = service.mock();
    let fetches: Vec<String> = mock
        .received
        .iter()
        .filter(|(e, _)| *e == "pending")
        .map(|(_, b)| serde_json::from_slice::<serde_json::Value>(b).unwrap()["nonce"].to_string())
        .collect();
    // pending, the test's replay of it, deny's own fetch, pending, pending.
    assert_eq!(fetches.len(), 5);
    let nonces: std::collections::HashSet<&String> = fetches.iter().collect();
    assert_eq!(nonces.len(), 4, "only the test's replay repeats a nonce");
}

#[test]
fn a_tampered_receipt_is_refused_and_nothing_is_saved() {
    let service = Service::start();
    let d = dir();
    service.mock().tamper_receipt = true;
    let uri = service.offer("alice@example.com");
    let err = bad(&d.file, &["enroll", &uri]);
    assert!(err.contains("receipt does not verify"), "{err}");
    assert!(err.contains("nothing was saved"), "{err}");
    assert!(!d.file.exists());

    // Into an existing file: unchanged.
    service.mock().tamper_receipt = false;
    service.mock().devices.clear();
    enrolled(&service, &d);
    let before = std::fs::read(&d.file).unwrap();
    service.mock().tamper_receipt = true;
    let uri = service.offer("bob@example.com");
    bad(&d.file, &["enroll", &uri]);
    assert_eq!(std::fs::read(&d.file).unwrap(), before);
}

#[test]
fn enrollment_refusals_and_ed25519() {
    let service = Service::start();
    let d = dir();
    // An offer the service does not know.
    let unknown = EnrollmentOffer::generate(&service.base_url, service.key.public_key(), "X", "y", now())
        .unwrap()
        .to_uri()
        .to_string();
    let err = bad(&d.file, &["enroll", &unknown]);
    assert!(
        err.contains("410 enrollment_unusable") && err.contains("new QR code"),
        "{err}"
    );
    assert!(!d.file.exists());
    let err = bad(&d.file, &["enroll", "mfa-push://enroll?v=2"]);
    assert!(err.contains("invalid enrollment URI"), "{err}");

    let uri = service.offer("alice@example.com");
    ok(
        &d.file,
        &["enroll", &uri, "--algorithm", "ed25519", "--name", "work"],
    );
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&d.file).unwrap()).unwrap();
    assert_eq!(file["accounts"]["push"][0]["algorithm"], "Ed25519");
    let device = service.only_device();
    let id = service.challenge(&device, "77");
    assert!(ok(&d.file, &["approve", &id, "--number", "77", "--name", "work"]).starts_with("approved"));
    // Used once: the same URI again is refused; and a second enrollment needs another name.
    let err = bad(&d.file, &["enroll", &uri, "--name", "again"]);
    assert!(err.contains("enrollment_unusable"), "{err}");
    let err = bad(&d.file, &["enroll", &service.offer("bob"), "--name", "work"]);
    assert!(err.contains("already"), "{err}");
    // The URI can come from standard input.
    let offer = service.offer("carol@example.com");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(["authenticator", "--file"])
        .arg(&d.file)
        .args(["enroll", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(offer.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ok(&d.file, &["list"]).contains("Example Corp:carol@example.com"));
}

#[test]
fn the_services_errors_are_clear() {
    let service = Service::start();
    let d = dir();
    enrolled(&service, &d);
    for (code, words) in [
        (ErrorCode::Unauthorized, "enroll again"),
        (ErrorCode::ClockSkew, "clock"),
        (ErrorCode::Replayed, "replay"),
        (ErrorCode::Malformed, "protocol"),
        (ErrorCode::UnsupportedVersion, "version"),
        (ErrorCode::RateLimited, "too many requests"),
        (ErrorCode::Internal, "try again later"),
        (ErrorCode::TooLarge, "too large"),
    ] {
        service.mock().fail_with = Some(code);
        let err = bad(&d.file, &["pending"]);
        let expected = format!("({} {})", code.status(), code.name());
        assert!(err.contains(&expected), "{err}");
        assert!(err.contains(words), "{err}");
    }
    service.mock().fail_with = None;
    // A service that is not there.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = gone.local_addr().unwrap().port();
    drop(gone);
    let offer = EnrollmentOffer::generate(
        &format!("http://127.0.0.1:{port}/push"),
        service.key.public_key(),
        "X",
        "y",
        now(),
    )
    .unwrap();
    let err = bad(&d.file, &["enroll", &offer.to_uri()]);
    assert!(err.contains("cannot reach"), "{err}");
}

#[test]
fn a_challenge_signed_by_another_key_is_not_shown() {
    let service = Service::start();
    let d = dir();
    let device = enrolled(&service, &d);
    // The pinned key is replaced in the file by another service's: the real challenge no longer
    // verifies, and is dropped with a warning.
    let id = service.challenge(&device, "42");
    let text = std::fs::read_to_string(&d.file).unwrap();
    let other = ServiceKey::generate().unwrap().public_key().to_string();
    let text = text.replace(&service.key.public_key().to_string(), &other);
    std::fs::write(&d.file, text).unwrap();
    let out = run(&d.file, &["pending"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "no pending sign-in requests\n"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not verify"), "{err}");
    // Approving it is refused: the device answers only what it could show.
    let out = run(&d.file, &["approve", &id, "--number", "42"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not verify") && err.contains("no pending request"),
        "{err}"
    );
    assert!(service.mock().received.iter().all(|(e, _)| *e != "answer"));
    assert_eq!(service.result_of(&id), None);
}

#[test]
fn watch_shows_new_requests() {
    let service = Service::start();
    let d = dir();
    let device = enrolled(&service, &d);
    let first = service.challenge(&device, "42");
    let out = ok(
        &d.file,
        &["watch", "--interval", "1", "--count", "1", "--for", "30"],
    );
    assert!(out.contains(&first) && out.contains("Example Mail"), "{out}");
    // Bounded by --for when nothing else comes: the first is shown once.
    let started = std::time::Instant::now();
    let out = ok(&d.file, &["watch", "--interval", "1", "--for", "2"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.matches("Approve sign-in?").count(), 1, "{out}");
    // It answers nothing.
    assert_eq!(service.result_of(&first), None);
}

// ---------------------------------------------------------------------------------------------------
// TOTP, the file, the passphrase
// ---------------------------------------------------------------------------------------------------

const SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

#[test]
fn totp_accounts() {
    let d = dir();
    let uri = format!("otpauth://totp/Example:alice@example.com?secret={SECRET}&issuer=Example&digits=8");
    let out = ok(&d.file, &["add", &uri]);
    assert!(out.contains("Example:alice@example.com"), "{out}");
    #[cfg(unix)]
    assert_eq!(mode(&d.file), 0o600);
    let totp = mfa_otp::Totp::new(
        &mfa_otp::Secret::from_base32(SECRET).unwrap(),
        mfa_otp::TotpParams {
            digits: 8,
            ..Default::default()
        },
    )
    .unwrap();
    for t in [59u64, 1_111_111_109, 2_000_000_000] {
        let code = ok(
            &d.file,
            &["code", "Example:alice@example.com", "--time", &t.to_string()],
        );
        assert_eq!(code, format!("{}\n", totp.generate(t).unwrap()));
    }
    // RFC 6238's SHA-1 vector at T = 59.
    assert_eq!(
        ok(&d.file, &["code", "Example:alice@example.com", "--time", "59"]),
        "94287082\n"
    );
    ok(
        &d.file,
        &[
            "add",
            &format!("otpauth://totp/bob?secret={SECRET}"),
            "--name",
            "bob",
        ],
    );
    let list = ok(&d.file, &["list"]);
    assert!(
        list.contains("Example:alice@example.com") && list.contains("bob"),
        "{list}"
    );
    assert!(
        !list.contains(SECRET) && !list.to_lowercase().contains("secret"),
        "{list}"
    );
    let err = bad(&d.file, &["code", "nobody"]);
    assert!(err.contains("no TOTP or HOTP account"), "{err}");
    let err = bad(
        &d.file,
        &[
            "add",
            &format!("otpauth://totp/bob?secret={SECRET}"),
            "--name",
            "bob",
        ],
    );
    assert!(err.contains("already"), "{err}");
    let err = bad(&d.file, &["add", "otpauth://totp/x?secret=!!"]);
    assert!(
        err.contains("invalid otpauth URI") && !err.contains("!!"),
        "{err}"
    );
    ok(&d.file, &["remove", "bob"]);
    assert!(!ok(&d.file, &["list"]).contains("bob"));

    // HOTP: each code moves the counter on (RFC 4226's first codes).
    ok(
        &d.file,
        &[
            "add",
            &format!("otpauth://hotp/h?secret={SECRET}&counter=0"),
            "--name",
            "h",
        ],
    );
    assert_eq!(ok(&d.file, &["code", "h"]), "755224\n");
    assert_eq!(ok(&d.file, &["code", "h"]), "287082\n");
}

#[cfg(unix)]
#[test]
fn a_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let d = dir();
    ok(&d.file, &["add", &format!("otpauth://totp/a?secret={SECRET}")]);
    for m in [0o640, 0o604, 0o660] {
        std::fs::set_permissions(&d.file, std::fs::Permissions::from_mode(m)).unwrap();
        let err = bad(&d.file, &["list"]);
        assert!(
            err.contains("accessible by others") && err.contains("chmod 600"),
            "{err}"
        );
        let err = bad(&d.file, &["code", "a"]);
        assert!(err.contains("chmod 600"), "{err}");
    }
    std::fs::set_permissions(&d.file, std::fs::Permissions::from_mode(0o600)).unwrap();
    ok(&d.file, &["list"]);
    // A write keeps it 0600 whatever the umask gave the directory.
    ok(&d.file, &["add", &format!("otpauth://totp/b?secret={SECRET}")]);
    assert_eq!(mode(&d.file), 0o600);
}

#[test]
fn a_passphrase_seals_the_file() {
    let d = dir();
    let env = [
        ("MFA_TEST_PASS", "correct horse battery staple"),
        ("MFA_WRONG", "incorrect"),
    ];
    let pass = ["--passphrase-env", "MFA_TEST_PASS"];
    ok_env(
        &d.file,
        &[
            &pass[..],
            &["add", &format!("otpauth://totp/sealed-account?secret={SECRET}")],
        ]
        .concat(),
        &env,
    );
    #[cfg(unix)]
    assert_eq!(mode(&d.file), 0o600);
    let text = std::fs::read_to_string(&d.file).unwrap();
    assert!(
        !text.contains(SECRET) && !text.contains("sealed-account"),
        "{text}"
    );
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["sealed"]["kdf"], "argon2id");
    assert_eq!(file["sealed"]["aead"], "xchacha20poly1305");
    assert!(file.get("accounts").is_none());

    // Round trip.
    let code = ok_env(
        &d.file,
        &[&pass[..], &["code", "sealed-account", "--time", "59"]].concat(),
        &env,
    );
    assert_eq!(code, "287082\n");
    // Wrong passphrase, none, a variable that is not set.
    let err = bad_env(
        &d.file,
        &["--passphrase-env", "MFA_WRONG", "code", "sealed-account"],
        &env,
    );
    assert!(err.contains("wrong passphrase"), "{err}");
    let err = bad(&d.file, &["list"]);
    assert!(
        err.contains("sealed with a passphrase") && err.contains("--passphrase-env"),
        "{err}"
    );
    let err = bad(&d.file, &["--passphrase-env", "MFA_NOT_SET", "list"]);
    assert!(err.contains("MFA_NOT_SET is not set"), "{err}");
    // A changed byte of the ciphertext does not open either.
    let mut altered: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ciphertext = altered["sealed"]["ciphertext"].as_str().unwrap().to_owned();
    let flipped = if ciphertext.ends_with('A') { 'B' } else { 'A' };
    altered["sealed"]["ciphertext"] = format!("{}{flipped}", &ciphertext[..ciphertext.len() - 1]).into();
    std::fs::write(&d.file, altered.to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&d.file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let err = bad_env(&d.file, &[&pass[..], &["list"]].concat(), &env);
    assert!(
        err.contains("wrong passphrase") || err.contains("not a valid sealed"),
        "{err}"
    );
}

#[test]
fn default_file_location() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args([
            "authenticator",
            "add",
            &format!("otpauth://totp/a?secret={SECRET}"),
        ])
        .env_remove("MFA_AUTHENTICATOR_FILE")
        .env("XDG_CONFIG_HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(home.path().join("mfa/authenticator.json").is_file());
    // MFA_AUTHENTICATOR_FILE wins over the configuration directory.
    let other = home.path().join("other.json");
    let out = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(["authenticator", "list"])
        .env("MFA_AUTHENTICATOR_FILE", &other)
        .env("XDG_CONFIG_HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("no accounts in {}\n", other.display())
    );
}
