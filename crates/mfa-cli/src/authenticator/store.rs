//! The authenticator's file: where it lives, what it holds, its permissions (0600, refused when others
//! can read it), atomic writes, and the passphrase seal (argon2id, XChaCha20-Poly1305).

use std::fs;
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use argon2::{Argon2, Params};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cli::{Fail, MAX_STDIN_LINE};

/// The `format` member of every authenticator file.
pub(crate) const FORMAT: &str = "mfa-authenticator/v1";
/// The environment variable that names the file when `--file` is not given.
pub(crate) const FILE_ENV: &str = "MFA_AUTHENTICATOR_FILE";
/// The largest file read: far beyond hundreds of accounts.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Argon2id costs of new seals: OWASP's first recommendation (19 MiB, 2 passes, 1 lane).
const M_COST_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
/// The most a file may ask for when it is opened (a file is input too).
const MAX_M_COST_KIB: u32 = 1024 * 1024;
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 16;

/// One push enrollment: everything the device needs to fetch and answer challenges.
#[derive(Serialize, Deserialize)]
pub(crate) struct PushEnrollment {
    /// How commands name it (`--name`): `issuer:account` unless chosen at enrollment.
    pub(crate) name: String,
    pub(crate) issuer: String,
    pub(crate) account: String,
    /// The base URL of the service's device endpoints.
    pub(crate) base_url: String,
    pub(crate) device_id: String,
    /// `ES256` or `Ed25519`.
    pub(crate) algorithm: String,
    /// The device's private key: 32 bytes (a P-256 scalar or an Ed25519 seed), base64url.
    pub(crate) device_key: Zeroizing<String>,
    /// The service's Ed25519 public key, pinned at enrollment, base64url.
    pub(crate) service_key: String,
    /// What the device called itself when it enrolled.
    pub(crate) label: String,
    /// Unix seconds.
    pub(crate) enrolled_at: i64,
}

/// One TOTP or HOTP account, kept as its otpauth:// URI (which holds the secret and its settings; an
/// HOTP account's counter is updated in it after each code).
#[derive(Serialize, Deserialize)]
pub(crate) struct OtpAccount {
    pub(crate) name: String,
    pub(crate) uri: Zeroizing<String>,
}

/// What the file holds, sealed or not.
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct Accounts {
    #[serde(default)]
    pub(crate) push: Vec<PushEnrollment>,
    #[serde(default)]
    pub(crate) otp: Vec<OtpAccount>,
}

impl Accounts {
    pub(crate) fn name_taken(&self, name: &str) -> bool {
        self.push.iter().any(|p| p.name == name) || self.otp.iter().any(|o| o.name == name)
    }
}

/// The file on disk: the accounts in the clear, or sealed under a passphrase.
#[derive(Deserialize)]
struct FileRepr {
    format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    accounts: Option<Accounts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<Sealed>,
}

/// A sealed body: argon2id of the passphrase with these costs and salt is the XChaCha20-Poly1305 key;
/// the ciphertext is the accounts' JSON; the associated data is [`Sealed::associated_data`].
#[derive(Serialize, Deserialize)]
struct Sealed {
    kdf: String,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
    aead: String,
    nonce: String,
    ciphertext: String,
}

const KDF: &str = "argon2id";
const AEAD: &str = "xchacha20poly1305";

impl Sealed {
    /// The format and the parameters, bound to the ciphertext.
    fn associated_data(&self) -> Vec<u8> {
        format!(
            "{FORMAT} {} m={} t={} p={} {}",
            self.kdf, self.m_cost_kib, self.t_cost, self.p_cost, self.aead
        )
        .into_bytes()
    }
}

/// Where the passphrase comes from.
#[derive(Debug, Clone)]
pub(crate) enum PassphraseSource {
    /// None given: a sealed file is opened by asking on the terminal; new files are not sealed.
    None,
    /// `--passphrase-env VAR`.
    Env(String),
    /// `--passphrase`: asked on the terminal (twice for a new seal).
    Prompt,
}

