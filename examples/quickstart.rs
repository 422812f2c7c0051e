//! The reference walk-through: one user's MFA life, told as a short story.
//!
//! `cargo run --example quickstart`
//!
//! Everything runs in this process on an embedded SQLite file in a fresh temporary directory: an admin
//! enables MFA for Alice; she registers her authenticator app (the QR code is drawn in the terminal) and a
//! backup mobile; signs in with "don't ask again for 30 days"; comes back without a prompt; changes her
//! password and is asked again; creates an app password for her mail client; and finally, phone lost,
//! signs in with a recovery code. This program plays every part: the admin, Alice, her phone (it computes
//! the authenticator code and reads the SMS) and her mail client.
//!
//! A real service keeps its keys in a secrets manager and its clock is the system clock; here the keys are
//! generated for the run and a manual clock lets the story skip ahead by minutes and days. Instants are
//! shown in UTC.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mfa::{
    Challenge, Channel, Clock, Config, DeliveryError, KeyId, KeyRing, ManualClock, MessageId, Mfa, MfaState,
    PhoneDelivery, PhoneKind, PhoneMessage, PhoneNumber, Policy, PolicyConfig, SignInContext, TagSecret,
    UnixTime, UserId,
};
use mfa_enroll::{KeyUri, TerminalTheme};
use mfa_sqlx::SqliteStore;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // ---------------------------------------------------------------- the service starts
    let dir = std::env::temp_dir().join(format!("mfa-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("mfa.sqlite3");
    let store = SqliteStore::open(&db).await?;
    store.migrate().await?;
    say(&format!(
        "The service opens its MFA store at {} (SQLite, WAL).",
        db.display()
    ));

    let issuer = "Example Mail";
    let config = Config {
        issuer: issuer.to_owned(),
        // The hosted-suite defaults, with "don't ask again for 30 days".
        policy: Policy::new(PolicyConfig {
            remember_device: Some(Duration::from_secs(30 * 86_400)),
            ..PolicyConfig::hosted_suite()
        })?,
        ..Config::default()
    };
    let clock = Arc::new(ManualClock::new(UnixTime::from_secs(i64::try_from(
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
    )?)));
    let phone = AlicesPhone::default();
    let mfa = Mfa::new(
        config,
        KeyRing::generate(KeyId(1))?,
        TagSecret::generate()?,
        store,
        phone.clone(),
    )?
    .with_clock(clock.clone());
    // The host's own stable id for Alice (its primary key), not her e-mail address, which she may change.
    // The address is only the account name her authenticator app shows.
    let alice = UserId::new("user-42")?;
    let alices_email = "alice@example.com";

    // ---------------------------------------------------------------- 1. the admin enables MFA
    step(1, "An admin enables MFA for Alice.");
    mfa.set_mfa_state(&alice, MfaState::Enabled).await?;

    // ---------------------------------------------------------------- 2. registration
    step(
        2,
        "Alice signs in with her password on her laptop; the service asks her to register.",
    );
    // The host knows the laptop is new to Alice's account: its browser sent no cookie of a device
    // remembered for her (nor any other sign the host keeps of devices it has seen her use).
    let laptop = SignInContext {
        new_device: true,
        ..SignInContext::sign_in(clock.now())
    };
    let sign_in = mfa.begin_sign_in(&alice, None, laptop).await?;
    say(&decision(&sign_in.decision));

    let enrollment = mfa
        .begin_app_enrollment(&alice, alices_email, "Authenticator on Alice's phone", None)
        .await?;
    say(&format!(
        "Scan this with an authenticator app (or type the key below); it shows up as \"{issuer}: {alices_email}\":"
    ));
    println!(
        "{}",
        enrollment
            .qr()
            .to_terminal(TerminalTheme::DarkBackground)
            .as_str()
    );
    say(&format!("key: {}", enrollment.secret_for_typing().as_str()));

    // Alice's phone reads the QR code; from now on it shows a code every 30 seconds.
    let authenticator = KeyUri::parse(enrollment.uri().as_str())?.to_totp()?;
    let app_code = |clock: &ManualClock| -> Result<String, Error> {
        Ok(authenticator.generate(unix(clock.now())?)?.to_string())
    };
    let code = app_code(&clock)?;
    say(&format!("Alice types the code her app shows: {code}"));
    let enrolled = mfa
        .confirm_app_enrollment(&alice, enrollment.method(), &code)
        .await?;
    let app = enrolled.method;
    say(&format!(
        "registered: \"{}\", an {}{}",
        app.name,
        app.kind,
        if app.is_default {
            ", her default method"
        } else {
            ""
        }
    ));
    // The confirmed code proved the second factor: the proof finishes this sign-in, and the host keeps
    // its time in Alice's session as her last verification (step-up checks read it).
    let mut session_last_mfa = enrolled.proof.at();
    say("that code also completes this sign-in: Alice is in");

    // ---------------------------------------------------------------- 3. a backup phone
    clock.advance(Duration::from_secs(60));
    step(
        3,
        "Alice adds her mobile as a backup; the service texts a test code.",
    );
    let sent = mfa
        .begin_phone_enrollment(
            &alice,
            PhoneKind::Mobile,
            "+44 7700 900123",
            Channel::Sms,
            Some(session_last_mfa),
        )
        .await?;
    let texted = phone.last_code()?;
    say(&format!(
        "Alice reads the text on {} and types {texted}",
        sent.masked_number
    ));
    let mobile = mfa
        .confirm_phone_enrollment(&alice, sent.method, &texted)
        .await?
        .method;
    say(&format!(
        "registered: \"{}\", a {} ({})",
        mobile.name,
        mobile.kind,
        mobile.masked_number.as_deref().unwrap_or("")
    ));
    let recommendations = mfa.recommendations(&alice).await?;
    if recommendations.is_empty() {
        say("with two methods the service has no more advice for her");
    }
    for recommendation in recommendations {
        say(&format!("advice shown to Alice: {recommendation}"));
    }

    // ---------------------------------------------------------------- 4. sign-in, remember the device
    clock.advance(Duration::from_secs(3600));
    step(
        4,
        "An hour later Alice signs in again and ticks \"don't ask again for 30 days\".",
    );
    let sign_in = mfa.begin_sign_in(&alice, None, laptop_now(&clock)).await?;
    say(&decision(&sign_in.decision));
    match mfa.challenge(&alice, None, None).await? {
        Challenge::AuthenticatorApp { .. } => {
            say("challenge: a code from her default method, the authenticator app")
        }
        Challenge::Phone(sent) => say(&format!("challenge: a code sent to {}", sent.masked_number)),
        _ => say("challenge: another kind"),
    }
    let code = app_code(&clock)?;
    say(&format!("Alice types the code her app shows: {code}"));
    let verified = mfa.verify(&alice, app.id, &code).await?;
    let remembered = mfa
        .remember_device(&verified, "Firefox on Alice's laptop")
        .await?;
    // The host sets this as an HttpOnly, Secure cookie; it is shown here only to make the story visible.
    let cookie = remembered.token;
    let now = clock.now();
    say(&format!(
        "the laptop is remembered (cookie set): no prompt on it until {} as long as she keeps using it; \
         left unused, it lapses at {}",
        when(remembered.ends_at, now),
        when(remembered.lapses_at, now)
    ));

    // ---------------------------------------------------------------- 5. no prompt on that device
    clock.advance(Duration::from_secs(86_400));
    step(5, "The next day Alice signs in on the same laptop: no prompt.");
    let sign_in = mfa
        .begin_sign_in(&alice, Some(cookie.expose()), laptop_now(&clock))
        .await?;
    say(&decision(&sign_in.decision));
    if sign_in.device.is_some() {
        say("the cookie named her remembered laptop");
    }

    // ---------------------------------------------------------------- 6. password change
    clock.advance(Duration::from_secs(600));
    step(
        6,
        "Alice changes her password; the same laptop is asked again, and she picks a text message.",
    );
    mfa.password_changed(&alice).await?;
    clock.advance(Duration::from_secs(30));
    let sign_in = mfa
        .begin_sign_in(&alice, Some(cookie.expose()), laptop_now(&clock))
        .await?;
    say(&decision(&sign_in.decision));
    say("the password change forgot every remembered device, the laptop's too");
    mfa.challenge(&alice, Some(mobile.id), Some(Channel::Sms)).await?;
    let texted = phone.last_code()?;
    say(&format!("Alice types the texted code {texted}"));
    let verified = mfa.verify(&alice, mobile.id, &texted).await?;
    session_last_mfa = verified.at();
    say("verified by text message: Alice is in");

    // ---------------------------------------------------------------- 7. an app password
    clock.advance(Duration::from_secs(120));
    step(
        7,
        "Alice's desktop mail client cannot do MFA: she creates an app password for it.",
    );
    let created = mfa
        .create_app_password(&alice, "Mail on Alice's desktop", Some(session_last_mfa))
        .await?;
    say(&format!(
        "shown once, \"write it down\": {}",
        created.password.expose()
    ));
    // Typed into the mail client without the spaces and in capitals: still accepted.
    let typed_into_mail = zeroize::Zeroizing::new(created.password.expose().replace(' ', "").to_uppercase());
    clock.advance(Duration::from_secs(30));
    mfa.verify_app_password(&alice, typed_into_mail.as_str(), Some("imap"))
        .await?;
    say("the mail client signs in over IMAP with it, typed in capitals without the spaces");
    drop(created);
    // What her security settings page lists: names and times, never the password or its hash.
    let now = clock.now();
    for listed in mfa.list_app_passwords(&alice).await? {
        say(&format!(
            "her settings list \"{}\": created {}, last used {}",
            listed.name,
            when(listed.created_at, now),
            listed
                .last_used_at
                .map_or_else(|| "never".to_owned(), |t| when(t, now))
        ));
    }

    // ---------------------------------------------------------------- 8. recovery codes
    step(
        8,
        "Alice saves recovery codes; months later, phone lost, she uses one.",
    );
    let codes = mfa
        .generate_recovery_codes(&alice, Some(session_last_mfa))
        .await?;
    for code in codes.codes() {
        say(&format!("  {code}"));
    }
    let first = codes.codes().next().ok_or("no recovery codes")?.to_owned();
    drop(codes);
    clock.advance(Duration::from_secs(120 * 86_400));
    // A laptop with no cookie of a device remembered for Alice: new to her account.
    let new_laptop = SignInContext {
        new_device: true,
        ..laptop_now(&clock)
    };
    let sign_in = mfa.begin_sign_in(&alice, None, new_laptop).await?;
    say(&format!("on a new laptop: {}", decision(&sign_in.decision)));
    let verified = mfa.redeem_recovery_code(&alice, &first).await?;
    say(&format!(
        "signed in with a recovery code; {} left",
        verified.recovery_codes_left().unwrap_or(0)
    ));
    match mfa.redeem_recovery_code(&alice, &first).await {
        Err(mfa::Error::Rejected) => say("the same recovery code does not work twice"),
        other => return Err(format!("a used recovery code must be rejected, got {other:?}").into()),
    }

    mfa.store().pool().close().await;
    std::fs::remove_dir_all(&dir)?;
    say("Done: the store file is removed.");
    Ok(())
}

/// Alice's phone: it prints each text or call it receives (with the number masked, as everything
/// the service shows does) and keeps the last code so the story can type it.
#[derive(Debug, Clone, Default)]
struct AlicesPhone {
    last: Arc<Mutex<Option<String>>>,
    count: Arc<AtomicU64>,
}

impl AlicesPhone {
    fn last_code(&self) -> Result<String, Error> {
        let last = self.last.lock().map_err(|_| "phone poisoned")?;
        last.clone().ok_or_else(|| "no message on the phone".into())
    }
}

impl PhoneDelivery for AlicesPhone {
    async fn send(
        &self,
        to: &PhoneNumber,
        channel: Channel,
        message: &PhoneMessage,
    ) -> Result<MessageId, DeliveryError> {
        // Not forwarded to `DevPhoneDelivery`, which prints the whole number.
        let id = MessageId(format!(
            "alices-phone-{}",
            self.count.fetch_add(1, Ordering::Relaxed)
        ));
        println!(
            "   [Alice's phone {}, a {}] {}",
            to.masked(),
            match channel {
                Channel::Sms => "text",
                _ => "call",
            },
            message.text(channel).as_str()
        );
        if let Ok(mut last) = self.last.lock() {
            *last = Some(message.code().to_owned());
        }
        Ok(id)
    }
}

fn laptop_now(clock: &ManualClock) -> SignInContext {
    SignInContext::sign_in(clock.now())
}

fn unix(time: UnixTime) -> Result<u64, Error> {
    Ok(u64::try_from(time.as_secs())?)
}

/// "decision: require_mfa (It has been too long since your last verification.)": the action the host
/// matches on, and the reasons as a UI shows them.
fn decision(decision: &mfa::Decision) -> String {
    let texts: Vec<String> = decision.reasons.iter().map(ToString::to_string).collect();
    let why = if texts.is_empty() {
        "no reason to ask".to_owned()
    } else {
        texts.join(" ")
    };
    format!("decision: {} ({why})", decision.action)
}

/// An instant in RFC 3339 (UTC, to the second) and how far it is from `now`: "2026-12-04T10:00:00Z (in
/// 30 days)".
fn when(at: UnixTime, now: UnixTime) -> String {
    let stamp = jiff::Timestamp::from_second(at.as_secs())
        .map_or_else(|_| format!("Unix {}", at.as_secs()), |t| t.to_string());
    let secs = at.as_secs() - now.as_secs();
    let (n, unit) = match secs.unsigned_abs() {
        s if s >= 2 * 86_400 => (s / 86_400, "days"),
        s if s >= 2 * 3600 => (s / 3600, "hours"),
        s if s >= 2 * 60 => (s / 60, "minutes"),
        s => (s, "seconds"),
    };
    let relative = match secs {
        0 => "now".to_owned(),
        s if s > 0 => format!("in {n} {unit}"),
        _ => format!("{n} {unit} ago"),
    };
    format!("{stamp} ({relative})")
}

fn step(n: u32, text: &str) {
    println!("\n{n}. {text}");
}

fn say(text: &str) {
    println!("   {text}");
}
