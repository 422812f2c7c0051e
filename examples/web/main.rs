//! The reference web service: sign-in with a password and a second factor, registration, the
//! security info page, an admin page and a development outbox, server-rendered, on an embedded
//! SQLite file.
//!
//! ```text
//! cargo run --example web                  # http://127.0.0.1:8080
//! cargo run --example web -- --port 18080  # or PORT=18080
//! ```
//!
//! Without `MFA_KEYS` and `MFA_TAG_SECRET` it generates keys at start and runs in development mode:
//! a fresh database in a temporary directory, texts and calls recorded for the `/dev/outbox` page.
//! The variables of `mfa-delivery` (`MFA_DELIVERY_PROVIDER`, `TWILIO_*`, `VONAGE_*`, `MFA_WEBHOOK_*`)
//! send them through a real provider instead. Push approvals ("Approve a request on my authenticator
//! app") use a service key generated at start in development mode, else `MFA_PUSH_KEY`; the devices
//! talk to `/mfa/push` on this service (`MFA_PUSH_BASE_URL` to say another public address).
//! Security keys and passkeys are for the relying party `localhost` at `http://localhost:PORT` (browse
//! there, not 127.0.0.1), or `MFA_WEBAUTHN_RP_ID` and `MFA_WEBAUTHN_ORIGIN`.
//! The demo accounts it prints are the host's own concern (see `accounts.rs`), not the library's.

mod accounts;
mod admin;
mod app;
mod auth;
#[cfg(test)]
mod browser;
mod mail;
mod outbox;
mod pages;
mod passkey;
mod password;
mod push;
mod security_info;
#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use mfa::{KeyId, KeyRing, TagSecret};

/// What the command line and the environment say.
struct Options {
    port: u16,
    data_dir: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut port = match std::env::var("PORT") {
        Ok(text) => Some(
            text.parse::<u16>()
                .map_err(|_| format!("PORT={text:?} is not a port number"))?,
        ),
        Err(_) => None,
    };
    let mut data_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let text = args.next().ok_or("--port needs a number")?;
                port = Some(
                    text.parse()
                        .map_err(|_| format!("--port {text:?} is not a port number"))?,
                );
            }
            "--data-dir" => {
                data_dir = Some(PathBuf::from(args.next().ok_or("--data-dir needs a directory")?))
            }
            "--help" | "-h" => {
                return Err("usage: web [--port PORT] [--data-dir DIR]\n\
                     PORT (default 8080) may also come from the PORT variable; without --data-dir the \
                     database goes to a new temporary directory.\n\
                     MFA_KEYS and MFA_TAG_SECRET (from `mfa key new`) turn development mode off; \
                     MFA_PUSH_KEY (a 32-byte seed, base64url) and MFA_PUSH_BASE_URL set up push approvals; \
                     MFA_WEBAUTHN_RP_ID and MFA_WEBAUTHN_ORIGIN the relying party of security keys and \
                     passkeys (default localhost, http://localhost:PORT); the \
                     variables of mfa-delivery (MFA_DELIVERY_PROVIDER, TWILIO_*, VONAGE_*, MFA_WEBHOOK_*) \
                     choose a phone provider."
                    .to_owned());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(Options {
        port: port.unwrap_or(8080),
        data_dir,
    })
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(options: Options) -> Result<(), String> {
    // Keys: the operator's when set, else new ones (development mode).
    let (keys, tags, dev) = match std::env::var_os("MFA_KEYS") {
        Some(_) => (
            KeyRing::from_env("MFA_KEYS").map_err(|e| e.to_string())?,
            TagSecret::from_env("MFA_TAG_SECRET").map_err(|e| e.to_string())?,
            false,
        ),
        None => (
            KeyRing::generate(KeyId(1)).map_err(|e| e.to_string())?,
            TagSecret::generate().map_err(|e| e.to_string())?,
            true,
        ),
    };
    // The database: the given directory, or a temporary one removed at exit.
    let temp;
    let dir = match options.data_dir {
        Some(dir) => dir,
        None => {
            temp = tempfile::Builder::new()
                .prefix("mfa-web-")
                .tempdir()
                .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
            temp.path().to_owned()
        }
    };
    let database = dir.join("mfa.sqlite3");
    // Texts and calls: a provider when its variables are set (see mfa-delivery's README), else the
    // development outbox, and in production nowhere (a send fails, saying so).
    let provider = mfa_delivery::from_env().map_err(|e| format!("phone provider: {e}"))?;
    let (delivery, sent_by) = match (provider, dev) {
        (Some(provider), _) => (app::Delivery::Provider(provider), "the configured provider"),
        (None, true) => (
            app::Delivery::Outbox,
            "nowhere: the development outbox shows them",
        ),
        (None, false) => (
            app::Delivery::Nowhere,
            "nowhere: no provider is configured, phone codes fail",
        ),
    };
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
    let push = push_setup(dev, address)?;
    let push_by = match &push {
        Some(push) => format!("on, devices at {}", push.base_url),
        None => "off (set MFA_PUSH_KEY to turn them on)".to_owned(),
    };
    let webauthn = webauthn_setup(options.port);
    let passkeys_by = format!("for {} at {}", webauthn.rp_id, webauthn.origin);
    let state = app::AppState::open(&database, keys, tags, delivery, push, Some(webauthn)).await?;

    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    println!("mfa-kit reference web service on http://{address}/");
    println!("database: {}", database.display());
    if dev {
        println!("DEVELOPMENT MODE: keys generated at start");
    }
    println!("texts and calls: {sent_by}");
    println!("push approvals: {push_by}");
    println!("security keys and passkeys: {passkeys_by} (browse there: WebAuthn refuses IP addresses)");
    if state.outbox.is_some() {
        println!("outbox: http://{address}/dev/outbox");
    }
    println!("demo accounts (a demo of the host's own password check, not for production):");
    for (username, password, admin, initial_state) in accounts::DEMO {
        println!(
            "  {username:<6} password {password:<22} MFA {initial_state:?}{}",
            if admin { ", administrator" } else { "" }
        );
    }
    axum::serve(listener, app::router(state))
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| format!("the server stopped: {e}"))
}

