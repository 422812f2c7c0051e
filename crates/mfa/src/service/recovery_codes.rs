//! Recovery codes: generating a set, redeeming one in place of a second factor, counting those left.

use mfa_policy::{SensitiveAction, UnixTime};
use zeroize::Zeroizing;

use super::Mfa;
use crate::ids::random_bytes;
use crate::outcome::{RecoveryCodes, Verified};
use crate::{
    AttemptTarget, Consume, Error, EventKind, Factor, LoadedCredential, PhoneDelivery, Store, UserId, Verdict,
};

/// Crockford's base32 alphabet (no i, l, o, u), lowercase: the symbols of recovery codes.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
    /// Generates a new set of recovery codes (step-up), replacing the old set. Show them once.
    pub async fn generate_recovery_codes(
        &self,
        user: &UserId,
        last_mfa_at: Option<UnixTime>,
    ) -> Result<RecoveryCodes, Error> {
        let now = self.now();
        let (record, methods) = self.user_and_methods(user).await?;
        Self::require_a_method(&methods)?;
        self.step_up(
            &record,
            &methods,
            SensitiveAction::GenerateRecoveryCodes,
            last_mfa_at,
            now,
        )?;
        let mut codes = Vec::with_capacity(self.config.recovery_codes);
        let mut tags = Vec::with_capacity(self.config.recovery_codes);
        for _ in 0..self.config.recovery_codes {
            let code = random_recovery_code()?;
            tags.push(self.tags.recovery_code(user, &normalize_recovery_code(&code)?));
            codes.push(code);
        }
        self.store.replace_recovery_codes(user, tags).await?;
        self.emit(
            user,
            now,
            EventKind::RecoveryCodesGenerated { count: codes.len() },
        );
        Ok(RecoveryCodes(codes))
    }

    /// Redeems a recovery code in place of a second factor: single use, counted toward the lock like
    /// any verification. The proof tells how many codes are left.
    pub async fn redeem_recovery_code(&self, user: &UserId, code: &str) -> Result<Verified, Error> {
        let normalized = normalize_recovery_code(code)?;
        let now = self.now();
        let tag = self.tags.recovery_code(user, &normalized);
        let attempt = self
            .store
            .attempt(
                user,
                AttemptTarget::RecoveryCode(&tag),
                now,
                &self.config.throttle,
                |loaded| {
                    if let Err(error) = Self::check_prompts_allowed(loaded.user) {
                        return (Verdict::Abort, Err(error));
                    }
                    match loaded.credential {
                        LoadedCredential::RecoveryCode { found: true, left } => {
                            (Verdict::Accept(Consume::RecoveryCode), Ok(left.saturating_sub(1)))
                        }
                        _ => (Verdict::Reject, Err(Error::Rejected)),
                    }
                },
            )
            .await?;
        let remaining = self.settle(user, now, Factor::RecoveryCode, attempt)?;
        self.emit(user, now, EventKind::RecoveryCodeUsed { remaining });
        Ok(self.succeeded(user, now, Factor::RecoveryCode, None, Some(remaining)))
    }

    /// How many recovery codes the user has left.
    pub async fn recovery_codes_left(&self, user: &UserId) -> Result<usize, Error> {
        Ok(self.store.recovery_codes_left(user).await?)
    }
}

/// 80 random bits as 16 Crockford base32 symbols in groups of four.
fn random_recovery_code() -> Result<Zeroizing<String>, Error> {
    let bytes = Zeroizing::new(random_bytes::<10>()?);
    let mut bits = Zeroizing::new(0u128);
    for b in bytes.iter() {
        *bits = (*bits << 8) | u128::from(*b);
    }
    let mut code = Zeroizing::new(String::with_capacity(19));
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        let symbol = ((*bits >> (75 - 5 * i)) & 31) as usize;
        code.push(char::from(RECOVERY_ALPHABET[symbol]));
    }
    Ok(code)
}

/// The canonical form of a typed recovery code: 16 lowercase symbols, no separators.
pub(crate) fn normalize_recovery_code(typed: &str) -> Result<Zeroizing<String>, Error> {
    let mut out = Zeroizing::new(String::with_capacity(16));
    for c in typed.trim().chars() {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' => continue,
            'i' | 'l' => '1',
            'o' => '0',
            c if c.is_ascii() && RECOVERY_ALPHABET.contains(&(c as u8)) => c,
            _ => {
                return Err(Error::InvalidCode {
                    reason: "a recovery code has 16 letters and digits",
                });
            }
        };
        if out.len() == 16 {
            return Err(Error::InvalidCode {
                reason: "a recovery code has 16 letters and digits",
            });
        }
        out.push(c);
    }
    if out.len() != 16 {
        return Err(Error::InvalidCode {
            reason: "a recovery code has 16 letters and digits",
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_have_80_bits_in_groups_of_four() {
        let code = random_recovery_code().unwrap();
        assert_eq!(code.len(), 19);
        assert_eq!(code.matches('-').count(), 3);
        assert_eq!(normalize_recovery_code(&code).unwrap().len(), 16);
        assert_eq!(
            normalize_recovery_code(" 7KQ2 MZ8D-0HXA-VE4R ").unwrap().as_str(),
            "7kq2mz8d0hxave4r"
        );
        assert_eq!(
            normalize_recovery_code("ilo0-0000-0000-0000").unwrap().as_str(),
            "1100000000000000"
        );
        assert!(normalize_recovery_code("u000-0000-0000-0000").is_err());
        assert!(normalize_recovery_code("0000-0000-0000-00000").is_err());
        assert!(normalize_recovery_code("0000-0000-0000").is_err());
        assert!(normalize_recovery_code("0000-0000-0000-000é").is_err());
    }
}