/// An opened file: its path, what it holds and the passphrase it is written back with (if sealed).
pub(crate) struct Store {
    path: PathBuf,
    pub(crate) accounts: Accounts,
    passphrase: Option<Zeroizing<String>>,
}

/// The file's path: `--file`, else `$MFA_AUTHENTICATOR_FILE`, else `mfa/authenticator.json` in the
/// user's configuration directory (`$XDG_CONFIG_HOME`, else `~/.config`; `%APPDATA%` on Windows).
pub(crate) fn path(file: Option<PathBuf>) -> Result<PathBuf, Fail> {
    if let Some(file) = file {
        return Ok(file);
    }
    if let Some(file) = std::env::var_os(FILE_ENV).filter(|f| !f.is_empty()) {
        return Ok(PathBuf::from(file));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .or_else(|| {
            if cfg!(windows) {
                std::env::var_os("APPDATA").map(PathBuf::from)
            } else {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config"))
            }
        })
        .ok_or_else(|| {
            Fail::msg(format!(
                "no configuration directory (neither XDG_CONFIG_HOME nor HOME is set): give --file or {FILE_ENV}"
            ))
        })?;
    Ok(config.join("mfa").join("authenticator.json"))
}

impl Store {
    /// Opens the file, or starts an empty one (written by [`save`](Self::save)) when it does not exist.
    pub(crate) fn open(path: PathBuf, source: &PassphraseSource) -> Result<Self, Fail> {
        let display = path.display().to_string();
        let text = match read_private(&path)? {
            Some(text) => text,
            None => {
                let passphrase = match source {
                    PassphraseSource::None => None,
                    _ => Some(new_passphrase(source, &display)?),
                };
                return Ok(Store {
                    path,
                    accounts: Accounts::default(),
                    passphrase,
                });
            }
        };
        let repr: FileRepr = serde_json::from_slice(&text)
            .map_err(|e| Fail::msg(format!("{display} is not an authenticator file: {e}")))?;
        if repr.format != FORMAT {
            return Err(Fail::msg(format!(
                "{display} is not an authenticator file of this version (format {:?}, expected {FORMAT:?})",
                repr.format
            )));
        }
        match (repr.accounts, repr.sealed) {
            (Some(accounts), None) => {
                // A passphrase given for a plain file seals it the next time it is written.
                let passphrase = match source {
                    PassphraseSource::None => None,
                    _ => Some(new_passphrase(source, &display)?),
                };
                Ok(Store {
                    path,
                    accounts,
                    passphrase,
                })
            }
            (None, Some(sealed)) => {
                let passphrase = existing_passphrase(source, &display)?;
                let accounts = open_sealed(&sealed, &passphrase, &display)?;
                Ok(Store {
                    path,
                    accounts,
                    passphrase: Some(passphrase),
                })
            }
            _ => Err(Fail::msg(format!(
                "{display} is not an authenticator file: it must hold either \"accounts\" or \"sealed\""
            ))),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the file atomically (a new 0600 file beside it, then renamed over it), sealed when a
    /// passphrase is set.
    pub(crate) fn save(&self) -> Result<(), Fail> {
        // Serialised from references, so that no copy of the accounts is made.
        #[derive(Serialize)]
        struct Plain<'a> {
            format: &'a str,
            accounts: &'a Accounts,
        }
        #[derive(Serialize)]
        struct SealedFile<'a> {
            format: &'a str,
            sealed: &'a Sealed,
        }
        let mut text = Zeroizing::new(Vec::with_capacity(16 * 1024));
        let written = match &self.passphrase {
            None => serde_json::to_writer_pretty(
                &mut *text,
                &Plain {
                    format: FORMAT,
                    accounts: &self.accounts,
                },
            ),
            Some(passphrase) => serde_json::to_writer_pretty(
                &mut *text,
                &SealedFile {
                    format: FORMAT,
                    sealed: &seal(&self.accounts, passphrase)?,
                },
            ),
        };
        written.map_err(|e| Fail::new("cannot write the authenticator file", e))?;
        text.push(b'\n');
        write_atomic(&self.path, &text)
    }
}

/// Reads the file if it exists, refusing one that others may read or write (as ssh does with keys).
fn read_private(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, Fail> {
    let display = path.display();
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Fail::new(&format!("cannot read {display}"), e)),
    };
    let metadata = file
        .metadata()
        .map_err(|e| Fail::new(&format!("cannot read {display}"), e))?;
    if !metadata.is_file() {
        return Err(Fail::msg(format!("{display} is not a regular file")));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Fail::msg(format!(
                "{display} is accessible by others (mode {mode:04o}): it holds private keys and secrets, \
                 so it is not used; run chmod 600 {display}"
            )));
        }
    }
    let mut text = Zeroizing::new(Vec::with_capacity(
        usize::try_from(metadata.len().min(MAX_FILE_BYTES)).unwrap_or(0),
    ));
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| Fail::new(&format!("cannot read {display}"), e))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(Fail::msg(format!(
            "{display} is larger than {MAX_FILE_BYTES} bytes: not an authenticator file"
        )));
    }
    Ok(Some(text))
}

