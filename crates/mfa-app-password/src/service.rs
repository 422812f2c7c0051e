use serde::{Deserialize, Serialize};
use subtle::{Choice, ConstantTimeEq};

use crate::phc::Argon2Hash;
use crate::{
    AppPassword, AppPasswordId, AppPasswordName, AppPasswordRecord, Argon2Params, Error, Format, Hasher,
    Limits, Pepper, Scope, TagKey, normalize,
};

/// The default and customary cap on app passwords per user.
pub const DEFAULT_MAX_PER_USER: usize = 40;

/// Salt of the equalising evaluation that runs when no record is a candidate (its result is discarded).
const DUMMY_SALT: [u8; 16] = *b"mfa-app-password";

/// Everything configurable, serde-friendly for a service's configuration file. Secrets (the [`TagKey`]
/// and [`Pepper`]) are passed separately.
///
/// ```
/// use mfa_app_password::Config;
///
/// let config: Config = serde_json::from_str(r#"{
///     "format": { "length": 16, "group": 4 },
///     "params": { "m_kib": 19456, "t": 2, "p": 1 },
///     "limits": { "max_m_kib": 262144, "max_t": 16, "max_p": 16 },
///     "max_per_user": 40
/// }"#).unwrap();
/// assert_eq!(config, Config::default());
/// assert!(serde_json::from_str::<Config>(r#"{ "format": { "length": 4, "group": 0 } }"#).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// How generated app passwords look (default: 16 letters, groups of 4).
    pub format: Format,
    /// Argon2id parameters of new hashes (default: OWASP's m=19456 KiB, t=2, p=1).
    pub params: Argon2Params,
    /// The most a stored hash may cost to verify.
    pub limits: Limits,
    /// The most app passwords one user may hold (default 40), 1 to 1000.
    pub max_per_user: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            format: Format::default(),
            params: Argon2Params::default(),
            limits: Limits::default(),
            max_per_user: DEFAULT_MAX_PER_USER,
        }
    }
}

/// Optional properties of a new app password.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssueOptions {
    /// What it may be used for (`None`: everything).
    pub scope: Option<Scope>,
    /// When it stops verifying, Unix seconds.
    pub expires_at: Option<u64>,
}

impl IssueOptions {
    /// Restricts the new app password to `scope`.
    #[must_use]
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Lets the new app password expire at `expires_at` (Unix seconds).
    #[must_use]
    pub fn expires_at(mut self, expires_at: u64) -> Self {
        self.expires_at = Some(expires_at);
        self
    }
}

/// A newly issued app password: show `password` once, store `record`.
#[derive(Debug)]
#[non_exhaustive]
pub struct Issued {
    /// The plaintext, to show to the user once.
    pub password: AppPassword,
    /// What to store.
    pub record: AppPasswordRecord,
}

/// A successful verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Match {
    /// Position of the matching record in the slice given to [`AppPasswords::verify`].
    pub index: usize,
    /// Its id.
    pub id: AppPasswordId,
    /// Its hash is below the configured parameters or it has no tag: call [`AppPasswords::refresh`] with
    /// the same typed password and store the record again.
    pub needs_refresh: bool,
}

/// App passwords for a service: issue, verify against all of a user's records at the cost of about one
/// argon2 evaluation, refresh.
///
/// Build it once at start-up from the [`Config`], the [`TagKey`] and optionally a [`Pepper`]; it is cheap
/// to share (`Send + Sync`). See the crate docs for the design.
#[derive(Debug, Clone)]
pub struct AppPasswords {
    hasher: Hasher,
    tag_key: TagKey,
    format: Format,
    max_per_user: usize,
}

impl AppPasswords {
    /// A service with this configuration and tag key.
    pub fn new(config: Config, tag_key: TagKey) -> Result<Self, Error> {
        if !(1..=1000).contains(&config.max_per_user) {
            return Err(Error::InvalidConfig {
                reason: "max_per_user must be 1 to 1000",
            });
        }
        Ok(AppPasswords {
            hasher: Hasher::new(config.params, config.limits)?,
            tag_key,
            format: config.format,
            max_per_user: config.max_per_user,
        })
    }

