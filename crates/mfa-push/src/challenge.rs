use std::time::Duration;

use mfa_policy::UnixTime;
use serde::{Deserialize, Serialize};

use crate::check::{b64, b64_fixed, display_text, json, required, to_json, version};
use crate::encoding::{Canonical, tag};
use crate::keys::Signature;
use crate::{
    AnswerResult, ChallengeId, Decision, DeviceId, Digits, Error, MatchNumber, PROTOCOL_VERSION,
    REQUEST_WINDOW, ServiceKey, ServicePublicKey, VerifiedAnswer,
};

/// How long a challenge can be answered by default: 120 seconds.
pub const DEFAULT_CHALLENGE_TTL: Duration = Duration::from_secs(120);
/// The shortest lifetime a challenge may have: 30 seconds.
pub const MIN_CHALLENGE_TTL: Duration = Duration::from_secs(30);
/// The longest lifetime a challenge may have: 10 minutes.
pub const MAX_CHALLENGE_TTL: Duration = Duration::from_secs(600);
/// The longest user label, in bytes of UTF-8.
pub const MAX_USER_LEN: usize = 128;
/// The longest application name, in bytes of UTF-8.
pub const MAX_APPLICATION_LEN: usize = 64;
/// The longest client address text, in bytes of UTF-8.
pub const MAX_CLIENT_IP_LEN: usize = 64;
/// The longest location text, in bytes of UTF-8.
pub const MAX_LOCATION_LEN: usize = 128;

/// Who asks to sign in, as the device shows it: the account, the application, and where the request
/// comes from. All display text (no control or bidirectional formatting characters).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Requester {
    /// The account signing in ("alice@example.com"): 1 to [`MAX_USER_LEN`] bytes.
    pub user: String,
    /// The application asking ("Example Mail"): 1 to [`MAX_APPLICATION_LEN`] bytes.
    pub application: String,
    /// The client's IP address as text ("203.0.113.7"), or empty when unknown: at most
    /// [`MAX_CLIENT_IP_LEN`] bytes.
    pub client_ip: String,
    /// Where the client seems to be ("Paris, France"), or empty: at most [`MAX_LOCATION_LEN`] bytes.
    pub location: String,
}

/// A sign-in challenge: what the device shows under "Approve sign-in?" (PROTOCOL.md, "Challenge").
///
/// The service makes it when a sign-in chooses push, stores it (serialisable) with its
/// [`MatchNumber`] and state, signs it for the device on every fetch ([`sign`](Self::sign)), and checks
/// the device's answer against it with [`check_answer`](Self::check_answer). The number is not part
/// of it: the device never receives it.
///
/// ```
/// use mfa_push::{Challenge, ChallengeId, DeviceId, Digits, Requester, UnixTime, DEFAULT_CHALLENGE_TTL};
///
/// let now = UnixTime::from_secs(1_700_000_000);
/// let requester = Requester {
///     user: "alice@example.com".into(),
///     application: "Example Mail".into(),
///     client_ip: "203.0.113.7".into(),
///     location: "Paris, France".into(),
/// };
/// let challenge = Challenge::new(ChallengeId::generate()?, DeviceId::new("dev-1")?, requester, now, DEFAULT_CHALLENGE_TTL, Digits::Two)?;
/// assert_eq!(challenge.expires_at(), UnixTime::from_secs(1_700_000_120));
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ChallengeRepr", into = "ChallengeRepr")]
pub struct Challenge {
    id: ChallengeId,
    device_id: DeviceId,
    requester: Requester,
    created_at: i64,
    expires_at: i64,
    digits: Digits,
}

/// The members of a challenge, in JSON (with the signature) and in a store (without).
#[derive(Serialize, Deserialize)]
struct ChallengeRepr {
    challenge_id: Option<String>,
    device_id: Option<String>,
    user: Option<String>,
    application: Option<String>,
    client_ip: Option<String>,
    location: Option<String>,
    created_at: Option<i64>,
    expires_at: Option<i64>,
    digits: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

impl TryFrom<ChallengeRepr> for Challenge {
    type Error = Error;
    fn try_from(r: ChallengeRepr) -> Result<Self, Error> {
        let challenge = Challenge {
            id: ChallengeId::new(&required(r.challenge_id, "challenge_id")?)?,
            device_id: DeviceId::new(&required(r.device_id, "device_id")?)?,
            requester: Requester {
                user: required(r.user, "user")?,
                application: required(r.application, "application")?,
                client_ip: required(r.client_ip, "client_ip")?,
                location: required(r.location, "location")?,
            },
            created_at: required(r.created_at, "created_at")?,
            expires_at: required(r.expires_at, "expires_at")?,
            digits: Digits::try_from(required(r.digits, "digits")?)?,
        };
        challenge.check()?;
        Ok(challenge)
    }
}

impl From<Challenge> for ChallengeRepr {
    fn from(c: Challenge) -> Self {
        ChallengeRepr {
            challenge_id: Some(c.id.into()),
            device_id: Some(c.device_id.into()),
            user: Some(c.requester.user),
            application: Some(c.requester.application),
            client_ip: Some(c.requester.client_ip),
            location: Some(c.requester.location),
            created_at: Some(c.created_at),
            expires_at: Some(c.expires_at),
            digits: Some(c.digits.into()),
            signature: None,
        }
    }
}

impl Challenge {
    /// A challenge for the device `device_id`, created `now`, answerable for `ttl` (whole seconds,
    /// [`MIN_CHALLENGE_TTL`] to [`MAX_CHALLENGE_TTL`]), with a number of `digits` digits.
    pub fn new(
        id: ChallengeId,
        device_id: DeviceId,
        requester: Requester,
        now: UnixTime,
        ttl: Duration,
        digits: Digits,
    ) -> Result<Self, Error> {
        if !(MIN_CHALLENGE_TTL..=MAX_CHALLENGE_TTL).contains(&ttl) {
            return Err(Error::Malformed {
                what: "challenge lifetime",
                reason: "must be 30 to 600 seconds",
            });
        }
        let created_at = now.as_secs();
        let challenge = Challenge {
            id,
            device_id,
            requester,
            created_at,
            expires_at: created_at.saturating_add(ttl.as_secs() as i64),
            digits,
        };
        challenge.check()?;
        Ok(challenge)
    }