/// A new file beside `path` (mode 0600, created here and nowhere else), written and synced, then
/// renamed over `path`. The directory is created (0700) when missing.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Fail> {
    let display = path.display();
    let context = || format!("cannot write {display}");
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&dir).map_err(|e| Fail::new(&context(), e))?;
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| Fail::msg(format!("{display} is not a file name")))?;
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix).map_err(|e| Fail::new(&context(), e))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".{}.tmp", URL_SAFE_NO_PAD.encode(suffix)));
    let temp = dir.join(temp_name);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = options
        .open(&temp)
        .and_then(|mut file| {
            #[cfg(unix)]
            {
                // The umask may only narrow the mode; this makes it exactly 0600.
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(fs::Permissions::from_mode(0o600))?;
            }
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(Fail::new(&context(), e));
    }
    // The rename itself is made durable with the directory; not every system can sync one.
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn key_from(passphrase: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Result<Zeroizing<[u8; 32]>, Fail> {
    let params = Params::new(m, t, p, Some(32)).map_err(|e| Fail::new("invalid argon2 parameters", e))?;
    let argon = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut key[..])
        .map_err(|e| Fail::new("cannot derive the key from the passphrase", e))?;
    Ok(key)
}

fn seal(accounts: &Accounts, passphrase: &str) -> Result<Sealed, Fail> {
    let fail = |e: &dyn std::fmt::Display| Fail::new("cannot seal the authenticator file", e);
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut salt).map_err(|e| fail(&e))?;
    getrandom::fill(&mut nonce).map_err(|e| fail(&e))?;
    let mut sealed = Sealed {
        kdf: KDF.to_owned(),
        m_cost_kib: M_COST_KIB,
        t_cost: T_COST,
        p_cost: P_COST,
        salt: URL_SAFE_NO_PAD.encode(salt),
        aead: AEAD.to_owned(),
        nonce: URL_SAFE_NO_PAD.encode(nonce),
        ciphertext: String::new(),
    };
    let key = key_from(passphrase, &salt, M_COST_KIB, T_COST, P_COST)?;
    let plain = Zeroizing::new(serde_json::to_vec(accounts).map_err(|e| fail(&e))?);
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    let aad = sealed.associated_data();
    let ciphertext = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &plain,
                aad: &aad,
            },
        )
        .map_err(|_| Fail::msg("cannot seal the authenticator file"))?;
    sealed.ciphertext = URL_SAFE_NO_PAD.encode(ciphertext);
    Ok(sealed)
}