/// Push approvals: the service key from `MFA_PUSH_KEY` (its 32-byte seed, base64url without padding), or
/// in development mode a new one; the device endpoints at `MFA_PUSH_BASE_URL`, by default this
/// service's own address with `/mfa/push`. Outside development mode without `MFA_PUSH_KEY`: off.
fn push_setup(dev: bool, address: SocketAddr) -> Result<Option<app::Push>, String> {
    use base64::Engine;
    let key = match std::env::var("MFA_PUSH_KEY") {
        Ok(text) => {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text.trim())
                .map_err(|_| "MFA_PUSH_KEY is not base64url without padding".to_owned())?;
            let seed: [u8; 32] = bytes
                .try_into()
                .map_err(|_| "MFA_PUSH_KEY is not 32 bytes".to_owned())?;
            mfa_push::ServiceKey::from_seed(&seed)
        }
        Err(_) if dev => mfa_push::ServiceKey::generate().map_err(|e| e.to_string())?,
        Err(_) => return Ok(None),
    };
    let base_url =
        std::env::var("MFA_PUSH_BASE_URL").unwrap_or_else(|_| format!("http://{address}/mfa/push"));
    Ok(Some(app::Push { key, base_url }))
}

/// Security keys and passkeys: the relying party is this service's own address, `localhost` and
/// `http://localhost:{port}` (a secure context, where an IP address would be refused as a relying party
/// id), unless `MFA_WEBAUTHN_RP_ID` and `MFA_WEBAUTHN_ORIGIN` say the public name and `https://` origin.
fn webauthn_setup(port: u16) -> mfa::WebauthnConfig {
    let rp_id = std::env::var("MFA_WEBAUTHN_RP_ID").unwrap_or_else(|_| "localhost".to_owned());
    let origin = std::env::var("MFA_WEBAUTHN_ORIGIN").unwrap_or_else(|_| format!("http://localhost:{port}"));
    mfa::WebauthnConfig {
        rp_id,
        rp_name: "mfa-kit demo".to_owned(),
        origin,
        extra_origins: Vec::new(),
    }
}

/// Ctrl-C, or SIGTERM on Unix, stops the service (and removes the temporary database). A signal
/// that cannot be watched is waited for forever.
async fn shutdown() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
