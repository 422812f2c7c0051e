//! [`AnyStore`]: the SQL store a URL names, chosen at run time, as one type.

use mfa::store::{
    Attempt, AttemptTarget, DeviceRecord, KeyCheck, Loaded, MethodRecord, PasskeyChallenge,
    PendingEnrollment, PhoneChallenge, PhoneSend, PushAnswered, PushChallenge, PushFatigue, PushStart,
    PushState, SealedSecret, Tag, ThrottleState, Verdict,
};
use mfa::{
    AppPasswordId, AppPasswordRecord, DeviceId, MethodId, PhoneNumber, SendLimit, Store, StoreError,
    ThrottleRule, UnixTime, UserId, UserRecord,
};

#[cfg(feature = "postgres")]
use crate::PgStore;
#[cfg(feature = "sqlite")]
use crate::SqliteStore;

/// `dispatch!(self, store => expr)`: `expr` with `store` bound to the wrapped store, whichever it is.
/// A new backend is one more arm here.
macro_rules! dispatch {
    ($any:expr, $store:ident => $body:expr) => {
        match $any {
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite($store) => $body,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres($store) => $body,
        }
    };
}

/// Forwards Store methods without type parameters: one line per method, `fn name(args) -> Ok type;`.
macro_rules! forward {
    ($( fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $out:ty; )*) => {
        $(
            async fn $name(&self $(, $arg: $ty)*) -> Result<$out, StoreError> {
                dispatch!(self, store => store.$name($($arg),*).await)
            }
        )*
    };
}

/// Why [`AnyStore::connect`] could not give a store. The URL itself is never quoted (it may hold a
/// password); the scheme is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The text has no `scheme:` at its start.
    #[error("not a database URL: expected `sqlite://PATH`, `sqlite::memory:` or `postgres://...`")]
    NotAUrl,
    /// A scheme this crate has no store for.
    #[error("unknown database URL scheme `{scheme}`: expected `sqlite` or `postgres` (or `postgresql`)")]
    UnknownScheme {
        /// The scheme as given (at most 32 characters of it).
        scheme: String,
    },
    /// A scheme whose store this build leaves out.
    #[error("`{scheme}` URLs need mfa-sqlx's `{feature}` feature, which this build does not enable")]
    FeatureDisabled {
        /// `sqlite` or `postgres`.
        scheme: &'static str,
        /// The feature to enable.
        feature: &'static str,
    },
    /// A URL of a known scheme with something this constructor does not take.
    #[error("unsupported database URL: {reason}")]
    Unsupported {
        /// What is wrong.
        reason: &'static str,
    },
    /// Connecting, opening the file or running the migrations failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A [`Store`] chosen at run time: [`SqliteStore`] or [`PgStore`] behind one type, for a host that
/// reads its database from configuration. `Mfa<AnyStore, _>` is then one type whatever the
/// deployment uses.
///
/// [`connect`](Self::connect) picks the backend by the URL's scheme and runs the migrations;
/// [`From`] wraps a store you built yourself. Each operation goes to the wrapped store unchanged, so
/// every guarantee of that store holds (the conformance suite runs on both through this type).
///
/// ```
/// use mfa::{Store, UserId};
/// use mfa_sqlx::{AnyStore, ConnectError};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// // From configuration: "sqlite:///var/lib/example/mfa.sqlite3", "postgres://mfa@db/app", ...
/// let url = "sqlite::memory:";
/// let store = AnyStore::connect(url).await?;
/// assert!(matches!(store, AnyStore::Sqlite(_)));
/// assert!(store.get_user(&UserId::new("user-7")?).await?.is_none());
///
/// let error = AnyStore::connect("mysql://db/app").await.unwrap_err();
/// assert!(matches!(error, ConnectError::UnknownScheme { ref scheme } if scheme == "mysql"));
/// assert_eq!(
///     error.to_string(),
///     "unknown database URL scheme `mysql`: expected `sqlite` or `postgres` (or `postgresql`)"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyStore {
    /// A SQLite database (file or memory).
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    Postgres(PgStore),
}