    /// The same service with a server-side pepper for all hashes it makes and verifies.
    #[must_use]
    pub fn with_pepper(mut self, pepper: Pepper) -> Self {
        self.hasher = self.hasher.with_pepper(pepper);
        self
    }

    /// The single-hash operations with the same parameters, limits and pepper.
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    /// The most app passwords one user may hold.
    pub fn max_per_user(&self) -> usize {
        self.max_per_user
    }

    /// A new app password for a user who holds `existing` app passwords now, named `name`, made at `now`
    /// (Unix seconds). [`Error::TooManyAppPasswords`] at the cap, [`Error::InvalidName`] for a bad name.
    ///
    /// ```
    /// # use mfa_app_password::*;
    /// # let config = Config { params: Argon2Params { m_kib: 256, t: 1, p: 1 }, ..Config::default() };
    /// let service = AppPasswords::new(config, TagKey::generate()?)?;
    /// let now = 1_700_000_000;
    /// let issued = service.issue(3, "Mail app on my iPhone", IssueOptions::default(), now)?;
    /// println!("Your app password: {}", issued.password.expose()); // shown once
    /// let record = issued.record; // stored
    /// assert_eq!(record.name().as_str(), "Mail app on my iPhone");
    ///
    /// assert!(matches!(
    ///     service.issue(40, "one too many", IssueOptions::default(), now),
    ///     Err(Error::TooManyAppPasswords { max: 40 })
    /// ));
    /// # Ok::<(), mfa_app_password::Error>(())
    /// ```
    pub fn issue(
        &self,
        existing: usize,
        name: &str,
        options: IssueOptions,
        now: u64,
    ) -> Result<Issued, Error> {
        if existing >= self.max_per_user {
            return Err(Error::TooManyAppPasswords {
                max: self.max_per_user,
            });
        }
        let name = AppPasswordName::new(name)?;
        let password = AppPassword::generate(self.format)?;
        let id = AppPasswordId::generate()?;
        let mut record = AppPasswordRecord {
            id,
            name,
            created_at: now,
            last_used_at: None,
            expires_at: options.expires_at,
            scope: options.scope,
            hash: String::new(),
            tag: None,
        };
        self.refresh(password.expose(), &mut record)?;
        Ok(Issued { password, record })
    }

    /// A record for a PHC string made elsewhere (another implementation, an earlier system), checked
    /// against the limits, for a user who holds `existing` app passwords now (the cap applies as for
    /// [`issue`](Self::issue)). It has no tag, so it is a candidate at every verification until its
    /// first success and [`refresh`](Self::refresh): the cap also bounds the argon2 evaluations such
    /// untagged records can cost.
    pub fn import(
        &self,
        existing: usize,
        phc: &str,
        name: &str,
        options: IssueOptions,
        now: u64,
    ) -> Result<AppPasswordRecord, Error> {
        if existing >= self.max_per_user {
            return Err(Error::TooManyAppPasswords {
                max: self.max_per_user,
            });
        }
        Argon2Hash::parse(phc, &self.hasher.limits())?;
        Ok(AppPasswordRecord {
            id: AppPasswordId::generate()?,
            name: AppPasswordName::new(name)?,
            created_at: now,
            last_used_at: None,
            expires_at: options.expires_at,
            scope: options.scope,
            hash: phc.to_owned(),
            tag: None,
        })
    }