    fn check(&self) -> Result<(), Error> {
        let r = &self.requester;
        display_text(&r.user, "user", MAX_USER_LEN, false)?;
        display_text(&r.application, "application", MAX_APPLICATION_LEN, false)?;
        display_text(&r.client_ip, "client_ip", MAX_CLIENT_IP_LEN, true)?;
        display_text(&r.location, "location", MAX_LOCATION_LEN, true)?;
        let ttl = i128::from(self.expires_at) - i128::from(self.created_at);
        if ttl <= 0 || ttl > i128::from(MAX_CHALLENGE_TTL.as_secs()) {
            return Err(Error::Malformed {
                what: "expires_at",
                reason: "must be after created_at, by at most 600 seconds",
            });
        }
        Ok(())
    }

    /// Its id.
    pub fn id(&self) -> &ChallengeId {
        &self.id
    }

    /// The device it is for.
    pub fn device_id(&self) -> &DeviceId {
        &self.device_id
    }

    /// Who asks.
    pub fn requester(&self) -> &Requester {
        &self.requester
    }

    /// When it was made (whole seconds).
    pub fn created_at(&self) -> UnixTime {
        UnixTime::from_secs(self.created_at)
    }

    /// The last second it can be answered.
    pub fn expires_at(&self) -> UnixTime {
        UnixTime::from_secs(self.expires_at)
    }

    /// How many digits the device asks for.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    /// Whether `now` is past its expiry.
    pub fn is_expired(&self, now: UnixTime) -> bool {
        now.as_secs() > self.expires_at
    }

    /// The signed bytes: the tag `mfa-push/v1/challenge`, then challenge id, device id, user,
    /// application, client IP, location, created at, expires at and digits.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let r = &self.requester;
        Canonical::new(tag::CHALLENGE)
            .text(self.id.as_str())
            .text(self.device_id.as_str())
            .text(&r.user)
            .text(&r.application)
            .text(&r.client_ip)
            .text(&r.location)
            .int(self.created_at)
            .int(self.expires_at)
            .int(self.digits.into())
            .finish()
    }

    /// The challenge signed with the service key, as the device receives it.
    pub fn sign(&self, service_key: &ServiceKey) -> SignedChallenge {
        SignedChallenge {
            signature: service_key.sign(&self.canonical_bytes()),
            challenge: self.clone(),
        }
    }

    /// The outcome of a verified answer, for the service: it must name this challenge and come from its
    /// device ([`Error::WrongRecipient`]) before the expiry ([`Error::ChallengeExpired`]); an approval
    /// carries the number shown on the sign-in page, compared in constant time, or it is
    /// [`AnswerResult::WrongNumber`].
    ///
    /// The service records the outcome and ends the challenge in the same transaction, so it is
    /// answered at most once; a wrong number counts as a failed verification.
    ///
    /// ```
    /// # use mfa_push::*;
    /// # let now = UnixTime::from_secs(1_700_000_000);
    /// # let requester = Requester { user: "alice".into(), application: "Mail".into(), ..Default::default() };
    /// let key = DeviceKey::generate(Algorithm::EcdsaP256)?;
    /// let device = DeviceId::new("dev-1")?;
    /// let challenge = Challenge::new(ChallengeId::new("c1")?, device.clone(), requester, now, DEFAULT_CHALLENGE_TTL, Digits::Two)?;
    /// let number: MatchNumber = "42".parse()?;
    ///
    /// let request = AnswerRequest::sign(&key, &device, challenge.id(), Decision::Approve("42".parse()?), now)?;
    /// let verified = AnswerRequest::from_json(request.to_json().as_bytes())?.verify(&key.public_key(), now)?;
    /// assert_eq!(challenge.check_answer(&number, &verified, now)?, AnswerResult::Approved);
    /// let late = UnixTime::from_secs(1_700_000_121);
    /// assert_eq!(challenge.check_answer(&number, &verified, late), Err(Error::ChallengeExpired));
    /// # Ok::<(), mfa_push::Error>(())
    /// ```
    pub fn check_answer(
        &self,
        number: &MatchNumber,
        answer: &VerifiedAnswer,
        now: UnixTime,
    ) -> Result<AnswerResult, Error> {
        if answer.challenge_id() != &self.id || answer.device_id() != &self.device_id {
            return Err(Error::WrongRecipient { what: "answer" });
        }
        if self.is_expired(now) {
            return Err(Error::ChallengeExpired);
        }
        Ok(match answer.decision() {
            Decision::Approve(typed) if number.matches(typed) => AnswerResult::Approved,
            Decision::Approve(_) => AnswerResult::WrongNumber,
            Decision::Deny => AnswerResult::Denied,
            Decision::Report => AnswerResult::Reported,
        })
    }
}

