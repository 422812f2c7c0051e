//! `enroll`, `pending`, `approve`, `deny`, `watch`: the device side of the push protocol (mfa-push).

use std::collections::HashSet;
use std::io::{self, BufRead as _, Read as _, Write as _};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Args;
use mfa_push::{
    Algorithm, AnswerRequest, AnswerResult, Challenge, ChallengeId, Decision, DeviceId, DeviceKey, Endpoint,
    EnrollmentAnswer, EnrollmentOffer, EnrollmentReceipt, FetchRequest, PendingChallenges, ServicePublicKey,
    TypedNumber, UnixTime, WakeChannel,
};
use zeroize::Zeroizing;

use super::http::{Client, PushError, now};
use super::store::{PushEnrollment, Store};
use crate::cli::{Fail, MAX_STDIN_LINE, Outcome, print, rfc3339};

/// `--algorithm` of `enroll`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum KeyAlgorithm {
    /// ECDSA P-256 with SHA-256, what phones' secure hardware holds
    Es256,
    /// Ed25519
    Ed25519,
}

#[derive(Debug, Args)]
pub(crate) struct EnrollArgs {
    /// The mfa-push://enroll?... URI of the service's QR code; `-` reads it from standard input (it holds
    /// a one-time secret)
    uri: String,
    /// How this device calls itself in the account's list of methods (1 to 64 bytes)
    #[arg(long, default_value = "mfa authenticator")]
    label: String,
    /// The device key's algorithm
    #[arg(long, value_enum, ignore_case = true, default_value = "es256")]
    algorithm: KeyAlgorithm,
    /// The enrollment's name in this file (default issuer:account)
    #[arg(long)]
    name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SelectArgs {
    /// Only the push enrollment of this name (default: all of them)
    #[arg(long)]
    name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PendingArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// One JSON array of the requests instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    /// The request's id, as `pending` shows it
    id: String,
    /// The number shown on the sign-in page (2 or 3 digits)
    #[arg(long, value_name = "NN")]
    number: String,
    #[command(flatten)]
    select: SelectArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DenyArgs {
    /// The request's id, as `pending` shows it
    id: String,
    /// Also report it as suspicious (it is not me, and it looks like an attack)
    #[arg(long)]
    report: bool,
    #[command(flatten)]
    select: SelectArgs,
}

#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// Seconds between two polls (at least 1)
    #[arg(long, default_value_t = 2, value_name = "S", value_parser = clap::value_parser!(u64).range(1..=3600))]
    interval: u64,
    /// Stop after this many seconds (default: run until interrupted)
    #[arg(long = "for", value_name = "SECONDS")]
    for_secs: Option<u64>,
    /// Stop after this many new requests were shown
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
}

pub(crate) fn text_input(text: &str, what: &str) -> Result<Zeroizing<String>, Fail> {
    if text != "-" {
        return Ok(Zeroizing::new(text.to_owned()));
    }
    let mut buf = Zeroizing::new(String::with_capacity(MAX_STDIN_LINE as usize));
    io::stdin()
        .lock()
        .take(MAX_STDIN_LINE)
        .read_line(&mut buf)
        .map_err(|e| Fail::new(&format!("cannot read the {what} from standard input"), e))?;
    Ok(Zeroizing::new(buf.trim().to_owned()))
}

pub(crate) fn enroll(mut store: Store, args: EnrollArgs) -> Result<Outcome, Fail> {
    let uri = text_input(&args.uri, "enrollment URI")?;
    let offer = EnrollmentOffer::parse(&uri).map_err(|e| Fail::new("invalid enrollment URI", e))?;
    let started = now();
    if offer.expires_at().as_secs() < started.as_secs() {
        return Err(Fail::msg(format!(
            "the enrollment offer expired at {}: ask the service for a new QR code",
            time_text(offer.expires_at())
        )));
    }
    let name = args
        .name
        .unwrap_or_else(|| format!("{}:{}", offer.issuer(), offer.account()));
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(Fail::msg("invalid --name: empty or with control characters"));
    }
    if store.accounts.name_taken(&name) {
        return Err(Fail::msg(format!(
            "an account named {name:?} is already in {}: choose another with --name, or remove it first",
            store.path().display()
        )));
    }
    let algorithm = match args.algorithm {
        KeyAlgorithm::Es256 => Algorithm::EcdsaP256,
        KeyAlgorithm::Ed25519 => Algorithm::Ed25519,
    };
    let key = DeviceKey::generate(algorithm).map_err(|e| Fail::new("cannot make a device key", e))?;
    let answer = EnrollmentAnswer::sign(&offer, &key, &args.label, WakeChannel::poll())
        .map_err(|e| Fail::new("invalid --label", e))?;
    let client = Client::new().map_err(|e| Fail::new("enrollment failed", e))?;
    let (_, reply) = client
        .post(&Endpoint::Enroll.url(offer.base_url()), &answer.to_json())
        .map_err(|e| Fail::new("enrollment failed", e))?;
    let device_id = EnrollmentReceipt::from_json(&reply)
        .and_then(|receipt| receipt.verify(&offer, &key.public_key()).cloned())
        .map_err(|e| {
            Fail::new(
                "enrollment failed: the service's receipt does not verify with the key of the enrollment URI \
                 (the answer may not have reached the service that made the offer); nothing was saved",
                e,
            )
        })?;
    store.accounts.push.push(PushEnrollment {
        name: name.clone(),
        issuer: offer.issuer().to_owned(),
        account: offer.account().to_owned(),
        base_url: offer.base_url().to_owned(),
        device_id: device_id.to_string(),
        algorithm: algorithm.name().to_owned(),
        device_key: Zeroizing::new(URL_SAFE_NO_PAD.encode(&key.to_bytes()[..])),
        service_key: offer.service_key().to_string(),
        label: args.label,
        enrolled_at: started.as_secs(),
    });
    store.save()?;
    print(
        format!(
            "enrolled {name:?}: device {device_id} ({}), endpoints {}; saved in {}\n",
            algorithm.name(),
            offer.base_url(),
            store.path().display()
        )
        .as_bytes(),
    )?;
    Ok(Outcome::Done)
}