    /// Checks what the user typed against all of their app passwords at `now`, for `scope` (the protocol
    /// in use, if the service distinguishes them).
    ///
    /// Records that have expired, or whose scope is not `scope`, are skipped. Of the rest, only those
    /// whose tag matches the typed password (and untagged, imported ones) are verified with argon2; when
    /// none is, one equalising argon2 evaluation with the configured parameters runs instead, so a wrong
    /// password costs what a right one costs. Typed text that cannot be an app password at all (see
    /// [`normalize`]) is refused without hashing.
    ///
    /// `Ok(None)` is the one opaque "no". A stored hash that is malformed or above the limits can never
    /// match and is skipped, so one damaged record does not lock the user out of the others (a service
    /// finds such records with [`Argon2Hash::parse`](crate::Argon2Hash::parse)). Untagged records cost
    /// one argon2 evaluation each, so at most the number of records plus one evaluations run.
    ///
    /// ```
    /// # use mfa_app_password::*;
    /// # let config = Config { params: Argon2Params { m_kib: 256, t: 1, p: 1 }, ..Config::default() };
    /// let service = AppPasswords::new(config, TagKey::generate()?)?;
    /// let now = 1_700_000_000;
    /// let mut records = Vec::new();
    /// let mut shown = Vec::new();
    /// for name in ["iPhone mail", "Thunderbird", "Outlook 2013"] {
    ///     let issued = service.issue(records.len(), name, IssueOptions::default(), now)?;
    ///     shown.push(issued.password.expose().to_owned());
    ///     records.push(issued.record);
    /// }
    /// // As typed into a mail client: uppercase, dashes, no spaces all fine.
    /// let typed = shown[1].to_uppercase().replace(' ', "-");
    /// let found = service.verify(&typed, &records, now + 60, None)?.expect("matches");
    /// assert_eq!(found.index, 1);
    /// records[found.index].mark_used(now + 60);
    ///
    /// assert_eq!(service.verify("abcd efgh ijkl mnop", &records, now, None)?, None);
    /// # Ok::<(), mfa_app_password::Error>(())
    /// ```
    pub fn verify(
        &self,
        typed: &str,
        records: &[AppPasswordRecord],
        now: u64,
        scope: Option<&str>,
    ) -> Result<Option<Match>, Error> {
        let Some(password) = normalize(typed) else {
            return Ok(None);
        };
        let mut evaluated = false;
        let mut found = None;
        for (index, record) in records.iter().enumerate() {
            let eligible = !record.is_expired(now)
                && match (&record.scope, scope) {
                    (None, _) => true,
                    (Some(wanted), Some(asked)) => wanted.as_str() == asked,
                    (Some(_), None) => false,
                };
            if !eligible {
                continue;
            }
            let candidate: Choice = match record.tag {
                Some(tag) => self.tag_key.tag(&record.id, &password).ct_eq(&tag),
                None => Choice::from(1),
            };
            if !bool::from(candidate) {
                continue;
            }
            let Ok(stored) = Argon2Hash::parse(&record.hash, &self.hasher.limits()) else {
                continue;
            };
            evaluated = true;
            if self.hasher.verify_parsed(&password, &stored)? {
                found = Some(Match {
                    index,
                    id: record.id,
                    needs_refresh: record.tag.is_none() || self.hasher.parsed_needs_rehash(&stored),
                });
                break;
            }
        }
        if !evaluated {
            // Equalise: a password that picks no candidate costs one argon2 evaluation too.
            self.hasher.hash_normalized(&password, &DUMMY_SALT)?;
        }
        Ok(found)
    }

    /// Gives `record` a new hash of `typed` with the configured parameters and pepper, and a tag. Call it
    /// after a [`Match`] with `needs_refresh`, with the same typed password, then store the record.
    /// [`Error::NotAnAppPassword`] if `typed` is not letters grouped by spaces or dashes.
    pub fn refresh(&self, typed: &str, record: &mut AppPasswordRecord) -> Result<(), Error> {
        let password = normalize(typed).ok_or(Error::NotAnAppPassword)?;
        let mut salt = [0u8; crate::SALT_LEN];
        getrandom::fill(&mut salt).map_err(|_| Error::RandomUnavailable)?;
        record.hash = self.hasher.hash_normalized(&password, &salt)?.to_string();
        record.tag = Some(self.tag_key.tag(&record.id, &password));
        Ok(())
    }
}