impl AnyStore {
    /// Connects to the database `url` names, and creates or upgrades its tables (the store's
    /// `migrate`, safe at every start):
    ///
    /// | URL | store |
    /// |---|---|
    /// | `sqlite://data/mfa.sqlite3` (relative), `sqlite:///var/lib/mfa.sqlite3` (absolute), `sqlite:PATH` | [`SqliteStore::open`]: created if missing, WAL |
    /// | `sqlite::memory:`, `sqlite://:memory:` | [`SqliteStore::in_memory`] |
    /// | `postgres://...`, `postgresql://...` | [`PgStore::connect`] (the URL goes to sqlx as is: host, user, password, database, `sslmode`, `options`) |
    ///
    /// SQLite URLs take no `?` parameters (the store sets its own; build a pool and use
    /// [`SqliteStore::from_pool`] for others). A scheme is compared without regard to case.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let (scheme, rest) = url.trim().split_once(':').ok_or(ConnectError::NotAUrl)?;
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return Err(ConnectError::NotAUrl);
        }
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Self::sqlite(rest).await,
            "postgres" | "postgresql" => Self::postgres(url.trim()).await,
            _ => Err(ConnectError::UnknownScheme {
                scheme: scheme.chars().take(32).collect(),
            }),
        }
    }

    #[cfg(feature = "sqlite")]
    async fn sqlite(rest: &str) -> Result<Self, ConnectError> {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.contains('?') || path.contains('#') {
            return Err(ConnectError::Unsupported {
                reason: "SQLite URLs take no `?` parameters; build a pool and use SqliteStore::from_pool",
            });
        }
        if path.is_empty() {
            return Err(ConnectError::Unsupported {
                reason: "a SQLite URL needs a file path or `:memory:`",
            });
        }
        let store = if path == ":memory:" {
            SqliteStore::in_memory().await?
        } else {
            let store = SqliteStore::open(path).await?;
            store.migrate().await?;
            store
        };
        Ok(AnyStore::Sqlite(store))
    }

    #[cfg(not(feature = "sqlite"))]
    async fn sqlite(_rest: &str) -> Result<Self, ConnectError> {
        Err(ConnectError::FeatureDisabled {
            scheme: "sqlite",
            feature: "sqlite",
        })
    }

    #[cfg(feature = "postgres")]
    async fn postgres(url: &str) -> Result<Self, ConnectError> {
        let store = PgStore::connect(url).await?;
        store.migrate().await?;
        Ok(AnyStore::Postgres(store))
    }

    #[cfg(not(feature = "postgres"))]
    async fn postgres(_url: &str) -> Result<Self, ConnectError> {
        Err(ConnectError::FeatureDisabled {
            scheme: "postgres",
            feature: "postgres",
        })
    }

    /// Creates or upgrades the tables of the wrapped store (what [`connect`](Self::connect) did
    /// already; for a store wrapped with [`From`]).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        dispatch!(self, store => store.migrate().await)
    }
}

#[cfg(feature = "sqlite")]
impl From<SqliteStore> for AnyStore {
    fn from(store: SqliteStore) -> Self {
        AnyStore::Sqlite(store)
    }
}

#[cfg(feature = "postgres")]
impl From<PgStore> for AnyStore {
    fn from(store: PgStore) -> Self {
        AnyStore::Postgres(store)
    }
}

