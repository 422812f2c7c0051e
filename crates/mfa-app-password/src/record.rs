use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The longest app password name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A random 128-bit identifier of one app password, written as 32 lowercase hexadecimal digits.
///
/// ```
/// use mfa_app_password::AppPasswordId;
///
/// let id: AppPasswordId = "00112233445566778899aabbccddeeff".parse()?;
/// assert_eq!(id.to_string(), "00112233445566778899aabbccddeeff");
/// assert!("0011".parse::<AppPasswordId>().is_err());
/// # Ok::<(), mfa_app_password::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AppPasswordId([u8; 16]);

impl AppPasswordId {
    /// A new random id from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| Error::RandomUnavailable)?;
        Ok(AppPasswordId(bytes))
    }

    /// An id from its 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        AppPasswordId(bytes)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for AppPasswordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for AppPasswordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AppPasswordId({self})")
    }
}

impl FromStr for AppPasswordId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let digits = s.as_bytes();
        if digits.len() != 32 {
            return Err(Error::InvalidId);
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(Error::InvalidId),
        };
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Ok(AppPasswordId(bytes))
    }
}

impl TryFrom<String> for AppPasswordId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<AppPasswordId> for String {
    fn from(id: AppPasswordId) -> String {
        id.to_string()
    }
}

/// The name a user gives an app password ("Mail app on my iPhone"): 1 to 100 characters with at least one
/// visible character, and nothing that renders as nothing or as something else. Checked again when
/// deserialized.
///
/// The rule, from the Unicode Character Database (the `icu_properties` crate's data):
///
/// - refused anywhere in a name: control characters (general category Cc), format characters such as
///   zero-width and text-direction marks or tags (Cf), line and paragraph separators (Zl, Zp), private-use
///   (Co) and unassigned (Cn) code points, every Default_Ignorable_Code_Point (variation selectors, the
///   combining grapheme joiner, ...), and five characters that render blank whatever category a Unicode
///   version gives them: U+115F, U+1160, U+3164, U+FFA0 (Hangul fillers) and U+2800 (braille pattern blank);
/// - required: at least one *visible* character, that is a letter, number, punctuation, symbol or spacing
///   mark (general categories L, N, P, S, Mc) that is not white space. Spaces and accents (Mn, Me) may be
///   in a name but do not count.
///
/// A character assigned in a Unicode version newer than the crate's data counts as unassigned until the
/// data is updated.
///
/// ```
/// use mfa_app_password::AppPasswordName;
///
/// assert_eq!(AppPasswordName::new("Mail app on my iPhone")?.as_str(), "Mail app on my iPhone");
/// assert!(AppPasswordName::new("   ").is_err());
/// assert!(AppPasswordName::new("evil\u{1b}[2J").is_err());
/// assert!(AppPasswordName::new("\u{3164}").is_err()); // Hangul filler: renders as nothing
/// assert!(AppPasswordName::new("Mail\u{E0041}").is_err()); // a tag character
/// assert!(AppPasswordName::new("\u{301}").is_err()); // a lone accent is not visible
/// assert_eq!(AppPasswordName::new("Téléphone de Zoë")?.as_str(), "Téléphone de Zoë");
/// assert!(AppPasswordName::new(&"x".repeat(101)).is_err());
/// # Ok::<(), mfa_app_password::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AppPasswordName(String);

impl AppPasswordName {
    /// A checked name.
    pub fn new(name: &str) -> Result<Self, Error> {
        if name.trim().is_empty() {
            return Err(Error::InvalidName { reason: "empty" });
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(Error::InvalidName {
                reason: "longer than 100 characters",
            });
        }
        if let Some(reason) = name.chars().find_map(crate::name::refusal) {
            return Err(Error::InvalidName { reason });
        }
        if !name.chars().any(crate::name::is_visible) {
            return Err(Error::InvalidName {
                reason: "has no visible character",
            });
        }
        Ok(AppPasswordName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppPasswordName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AppPasswordName {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        AppPasswordName::new(&s)
    }
}

impl From<AppPasswordName> for String {
    fn from(n: AppPasswordName) -> String {
        n.0
    }
}

/// What an app password may be used for, such as `"imap"` or `"smtp"`: 1 to 32 characters of `a-z`,
/// `0-9`, `.`, `_` and `-`. A record with a scope verifies only when the service asks for that scope.
///
/// ```
/// use mfa_app_password::Scope;
///
/// assert_eq!(Scope::new("imap")?.as_str(), "imap");
/// assert!(Scope::new("IMAP").is_err());
/// assert!(Scope::new("").is_err());
/// # Ok::<(), mfa_app_password::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

impl Scope {
    /// A checked scope.
    pub fn new(scope: &str) -> Result<Self, Error> {
        let ok = (1..=32).contains(&scope.len())
            && scope
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'));
        if ok {
            Ok(Scope(scope.to_owned()))
        } else {
            Err(Error::InvalidScope)
        }
    }

    /// The scope.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Scope {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Scope::new(&s)
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.0
    }
}

/// What a service stores for one app password: everything but the plaintext.
///
/// Times are Unix seconds supplied by the caller (the crate never reads a clock). `Debug` leaves out the
/// hash and the tag. Serialized with serde; the hash is a PHC string, the tag a small number.
///
/// ```
/// # use mfa_app_password::*;
/// # let config = Config { params: Argon2Params { m_kib: 256, t: 1, p: 1 }, ..Config::default() };
/// # let service = AppPasswords::new(config, TagKey::generate()?)?;
/// let issued = service.issue(0, "Thunderbird", IssueOptions::default(), 1_700_000_000)?;
/// let mut record = issued.record;
/// record.mark_used(1_700_000_100);
/// assert_eq!(record.last_used_at(), Some(1_700_000_100));
/// let json = serde_json::to_string(&record).unwrap();
/// assert!(!json.contains(&mfa_app_password::normalize(issued.password.expose()).unwrap()[..]));
/// # Ok::<(), mfa_app_password::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppPasswordRecord {
    pub(crate) id: AppPasswordId,
    pub(crate) name: AppPasswordName,
    pub(crate) created_at: u64,
    pub(crate) last_used_at: Option<u64>,
    pub(crate) expires_at: Option<u64>,
    pub(crate) scope: Option<Scope>,
    pub(crate) hash: String,
    pub(crate) tag: Option<u16>,
}

impl AppPasswordRecord {
    /// The id.
    pub fn id(&self) -> AppPasswordId {
        self.id
    }

    /// The name the user gave it.
    pub fn name(&self) -> &AppPasswordName {
        &self.name
    }

    /// When it was made, Unix seconds.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// When it last verified, Unix seconds.
    pub fn last_used_at(&self) -> Option<u64> {
        self.last_used_at
    }

    /// When it stops verifying, Unix seconds (it verifies while `now < expires_at`).
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }

    /// What it may be used for; `None`: everything.
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }

    /// The argon2 PHC string.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Whether it carries a candidate tag. Imported records do not until their first successful
    /// verification and [`AppPasswords::refresh`](crate::AppPasswords::refresh).
    pub fn is_tagged(&self) -> bool {
        self.tag.is_some()
    }

    /// Whether it has expired at `now` (Unix seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_at.is_some_and(|e| now >= e)
    }

    /// Records a successful use at `now` (Unix seconds).
    pub fn mark_used(&mut self, now: u64) {
        self.last_used_at = Some(now);
    }

    /// Gives it a new name.
    pub fn rename(&mut self, name: AppPasswordName) {
        self.name = name;
    }
}

impl fmt::Debug for AppPasswordRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppPasswordRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}
