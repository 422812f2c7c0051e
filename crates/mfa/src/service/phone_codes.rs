//! Sending a one-time code to a phone (registration and sign-in): the send limit, the stored
//! challenge, the message.

use mfa_policy::UnixTime;

use super::Mfa;
use crate::ids::random_bytes;
use crate::outcome::CodeSent;
use crate::{
    Channel, Error, EventKind, MessagePurpose, MethodId, PhoneChallenge, PhoneDelivery, PhoneMessage,
    PhoneNumber, PhoneSend, Store, UserId,
};

impl<S: Store, P: PhoneDelivery> Mfa<S, P> {
    pub(super) async fn send_code(
        &self,
        user: &UserId,
        method: MethodId,
        number: &PhoneNumber,
        channel: Channel,
        purpose: MessagePurpose,
        now: UnixTime,
    ) -> Result<CodeSent, Error> {
        let send = self
            .store
            .record_phone_send(user, number, now, &self.config.phone_sends)
            .await?;
        if let PhoneSend::Limited { until } = send {
            return Err(Error::ResendLimited { until });
        }
        let code = random_digits(self.config.phone_code_digits)?;
        let ttl = self.config.phone_code_ttl;
        let expires_at = now.saturating_add(ttl);
        let challenge = PhoneChallenge {
            method,
            channel,
            tag: self.tags.phone_code(user, method, &code),
            created_at: now,
            expires_at,
        };
        self.store.put_phone_challenge(user, challenge).await?;
        let message = PhoneMessage::new(&self.config.issuer, &code, purpose, ttl.as_secs());
        let message_id = self.delivery.send(number, channel, &message).await?;
        self.emit(
            user,
            now,
            EventKind::ChallengeSent {
                method,
                channel,
                message_id: message_id.clone(),
            },
        );
        Ok(CodeSent {
            method,
            channel,
            masked_number: number.masked(),
            expires_at,
            message_id,
        })
    }
}

/// `digits` decimal digits from the OS CSPRNG, without modulo bias (rejection sampling).
fn random_digits(digits: u8) -> Result<String, Error> {
    let modulus = 10u32.pow(u32::from(digits));
    let limit = u32::MAX - (u32::MAX % modulus);
    loop {
        let value = u32::from_be_bytes(random_bytes::<4>()?);
        if value < limit {
            return Ok(format!(
                "{:0width$}",
                value % modulus,
                width = usize::from(digits)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_digits_are_zero_padded_and_uniform_enough() {
        let mut counts = [0u32; 10];
        for _ in 0..2000 {
            let code = random_digits(6).unwrap();
            assert_eq!(code.len(), 6);
            for b in code.bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        // 12,000 digits: each about 1,200; a wildly skewed generator would fall outside.
        assert!(counts.iter().all(|&c| (1000..1400).contains(&c)), "{counts:?}");
    }
}