fn open_sealed(sealed: &Sealed, passphrase: &str, display: &str) -> Result<Accounts, Fail> {
    let malformed = |what: &str| {
        Fail::msg(format!(
            "{display} is not a valid sealed authenticator file: {what}"
        ))
    };
    if sealed.kdf != KDF || sealed.aead != AEAD {
        return Err(malformed("unknown kdf or aead"));
    }
    if !(8..=MAX_M_COST_KIB).contains(&sealed.m_cost_kib)
        || !(1..=MAX_T_COST).contains(&sealed.t_cost)
        || !(1..=MAX_P_COST).contains(&sealed.p_cost)
    {
        return Err(malformed("argon2 costs out of range"));
    }
    let salt = URL_SAFE_NO_PAD
        .decode(&sealed.salt)
        .map_err(|_| malformed("salt"))?;
    let nonce: [u8; 24] = URL_SAFE_NO_PAD
        .decode(&sealed.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| malformed("nonce"))?;
    let ciphertext = URL_SAFE_NO_PAD
        .decode(&sealed.ciphertext)
        .map_err(|_| malformed("ciphertext"))?;
    if !(8..=64).contains(&salt.len()) {
        return Err(malformed("salt"));
    }
    let key = key_from(passphrase, &salt, sealed.m_cost_kib, sealed.t_cost, sealed.p_cost)?;
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    let aad = sealed.associated_data();
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| {
                Fail::msg(format!(
                    "wrong passphrase for {display} (or the file was altered): it does not open"
                ))
            })?,
    );
    serde_json::from_slice(&plain).map_err(|_| malformed("the sealed body is not a list of accounts"))
}

/// The passphrase that opens a sealed file: from the environment, or asked on the terminal.
fn existing_passphrase(source: &PassphraseSource, display: &str) -> Result<Zeroizing<String>, Fail> {
    match source {
        PassphraseSource::Env(var) => from_env(var),
        PassphraseSource::Prompt => prompt(&format!("Passphrase for {display}: ")),
        PassphraseSource::None if io::stdin().is_terminal() => prompt(&format!("Passphrase for {display}: ")),
        PassphraseSource::None => Err(Fail::msg(format!(
            "{display} is sealed with a passphrase: give --passphrase-env VAR (or --passphrase in a terminal)"
        ))),
    }
}

/// A passphrase to seal with: from the environment, or asked twice on the terminal.
fn new_passphrase(source: &PassphraseSource, display: &str) -> Result<Zeroizing<String>, Fail> {
    match source {
        PassphraseSource::Env(var) => from_env(var),
        PassphraseSource::Prompt | PassphraseSource::None => {
            let first = prompt(&format!("New passphrase for {display}: "))?;
            let second = prompt("The same passphrase again: ")?;
            if *first != *second {
                return Err(Fail::msg("the two passphrases differ"));
            }
            Ok(first)
        }
    }
}

fn from_env(var: &str) -> Result<Zeroizing<String>, Fail> {
    let value = Zeroizing::new(std::env::var(var).map_err(|_| {
        Fail::msg(format!(
            "--passphrase-env: the environment variable {var} is not set (or not UTF-8)"
        ))
    })?);
    if value.is_empty() {
        return Err(Fail::msg(format!(
            "--passphrase-env: the environment variable {var} is empty"
        )));
    }
    Ok(value)
}

/// Asks on the terminal with its echo off (through `stty`, so no terminal library is needed).
fn prompt(question: &str) -> Result<Zeroizing<String>, Fail> {
    if !io::stdin().is_terminal() {
        return Err(Fail::msg(
            "cannot ask for the passphrase: standard input is not a terminal; use --passphrase-env VAR",
        ));
    }
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !stty("-echo") {
        return Err(Fail::msg(
            "cannot turn the terminal's echo off (stty failed): use --passphrase-env VAR",
        ));
    }
    let _ = write!(io::stderr(), "{question}");
    let _ = io::stderr().flush();
    let mut line = Zeroizing::new(String::with_capacity(MAX_STDIN_LINE as usize));
    let read = io::stdin().lock().take(MAX_STDIN_LINE).read_line(&mut line);
    stty("echo");
    let _ = writeln!(io::stderr());
    read.map_err(|e| Fail::new("cannot read the passphrase", e))?;
    let trimmed = Zeroizing::new(line.trim_end_matches(['\n', '\r']).to_owned());
    if trimmed.is_empty() {
        return Err(Fail::msg("an empty passphrase is not a passphrase"));
    }
    Ok(trimmed)
}