/// A stored enrollment, read back into the protocol's types.
struct Device<'a> {
    stored: &'a PushEnrollment,
    id: DeviceId,
    key: DeviceKey,
    service_key: ServicePublicKey,
}

impl<'a> Device<'a> {
    fn load(stored: &'a PushEnrollment) -> Result<Self, Fail> {
        let bad = |what: &str| {
            Fail::msg(format!(
                "the enrollment {:?} in the file is damaged: {what}",
                stored.name
            ))
        };
        let algorithm: Algorithm = stored.algorithm.parse().map_err(|_| bad("algorithm"))?;
        let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(stored.device_key.as_bytes())
                .ok()
                .map(Zeroizing::new)
                .and_then(|b| <[u8; 32]>::try_from(&b[..]).ok())
                .ok_or_else(|| bad("device key"))?,
        );
        Ok(Device {
            stored,
            id: DeviceId::new(&stored.device_id).map_err(|_| bad("device id"))?,
            key: DeviceKey::from_bytes(algorithm, &bytes).map_err(|_| bad("device key"))?,
            service_key: stored.service_key.parse().map_err(|_| bad("service key"))?,
        })
    }

    /// The requests pending for this device that verify with the pinned key; those that do not are
    /// dropped (PROTOCOL.md, 6.3), and counted.
    fn fetch(&self, client: &Client) -> Result<Fetched, PushError> {
        let request = FetchRequest::sign(&self.key, &self.id, now())
            .map_err(|error| PushError::Protocol { what: "nonce", error })?;
        let (_, reply) = client.post(&Endpoint::Pending.url(&self.stored.base_url), &request.to_json())?;
        let pending = PendingChallenges::from_json(&reply).map_err(|error| PushError::Protocol {
            what: "list of pending requests",
            error,
        })?;
        let at = now();
        let mut fetched = Fetched {
            challenges: Vec::new(),
            dropped: Vec::new(),
            skew: pending.server_time().as_secs().saturating_sub(at.as_secs()),
        };
        for signed in pending.challenges() {
            match signed.verify(&self.service_key, &self.id, at) {
                Ok(challenge) => fetched.challenges.push(challenge.clone()),
                Err(e) => fetched.dropped.push(e),
            }
        }
        Ok(fetched)
    }
}

struct Fetched {
    challenges: Vec<Challenge>,
    dropped: Vec<mfa_push::Error>,
    /// The service's clock minus this one's, in seconds.
    skew: i64,
}