impl Store for AnyStore {
    forward! {
        fn get_user(&self, user: &UserId) -> Option<UserRecord>;
        fn delete_user(&self, user: &UserId) -> ();
        fn list_methods(&self, user: &UserId) -> Vec<MethodRecord>;
        fn get_user_and_methods(&self, user: &UserId) -> (Option<UserRecord>, Vec<MethodRecord>);
        fn insert_method_capped(&self, user: &UserId, method: MethodRecord, cap: usize) -> bool;
        fn remove_method(&self, user: &UserId, method: MethodId) -> Option<MethodRecord>;
        fn remove_all_methods(&self, user: &UserId) -> usize;
        fn rename_method(&self, user: &UserId, method: MethodId, name: String) -> bool;
        fn update_app_secret(&self, user: &UserId, method: MethodId, secret: SealedSecret) -> bool;
        fn put_pending(&self, user: &UserId, pending: PendingEnrollment) -> ();
        fn get_pending(&self, user: &UserId) -> Option<PendingEnrollment>;
        fn take_pending(&self, user: &UserId, method: MethodId) -> Option<PendingEnrollment>;
        fn update_pending_secret(&self, user: &UserId, method: MethodId, secret: SealedSecret) -> bool;
        fn clear_pending(&self, user: &UserId) -> bool;
        fn throttle_state(&self, user: &UserId) -> ThrottleState;
        fn put_phone_challenge(&self, user: &UserId, challenge: PhoneChallenge) -> ();
        fn record_phone_send(&self, user: &UserId, number: &PhoneNumber, now: UnixTime, limit: &SendLimit) -> PhoneSend;
        fn find_push_device(&self, device: &mfa_push::DeviceId) -> Option<(UserId, MethodRecord)>;
        fn take_push_enrollment(&self, enrollment: &mfa_push::EnrollmentId) -> Option<(UserId, PendingEnrollment)>;
        fn start_push(&self, user: &UserId, push: PushChallenge, now: UnixTime, fatigue: &PushFatigue) -> PushStart;
        fn get_push(&self, user: &UserId) -> Option<PushChallenge>;
        fn answer_push(&self, user: &UserId, challenge: &mfa_push::ChallengeId, state: PushState, now: UnixTime, rule: &ThrottleRule, fatigue: &PushFatigue) -> Option<PushAnswered>;
        fn remember_push_nonce(&self, key: &mfa_push::ReplayKey, now: UnixTime) -> bool;
        fn put_passkey_challenge(&self, user: &UserId, challenge: PasskeyChallenge) -> ();
        fn replace_recovery_codes(&self, user: &UserId, tags: Vec<Tag>) -> ();
        fn recovery_codes_left(&self, user: &UserId) -> usize;
        fn insert_app_password_capped(&self, user: &UserId, record: AppPasswordRecord, cap: usize) -> bool;
        fn list_app_passwords(&self, user: &UserId) -> Vec<AppPasswordRecord>;
        fn update_app_password(&self, user: &UserId, record: AppPasswordRecord) -> bool;
        fn delete_app_password(&self, user: &UserId, id: AppPasswordId) -> bool;
        fn delete_all_app_passwords(&self, user: &UserId) -> usize;
        fn insert_device_capped(&self, user: &UserId, device: DeviceRecord, cap: usize) -> Vec<DeviceId>;
        fn find_device(&self, user: &UserId, token_hash: &Tag) -> Option<DeviceRecord>;
        fn touch_device(&self, user: &UserId, device: DeviceId, now: UnixTime) -> bool;
        fn list_devices(&self, user: &UserId) -> Vec<DeviceRecord>;
        fn forget_device(&self, user: &UserId, device: DeviceId) -> bool;
        fn forget_all_devices(&self, user: &UserId) -> usize;
        fn key_checks(&self) -> Vec<KeyCheck>;
        fn record_key_checks(&self, checks: Vec<KeyCheck>) -> Vec<KeyCheck>;
    }

    // The two generic methods, by hand.

    async fn update_user<F>(&self, user: &UserId, change: F) -> Result<UserRecord, StoreError>
    where
        F: FnOnce(&mut UserRecord) + Send,
    {
        dispatch!(self, store => store.update_user(user, change).await)
    }

    async fn attempt<F, T>(
        &self,
        user: &UserId,
        target: AttemptTarget<'_>,
        now: UnixTime,
        rule: &ThrottleRule,
        check: F,
    ) -> Result<Attempt<T>, StoreError>
    where
        F: FnOnce(Loaded<'_>) -> (Verdict, T) + Send,
        T: Send,
    {
        dispatch!(self, store => store.attempt(user, target, now, rule, check).await)
    }
}
