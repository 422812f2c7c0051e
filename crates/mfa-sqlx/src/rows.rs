//! Conversions between the facade's records and column values, shared by both backends.

use core::fmt;

use mfa::store::{PushState, PushStrikes, Tag};
use mfa::{MethodKind, PhoneKind, StoreError, UnixTime};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The user row as a write transaction finds it.
#[derive(Debug)]
pub(crate) struct UserRow {
    /// JSON of the `UserRecord`, if one was written.
    pub(crate) record: Option<String>,
    /// Consecutive failures.
    pub(crate) failures: i64,
    /// Lock end, milliseconds.
    pub(crate) locked_until: Option<i64>,
    /// Strikes in the user's run of unanswered pushes.
    pub(crate) push_strikes: i64,
    /// The run's first strike, milliseconds.
    pub(crate) push_strikes_since: Option<i64>,
}

impl UserRow {
    /// The user's run of unanswered pushes.
    pub(crate) fn strikes(&self) -> Result<PushStrikes, StoreError> {
        strikes_value(self.push_strikes, self.push_strikes_since)
    }

    /// Whether an accepted attempt has a counter to reset.
    pub(crate) fn has_counters(&self) -> bool {
        self.failures != 0
            || self.locked_until.is_some()
            || self.push_strikes != 0
            || self.push_strikes_since.is_some()
    }
}

/// A value that does not fit a column (a time step beyond `i64::MAX`): refused before it is written.
#[derive(Debug)]
pub(crate) struct OutOfRange(pub(crate) &'static str);

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is out of the range the database can store", self.0)
    }
}

impl std::error::Error for OutOfRange {}

/// Maps a database error: unique violations become [`StoreError::Duplicate`], values that do not
/// decode become [`StoreError::Corrupt`], the rest [`StoreError::Backend`].
pub(crate) fn db(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Duplicate,
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
            StoreError::Corrupt(error.to_string())
        }
        _ => StoreError::backend(error),
    }
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

/// Reads a JSON column. The message names the record, not its content (which may hold ciphertext).
pub(crate) fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::Corrupt(format!(
            "{what}: invalid JSON at line {} column {}",
            e.line(),
            e.column()
        ))
    })
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::backend)
}

pub(crate) fn tag(bytes: &[u8], what: &str) -> Result<Tag, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(Tag::from_bytes)
        .map_err(|_| StoreError::Corrupt(format!("{what}: expected 32 bytes, found {}", bytes.len())))
}

pub(crate) fn id16(bytes: &[u8], what: &str) -> Result<[u8; 16], StoreError> {
    <[u8; 16]>::try_from(bytes)
        .map_err(|_| StoreError::Corrupt(format!("{what}: expected 16 bytes, found {}", bytes.len())))
}

pub(crate) fn time(millis: i64) -> UnixTime {
    UnixTime::from_millis(millis)
}

pub(crate) fn step_column(step: u64) -> Result<i64, StoreError> {
    i64::try_from(step).map_err(|_| StoreError::backend(OutOfRange("a TOTP time step")))
}

pub(crate) fn step_value(column: i64) -> Result<u64, StoreError> {
    u64::try_from(column).map_err(|_| corrupt("a negative last_accepted_step"))
}

pub(crate) fn failures_value(column: i64) -> Result<u32, StoreError> {
    u32::try_from(column).map_err(|_| corrupt("a failure count out of range"))
}

pub(crate) fn strikes_value(count: i64, since: Option<i64>) -> Result<PushStrikes, StoreError> {
    Ok(PushStrikes {
        count: u32::try_from(count).map_err(|_| corrupt("a push strike count out of range"))?,
        since: since.map(time),
    })
}

/// The strikes as the `push_strikes` and `push_strikes_since` columns hold them.
pub(crate) fn strikes_columns(strikes: PushStrikes) -> (i64, Option<i64>) {
    (i64::from(strikes.count), strikes.since.map(UnixTime::as_millis))
}

/// The state a push's `state` column names ([`PushState::name`]).
pub(crate) fn push_state(name: &str) -> Result<PushState, StoreError> {
    [
        PushState::Pending,
        PushState::Approved,
        PushState::Denied,
        PushState::Reported,
        PushState::WrongNumber,
    ]
    .into_iter()
    .find(|state| state.name() == name)
    .ok_or_else(|| StoreError::Corrupt(format!("push: unknown state {name:?}")))
}

pub(crate) fn count_value(column: i64) -> Result<usize, StoreError> {
    usize::try_from(column).map_err(|_| corrupt("a negative count"))
}

pub(crate) fn affected(rows: u64) -> Result<usize, StoreError> {
    usize::try_from(rows).map_err(|_| corrupt("a row count out of range"))
}

/// The `kind` column of a method.
pub(crate) fn kind_name(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::AuthenticatorApp => KIND_APP,
        MethodKind::Phone(PhoneKind::Mobile) => "mobile",
        MethodKind::Phone(PhoneKind::Alternate) => "alternate",
        MethodKind::Phone(PhoneKind::Office) => "office",
        MethodKind::PushApp => "push_app",
        MethodKind::Passkey => KIND_PASSKEY,
    }
}

/// The `kind` of authenticator apps.
pub(crate) const KIND_APP: &str = "app";

/// The `kind` of passkeys and security keys.
pub(crate) const KIND_PASSKEY: &str = "passkey";