fn devices<'a>(store: &'a Store, select: &SelectArgs) -> Result<Vec<Device<'a>>, Fail> {
    let chosen: Vec<&PushEnrollment> = store
        .accounts
        .push
        .iter()
        .filter(|p| select.name.as_ref().is_none_or(|n| &p.name == n))
        .collect();
    if chosen.is_empty() {
        return Err(Fail::msg(match &select.name {
            Some(name) => format!("no push enrollment named {name:?} in {}", store.path().display()),
            None => format!(
                "no push enrollment in {}: enroll first (mfa authenticator enroll URI)",
                store.path().display()
            ),
        }));
    }
    chosen.into_iter().map(Device::load).collect()
}

fn warn(message: &str) {
    let _ = writeln!(
        io::stderr(),
        "mfa: warning: {}",
        message.replace(['\n', '\r'], " ")
    );
}

fn warn_fetched(device: &Device<'_>, fetched: &Fetched) {
    for e in &fetched.dropped {
        warn(&format!(
            "{}: a request that does not verify was dropped: {e}",
            device.stored.name
        ));
    }
    if fetched.skew.unsigned_abs() > 60 {
        warn(&format!(
            "{}: this computer's clock is {} s off the service's",
            device.stored.name,
            fetched.skew.unsigned_abs()
        ));
    }
}

fn time_text(t: UnixTime) -> String {
    u64::try_from(t.as_secs()).map_or_else(|_| t.as_secs().to_string(), rfc3339)
}

/// How `pending` and `watch` show a request: never a number (the device never receives it).
fn describe(device: &Device<'_>, c: &Challenge, at: UnixTime) -> String {
    let r = c.requester();
    let from = match (r.client_ip.is_empty(), r.location.is_empty()) {
        (true, true) => "unknown".to_owned(),
        (false, true) => r.client_ip.clone(),
        (true, false) => r.location.clone(),
        (false, false) => format!("{} ({})", r.client_ip, r.location),
    };
    let left = c.expires_at().as_secs().saturating_sub(at.as_secs()).max(0);
    format!(
        "Approve sign-in? request {id}\n  account      {name}\n  user         {user}\n  application  {app}\n  \
         from         {from}\n  time         {created}\n  expires      {expires} (in {left} s)\n  \
         answer       mfa authenticator approve {id} --number <the {digits} digits on the sign-in page>\n               \
         mfa authenticator deny {id} [--report]\n",
        id = c.id(),
        name = device.stored.name,
        user = r.user,
        app = r.application,
        created = time_text(c.created_at()),
        expires = time_text(c.expires_at()),
        digits = c.digits().count(),
    )
}

fn to_json(device: &Device<'_>, c: &Challenge) -> serde_json::Value {
    let r = c.requester();
    serde_json::json!({
        "id": c.id().as_str(),
        "name": device.stored.name,
        "issuer": device.stored.issuer,
        "account": device.stored.account,
        "user": r.user,
        "application": r.application,
        "client_ip": r.client_ip,
        "location": r.location,
        "created_at": c.created_at().as_secs(),
        "expires_at": c.expires_at().as_secs(),
        "digits": c.digits().count(),
    })
}

pub(crate) fn pending(store: Store, args: PendingArgs) -> Result<Outcome, Fail> {
    let devices = devices(&store, &args.select)?;
    let client = Client::new().map_err(|e| Fail::new("cannot fetch", e))?;
    let mut text = String::new();
    let mut json = Vec::new();
    for device in &devices {
        let fetched = device.fetch(&client).map_err(|e| {
            Fail::new(
                &format!("{}: cannot fetch the pending requests", device.stored.name),
                e,
            )
        })?;
        warn_fetched(device, &fetched);
        for c in &fetched.challenges {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&describe(device, c, now()));
            json.push(to_json(device, c));
        }
    }
    if args.json {
        let mut out = serde_json::Value::Array(json).to_string();
        out.push('\n');
        print(out.as_bytes())?;
    } else if text.is_empty() {
        print(b"no pending sign-in requests\n")?;
    } else {
        print(text.as_bytes())?;
    }
    Ok(Outcome::Done)
}