/// A challenge with the service's signature, one item of the `pending` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedChallenge {
    challenge: Challenge,
    signature: Signature,
}

impl SignedChallenge {
    /// What the device checks before it shows anything, in this order: the signature with the service
    /// key it pinned at enrollment ([`Error::BadSignature`]), that the challenge is for this device
    /// ([`Error::WrongRecipient`]), not created more than [`REQUEST_WINDOW`] ahead of the device's
    /// clock ([`Error::ClockSkew`]) and not expired by it ([`Error::ChallengeExpired`]).
    pub fn verify(
        &self,
        service_key: &ServicePublicKey,
        device_id: &DeviceId,
        now: UnixTime,
    ) -> Result<&Challenge, Error> {
        service_key.verify(&self.challenge.canonical_bytes(), &self.signature)?;
        if &self.challenge.device_id != device_id {
            return Err(Error::WrongRecipient { what: "challenge" });
        }
        if i128::from(self.challenge.created_at)
            > i128::from(now.as_secs()) + i128::from(REQUEST_WINDOW.as_secs())
        {
            return Err(Error::ClockSkew);
        }
        if self.challenge.is_expired(now) {
            return Err(Error::ChallengeExpired);
        }
        Ok(&self.challenge)
    }

    /// The challenge, unchecked until [`verify`](Self::verify).
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// The signature (64 bytes).
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    fn to_wire(&self) -> ChallengeRepr {
        ChallengeRepr {
            signature: Some(b64(&self.signature)),
            ..self.challenge.clone().into()
        }
    }

    fn from_wire(mut w: ChallengeRepr) -> Result<Self, Error> {
        let signature = b64_fixed(&required(w.signature.take(), "signature")?, "signature")?;
        Ok(SignedChallenge {
            challenge: w.try_into()?,
            signature,
        })
    }
}

/// The reply to a fetch (`200`): the service's clock and the device's pending challenges, each signed.
///
/// ```
/// use mfa_push::{PendingChallenges, UnixTime};
///
/// let empty = PendingChallenges::new(UnixTime::from_secs(1_700_000_000), Vec::new());
/// assert_eq!(empty.to_json(), r#"{"v":1,"server_time":1700000000,"challenges":[]}"#);
/// assert_eq!(PendingChallenges::from_json(empty.to_json().as_bytes())?, empty);
/// # Ok::<(), mfa_push::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChallenges {
    server_time: i64,
    challenges: Vec<SignedChallenge>,
}

#[derive(Serialize, Deserialize)]
struct PendingWire {
    v: Option<i64>,
    server_time: Option<i64>,
    challenges: Option<Vec<ChallengeRepr>>,
}

impl PendingChallenges {
    /// The reply at `server_time` with these challenges.
    pub fn new(server_time: UnixTime, challenges: Vec<SignedChallenge>) -> Self {
        PendingChallenges {
            server_time: server_time.as_secs(),
            challenges,
        }
    }

    /// The service's clock when it replied.
    pub fn server_time(&self) -> UnixTime {
        UnixTime::from_secs(self.server_time)
    }

    /// The challenges, each to [`verify`](SignedChallenge::verify).
    pub fn challenges(&self) -> &[SignedChallenge] {
        &self.challenges
    }

    /// The reply's body.
    pub fn to_json(&self) -> String {
        to_json(&PendingWire {
            v: Some(i64::from(PROTOCOL_VERSION)),
            server_time: Some(self.server_time),
            challenges: Some(self.challenges.iter().map(SignedChallenge::to_wire).collect()),
        })
    }

    /// Reads the reply.
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        let w: PendingWire = json(body, "pending challenges")?;
        version(w.v)?;
        Ok(PendingChallenges {
            server_time: required(w.server_time, "server_time")?,
            challenges: required(w.challenges, "challenges")?
                .into_iter()
                .map(SignedChallenge::from_wire)
                .collect::<Result<_, _>>()?,
        })
    }
}