/// Finds the pending request `id` (fetched and verified again: the device answers only what it can
/// show), and sends `decision`.
fn answer(
    store: &Store,
    select: &SelectArgs,
    id: &str,
    decision: impl Fn(&Challenge) -> Result<Decision, Fail>,
) -> Result<Outcome, Fail> {
    let id = ChallengeId::new(id).map_err(|e| Fail::new("invalid request id", e))?;
    let devices = devices(store, select)?;
    let client = Client::new().map_err(|e| Fail::new("cannot answer", e))?;
    for device in &devices {
        let fetched = device.fetch(&client).map_err(|e| {
            Fail::new(
                &format!("{}: cannot fetch the pending requests", device.stored.name),
                e,
            )
        })?;
        warn_fetched(device, &fetched);
        let Some(challenge) = fetched.challenges.iter().find(|c| c.id() == &id) else {
            continue;
        };
        let decision = decision(challenge)?;
        let request = AnswerRequest::sign(&device.key, &device.id, &id, decision, now())
            .map_err(|e| Fail::new("cannot sign the answer", e))?;
        let (_, reply) = client
            .post(&Endpoint::Answer.url(&device.stored.base_url), &request.to_json())
            .map_err(|e| Fail::new("the answer was not accepted", e))?;
        let result = AnswerResult::from_json(&reply).map_err(|e| {
            Fail::new(
                "the answer was sent, but the service's reply is not valid",
                PushError::Protocol {
                    what: "answer reply",
                    error: e,
                },
            )
        })?;
        let line = match result {
            AnswerResult::Approved => "approved: the sign-in goes on\n",
            AnswerResult::WrongNumber => {
                "wrong_number: the number is not the one on the sign-in page; the service refused the sign-in\n"
            }
            AnswerResult::Denied => "denied: the service refused the sign-in\n",
            AnswerResult::Reported => {
                "reported: the service refused the sign-in and was told it looks like an attack\n"
            }
        };
        print(line.as_bytes())?;
        return Ok(if result == AnswerResult::WrongNumber {
            Outcome::NotValid
        } else {
            Outcome::Done
        });
    }
    Err(Fail::msg(format!(
        "no pending request {id} for this authenticator: it was answered, expired, or is for another device \
         (see mfa authenticator pending)"
    )))
}

pub(crate) fn approve(store: Store, args: ApproveArgs) -> Result<Outcome, Fail> {
    let typed: TypedNumber = args
        .number
        .trim()
        .parse()
        .map_err(|_| Fail::msg("invalid --number: type the 2 or 3 digits shown on the sign-in page"))?;
    answer(&store, &args.select, &args.id, |challenge| {
        let digits = challenge.digits().count();
        if typed.as_str().len() != digits {
            return Err(Fail::msg(format!(
                "invalid --number: this request's number has {digits} digits"
            )));
        }
        Ok(Decision::Approve(typed))
    })
}

pub(crate) fn deny(store: Store, args: DenyArgs) -> Result<Outcome, Fail> {
    let decision = if args.report {
        Decision::Report
    } else {
        Decision::Deny
    };
    answer(&store, &args.select, &args.id, |_| Ok(decision))
}

pub(crate) fn watch(store: Store, args: WatchArgs) -> Result<Outcome, Fail> {
    let devices = devices(&store, &args.select)?;
    let client = Client::new().map_err(|e| Fail::new("cannot fetch", e))?;
    let started = Instant::now();
    // A `--for` past what the clock can count means no deadline.
    let deadline = args
        .for_secs
        .and_then(|s| started.checked_add(Duration::from_secs(s)));
    let mut seen: HashSet<(usize, String)> = HashSet::new();
    let mut shown = 0u64;
    loop {
        for (n, device) in devices.iter().enumerate() {
            match device.fetch(&client) {
                Ok(fetched) => {
                    warn_fetched(device, &fetched);
                    for c in &fetched.challenges {
                        if seen.insert((n, c.id().to_string())) {
                            print(describe(device, c, now()).as_bytes())?;
                            shown += 1;
                            if args.count.is_some_and(|max| shown >= max) {
                                return Ok(Outcome::Done);
                            }
                        }
                    }
                }
                Err(e) if e.is_transient() => warn(&format!("{}: {e}; polling on", device.stored.name)),
                Err(e) => {
                    return Err(Fail::new(
                        &format!("{}: cannot fetch the pending requests", device.stored.name),
                        e,
                    ));
                }
            }
        }
        let mut pause = Duration::from_secs(args.interval);
        if let Some(end) = deadline {
            let rest = end.saturating_duration_since(Instant::now());
            if rest.is_zero() {
                return Ok(Outcome::Done);
            }
            // The last poll is at the deadline.
            pause = pause.min(rest);
        }
        std::thread::sleep(pause);
    }
}
