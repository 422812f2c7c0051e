//! The `Store` implementation, written once for both backends.
//!
//! Both dialects accept the same SQL here (`$n` parameters, `ON CONFLICT`, `RETURNING`); a backend
//! provides `begin()` (PostgreSQL: `BEGIN`; SQLite: `BEGIN IMMEDIATE`, which takes the database's
//! write lock at once) and `lock_number()` (PostgreSQL locks a row per phone number; under SQLite the
//! write lock already serialises everything). Every operation that reads before it writes, or writes
//! two tables, runs in a transaction that first locks the user's row (`SELECT ... FOR UPDATE` on
//! PostgreSQL, a plain read under SQLite's write lock; the row is inserted if missing, and the
//! inserting transaction holds its lock): so a user's read-modify-write operations run one at a time
//! across all instances, and since the user's row is always the first lock taken, two of them cannot
//! deadlock. Reading first writes nothing for a known user, which a verification's single commit
//! does not need to pay for. Operations that are a single statement on one table run on their own.

/// Creates the user's row if missing (the inserting transaction holds its lock until commit) and
/// returns its counters; nothing when another transaction created it first.
pub(crate) const INSERT_USER: &str = "INSERT INTO mfa_users (user_id) VALUES ($1) \
     ON CONFLICT (user_id) DO NOTHING \
     RETURNING record, failures, locked_until, push_strikes, push_strikes_since";

/// Rounds of "read, else insert" before [`lock_user`] gives up: a row that vanishes again and again
/// means a `delete_user` storm.
pub(crate) const LOCK_USER_ROUNDS: u32 = 3;

/// `get_user` and `list_methods` in one statement (one round trip, one snapshot): the user's row
/// (part 0), then the methods oldest first (part 1).
pub(crate) const SELECT_USER_AND_METHODS: &str = "SELECT CAST(0 AS BIGINT) AS part, \
     CAST(0 AS BIGINT) AS seq, record, CAST(NULL AS BIGINT) AS last_accepted_step FROM mfa_users \
     WHERE user_id = $1 UNION ALL SELECT CAST(1 AS BIGINT), seq, record, last_accepted_step \
     FROM mfa_methods WHERE user_id = $1 ORDER BY part, seq";

/// What an accepted attempt resets: the failure counter, the lock and the push strikes.
pub(crate) const RESET_FAILURES: &str = "UPDATE mfa_users SET failures = 0, locked_until = NULL, \
     push_strikes = 0, push_strikes_since = NULL WHERE user_id = $1";

macro_rules! impl_store {
    ($store:ty, $tx:ty) => {
        impl $store {
            /// Begins a write transaction and locks the user's row, creating it if missing. A row
            /// that a concurrent `delete_user` removes while this waits for its lock reads as missing
            /// and is created again.
            async fn lock_user(
                &self,
                user: &mfa::UserId,
            ) -> Result<($tx, $crate::rows::UserRow), mfa::StoreError> {
                let mut tx = self.begin().await?;
                let row = Self::lock_user_in(&mut tx, user).await?;
                Ok((tx, row))
            }

            /// Locks the user's row in `tx` (see [`lock_user`](Self::lock_user)).
            async fn lock_user_in(
                tx: &mut $tx,
                user: &mfa::UserId,
            ) -> Result<$crate::rows::UserRow, mfa::StoreError> {
                for _ in 0..$crate::store_impl::LOCK_USER_ROUNDS {
                    let mut row = sqlx::query(Self::SELECT_USER_LOCKED)
                        .bind(user.as_str())
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err($crate::rows::db)?;
                    if row.is_none() {
                        row = sqlx::query($crate::store_impl::INSERT_USER)
                            .bind(user.as_str())
                            .fetch_optional(&mut **tx)
                            .await
                            .map_err($crate::rows::db)?;
                    }
                    if let Some(row) = row {
                        return $crate::store_impl::user_row(&row);
                    }
                }
                Err(mfa::StoreError::backend(std::io::Error::other(
                    "the user's row was deleted again and again while this operation waited for it",
                )))
            }

            /// Locks a known user's row and reads one of their methods in one statement: a
            /// verification's first round trip does both. `None` if the user has no row yet.
            ///
            /// On PostgreSQL the method's row comes from the statement's snapshot, which a
            /// transaction that held the user's lock just before may have changed since. That is
            /// safe because every consuming write is a compare-and-set (a step only moves forward, a
            /// code is deleted only if present): a stale read can only end in a rejection, never a
            /// second acceptance.
            async fn lock_user_with_method(
                tx: &mut $tx,
                user: &mfa::UserId,
                method: mfa::MethodId,
            ) -> Result<Option<($crate::rows::UserRow, Option<mfa::store::MethodRecord>)>, mfa::StoreError> {
                use $crate::rows::db;
                use sqlx::Row as _;
                let Some(row) = sqlx::query(Self::SELECT_USER_AND_METHOD_LOCKED)
                    .bind(user.as_str())
                    .bind(&method.as_bytes()[..])
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db)?
                else {
                    return Ok(None);
                };
                let user_row = $crate::store_impl::user_row(&row)?;
                let text: Option<String> = row.try_get(5).map_err(db)?;
                let step: Option<i64> = row.try_get(6).map_err(db)?;
                let method = text
                    .map(|text| $crate::store_impl::method_from_parts(&text, step))
                    .transpose()?;
                Ok(Some((user_row, method)))
            }

            /// Reads what an attempt's target names, in the attempt's transaction (a method already
            /// read with the user's row is passed in).
            async fn load(
                tx: &mut $tx,
                user: &mfa::UserId,
                target: mfa::store::AttemptTarget<'_>,
                preloaded: Option<Option<mfa::store::MethodRecord>>,
            ) -> Result<$crate::store_impl::Load, mfa::StoreError> {
                use $crate::rows::db;
                use sqlx::Row as _;
                let is_phone = |method: &mfa::store::MethodRecord| matches!(method.credential, mfa::store::Credential::Phone { .. });
                Ok(match target {
                    mfa::store::AttemptTarget::Method(id) => {
                        let method = match preloaded {
                            Some(method) => method,
                            None => sqlx::query(
                            "SELECT record, last_accepted_step FROM mfa_methods WHERE user_id = $1 AND method_id = $2",
                        )
                        .bind(user.as_str())
                        .bind(&id.as_bytes()[..])
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(db)?
                        .as_ref()
                        .map($crate::store_impl::method_from_row)
                        .transpose()?,
                        };
                        let challenge = match &method {
                            Some(m) if is_phone(m) => Self::load_challenge(tx, user).await?,
                            _ => None,
                        };
                        $crate::store_impl::Load::Method { method, challenge }
                    }
                    mfa::store::AttemptTarget::Pending(id) => {
                        let row = sqlx::query("SELECT record FROM mfa_pending WHERE user_id = $1 AND method_id = $2")
                            .bind(user.as_str())
                            .bind(&id.as_bytes()[..])
                            .fetch_optional(&mut **tx)
                            .await
                            .map_err(db)?;
                        let pending: Option<mfa::store::PendingEnrollment> = match row {
                            Some(row) => {
                                let text: String = row.try_get(0).map_err(db)?;
                                Some($crate::rows::from_json(&text, "pending enrollment")?)
                            }
                            None => None,
                        };
                        let challenge = match &pending {
                            Some(p) if is_phone(&p.method) => Self::load_challenge(tx, user).await?,
                            _ => None,
                        };
                        $crate::store_impl::Load::Pending { pending, challenge }
                    }
                    mfa::store::AttemptTarget::RecoveryCode(tag) => {
                        let row = sqlx::query(
                            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN tag = $2 THEN 1 ELSE 0 END), 0) \
                             FROM mfa_recovery_codes WHERE user_id = $1",
                        )
                        .bind(user.as_str())
                        .bind(&tag.as_bytes()[..])
                        .fetch_one(&mut **tx)
                        .await
                        .map_err(db)?;
                        let left: i64 = row.try_get(0).map_err(db)?;
                        let found: i64 = row.try_get(1).map_err(db)?;
                        $crate::store_impl::Load::RecoveryCode {
                            found: found > 0,
                            left: $crate::rows::count_value(left)?,
                        }
                    }
                    mfa::store::AttemptTarget::Push(id) => {
                        // The push and the method it was sent to, if the user still has it.
                        let row = sqlx::query(
                            "SELECT p.state, p.record, m.record, m.last_accepted_step FROM mfa_push_challenges p \
                             LEFT JOIN mfa_methods m ON m.user_id = p.user_id AND m.method_id = p.method_id \
                             WHERE p.user_id = $1 AND p.challenge_id = $2",
                        )
                        .bind(user.as_str())
                        .bind(id.as_str())
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(db)?;
                        let Some(row) = row else {
                            return Ok($crate::store_impl::Load::Push { push: None, method: None });
                        };
                        let push = $crate::store_impl::push_from_row(&row)?;
                        let text: Option<String> = row.try_get(2).map_err(db)?;
                        let step: Option<i64> = row.try_get(3).map_err(db)?;
                        let method = text
                            .map(|text| $crate::store_impl::method_from_parts(&text, step))
                            .transpose()?;
                        $crate::store_impl::Load::Push { push: Some(push), method }
                    }
                    mfa::store::AttemptTarget::Passkey(id) => {
                        // Read after the user's lock, so never older than the last write under it (a
                        // rename is not undone by the credential's update).
                        let method = sqlx::query(
                            "SELECT record, last_accepted_step FROM mfa_methods WHERE user_id = $1 AND method_id = $2",
                        )
                        .bind(user.as_str())
                        .bind(&id.as_bytes()[..])
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(db)?
                        .as_ref()
                        .map($crate::store_impl::method_from_row)
                        .transpose()?;
                        let row = sqlx::query("SELECT record FROM mfa_passkey_challenges WHERE user_id = $1")
                            .bind(user.as_str())
                            .fetch_optional(&mut **tx)
                            .await
                            .map_err(db)?;
                        let challenge = match row {
                            Some(row) => {
                                let text: String = row.try_get(0).map_err(db)?;
                                Some($crate::rows::from_json(&text, "passkey challenge")?)
                            }
                            None => None,
                        };
                        $crate::store_impl::Load::Passkey { method, challenge }
                    }
                })
            }

            /// Deletes the user's outstanding phone code and push if they were sent to one of
            /// `methods`. A code whose record no longer reads goes too: it can verify nothing; so does
            /// a push whose method id column is damaged.
            async fn drop_challenge_of(
                tx: &mut $tx,
                user: &mfa::UserId,
                methods: &[mfa::MethodId],
            ) -> Result<(), mfa::StoreError> {
                use sqlx::Row as _;
                let push = sqlx::query("SELECT method_id FROM mfa_push_challenges WHERE user_id = $1")
                    .bind(user.as_str())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err($crate::rows::db)?;
                if let Some(push) = push {
                    let sent_to_one = match push.try_get::<Vec<u8>, _>(0) {
                        Ok(id) => $crate::rows::id16(&id, "push method id")
                            .map_or(true, |id| methods.contains(&mfa::MethodId::from_bytes(id))),
                        Err(_) => true,
                    };
                    if sent_to_one {
                        sqlx::query("DELETE FROM mfa_push_challenges WHERE user_id = $1")
                            .bind(user.as_str())
                            .execute(&mut **tx)
                            .await
                            .map_err($crate::rows::db)?;
                    }
                }
                let sent_to_one = match Self::load_challenge(tx, user).await {
                    Ok(Some(challenge)) => methods.contains(&challenge.method),
                    Ok(None) => false,
                    Err(mfa::StoreError::Corrupt(_)) => true,
                    Err(error) => return Err(error),
                };
                if sent_to_one {
                    sqlx::query("DELETE FROM mfa_phone_challenges WHERE user_id = $1")
                        .bind(user.as_str())
                        .execute(&mut **tx)
                        .await
                        .map_err($crate::rows::db)?;
                }
                Ok(())
            }

            async fn load_challenge(
                tx: &mut $tx,
                user: &mfa::UserId,
            ) -> Result<Option<mfa::store::PhoneChallenge>, mfa::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT record FROM mfa_phone_challenges WHERE user_id = $1")
                    .bind(user.as_str())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err($crate::rows::db)?;
                let Some(row) = row else { return Ok(None) };
                let text: String = row.try_get(0).map_err($crate::rows::db)?;
                $crate::rows::from_json(&text, "phone challenge").map(Some)
            }

            /// Stores the user's run of unanswered pushes.
            async fn write_strikes(
                tx: &mut $tx,
                user: &mfa::UserId,
                strikes: mfa::store::PushStrikes,
            ) -> Result<(), mfa::StoreError> {
                let (count, since) = $crate::rows::strikes_columns(strikes);
                sqlx::query("UPDATE mfa_users SET push_strikes = $2, push_strikes_since = $3 WHERE user_id = $1")
                    .bind(user.as_str())
                    .bind(count)
                    .bind(since)
                    .execute(&mut **tx)
                    .await
                    .map_err($crate::rows::db)?;
                Ok(())
            }

            /// Writes what an accepted attempt used up; `false` if it was not there to consume.
            async fn consume(
                tx: &mut $tx,
                user: &mfa::UserId,
                target: mfa::store::AttemptTarget<'_>,
                loaded: &$crate::store_impl::Load,
                consume: mfa::store::Consume,
            ) -> Result<bool, mfa::StoreError> {
                use $crate::rows::db;
                use $crate::store_impl::Load;
                let done = match (target, loaded, consume) {
                    (
                        mfa::store::AttemptTarget::Method(id),
                        Load::Method { method: Some(method), .. },
                        mfa::store::Consume::TotpStep { step, resealed },
                    ) => {
                        let record = match resealed {
                            Some(secret) => {
                                let mut record = method.clone();
                                match &mut record.credential {
                                    mfa::store::Credential::AuthenticatorApp { secret: stored, .. } => *stored = secret,
                                    _ => return Ok(false),
                                }
                                Some($crate::rows::to_json(&record)?)
                            }
                            None => None,
                        };
                        // The conditional UPDATE is the compare-and-set (under the user's lock it
                        // cannot lose, but it costs nothing to keep).
                        sqlx::query(
                            "UPDATE mfa_methods SET last_accepted_step = $3, record = COALESCE($5, record) \
                             WHERE user_id = $1 AND method_id = $2 AND kind = $4 \
                             AND (last_accepted_step IS NULL OR last_accepted_step < $3)",
                        )
                        .bind(user.as_str())
                        .bind(&id.as_bytes()[..])
                        .bind($crate::rows::step_column(step)?)
                        .bind($crate::rows::KIND_APP)
                        .bind(record)
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?
                        .rows_affected()
                    }
                    (mfa::store::AttemptTarget::Method(_), Load::Method { challenge: Some(_), .. }, mfa::store::Consume::PhoneCode) => {
                        sqlx::query("DELETE FROM mfa_phone_challenges WHERE user_id = $1")
                            .bind(user.as_str())
                            .execute(&mut **tx)
                            .await
                            .map_err(db)?
                            .rows_affected()
                    }
                    (mfa::store::AttemptTarget::Pending(id), Load::Pending { pending: Some(_), challenge }, mfa::store::Consume::Pending) => {
                        if challenge.is_some() {
                            sqlx::query("DELETE FROM mfa_phone_challenges WHERE user_id = $1")
                                .bind(user.as_str())
                                .execute(&mut **tx)
                                .await
                                .map_err(db)?;
                        }
                        sqlx::query("DELETE FROM mfa_pending WHERE user_id = $1 AND method_id = $2")
                            .bind(user.as_str())
                            .bind(&id.as_bytes()[..])
                            .execute(&mut **tx)
                            .await
                            .map_err(db)?
                            .rows_affected()
                    }
                    (
                        mfa::store::AttemptTarget::RecoveryCode(tag),
                        Load::RecoveryCode { found: true, .. },
                        mfa::store::Consume::RecoveryCode,
                    ) => sqlx::query(
                        "DELETE FROM mfa_recovery_codes WHERE seq IN \
                         (SELECT seq FROM mfa_recovery_codes WHERE user_id = $1 AND tag = $2 ORDER BY seq LIMIT 1)",
                    )
                    .bind(user.as_str())
                    .bind(&tag.as_bytes()[..])
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?
                    .rows_affected(),
                    (mfa::store::AttemptTarget::Push(id), Load::Push { push: Some(_), .. }, mfa::store::Consume::Push) => {
                        sqlx::query("DELETE FROM mfa_push_challenges WHERE user_id = $1 AND challenge_id = $2")
                            .bind(user.as_str())
                            .bind(id.as_str())
                            .execute(&mut **tx)
                            .await
                            .map_err(db)?
                            .rows_affected()
                    }
                    (
                        mfa::store::AttemptTarget::Passkey(id),
                        Load::Passkey { method: Some(method), challenge: Some(_) },
                        mfa::store::Consume::Passkey { credential },
                    ) => {
                        let mut record = method.clone();
                        match &mut record.credential {
                            mfa::store::Credential::Passkey { credential: stored, .. } => *stored = credential,
                            _ => return Ok(false),
                        }
                        // The challenge is used once: deleting it is the compare-and-set.
                        let taken = sqlx::query("DELETE FROM mfa_passkey_challenges WHERE user_id = $1")
                            .bind(user.as_str())
                            .execute(&mut **tx)
                            .await
                            .map_err(db)?
                            .rows_affected();
                        if taken == 0 {
                            return Ok(false);
                        }
                        sqlx::query(
                            "UPDATE mfa_methods SET record = $3 WHERE user_id = $1 AND method_id = $2 AND kind = $4",
                        )
                        .bind(user.as_str())
                        .bind(&id.as_bytes()[..])
                        .bind($crate::rows::to_json(&record)?)
                        .bind($crate::rows::KIND_PASSKEY)
                        .execute(&mut **tx)
                        .await
                        .map_err(db)?
                        .rows_affected()
                    }
                    _ => 0,
                };
                Ok(done > 0)
            }
        }

        impl mfa::Store for $store {
            async fn get_user(&self, user: &mfa::UserId) -> Result<Option<mfa::UserRecord>, mfa::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT record FROM mfa_users WHERE user_id = $1")
                    .bind(user.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::rows::db)?;
                let Some(row) = row else { return Ok(None) };
                let record: Option<String> = row.try_get(0).map_err($crate::rows::db)?;
                record
                    .map(|text| $crate::rows::from_json(&text, "user record"))
                    .transpose()
            }

            async fn update_user<F>(
                &self,
                user: &mfa::UserId,
                change: F,
            ) -> Result<mfa::UserRecord, mfa::StoreError>
            where
                F: FnOnce(&mut mfa::UserRecord) + Send,
            {
                let (mut tx, row) = self.lock_user(user).await?;
                let mut record = match row.record {
                    Some(text) => $crate::rows::from_json(&text, "user record")?,
                    None => mfa::UserRecord::default(),
                };
                change(&mut record);
                sqlx::query("UPDATE mfa_users SET record = $2 WHERE user_id = $1")
                    .bind(user.as_str())
                    .bind($crate::rows::to_json(&record)?)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::rows::db)?;
                tx.commit().await.map_err($crate::rows::db)?;
                Ok(record)
            }

            async fn delete_user(&self, user: &mfa::UserId) -> Result<(), mfa::StoreError> {
                let (mut tx, _) = self.lock_user(user).await?;
                // Explicit deletes: they do not depend on foreign keys being enforced (a pool from
                // `from_pool` may have them off). Phone sends stay until they leave the window.
                for sql in [
                    "DELETE FROM mfa_methods WHERE user_id = $1",
                    "DELETE FROM mfa_pending WHERE user_id = $1",
                    "DELETE FROM mfa_phone_challenges WHERE user_id = $1",
                    "DELETE FROM mfa_push_challenges WHERE user_id = $1",
                    "DELETE FROM mfa_passkey_challenges WHERE user_id = $1",
                    "DELETE FROM mfa_recovery_codes WHERE user_id = $1",
                    "DELETE FROM mfa_app_passwords WHERE user_id = $1",
                    "DELETE FROM mfa_devices WHERE user_id = $1",
                    "DELETE FROM mfa_users WHERE user_id = $1",
                ] {
                    sqlx::query(sql)
                        .bind(user.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::rows::db)?;
                }
                tx.commit().await.map_err($crate::rows::db)
            }

            async fn list_methods(&self, user: &mfa::UserId) -> Result<Vec<mfa::store::MethodRecord>, mfa::StoreError> {
                let rows = sqlx::query(
                    "SELECT record, last_accepted_step FROM mfa_methods WHERE user_id = $1 ORDER BY seq",
                )
                .bind(user.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::rows::db)?;
                rows.iter().map($crate::store_impl::method_from_row).collect()
            }

            async fn get_user_and_methods(
                &self,
                user: &mfa::UserId,
            ) -> Result<(Option<mfa::UserRecord>, Vec<mfa::store::MethodRecord>), mfa::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query($crate::store_impl::SELECT_USER_AND_METHODS)
                    .bind(user.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::rows::db)?;
                let mut record = None;
                let mut methods = Vec::new();
                for row in &rows {
                    let part: i64 = row.try_get(0).map_err($crate::rows::db)?;
                    let text: Option<String> = row.try_get(2).map_err($crate::rows::db)?;
                    if part == 0 {
                        record = text
                            .map(|text| $crate::rows::from_json(&text, "user record"))
                            .transpose()?;
                    } else {
                        let step: Option<i64> = row.try_get(3).map_err($crate::rows::db)?;
                        let text = text.ok_or_else(|| {
                            mfa::StoreError::Corrupt("a method row without its record".to_owned())
                        })?;
                        methods.push($crate::store_impl::method_from_parts(&text, step)?);
                    }
                }
                Ok((record, methods))
            }

            async fn insert_method_capped(
                &self,
                user: &mfa::UserId,
                method: mfa::store::MethodRecord,
                cap: usize,
            ) -> Result<bool, mfa::StoreError> {
                use sqlx::Row as _;
                let kind = $crate::rows::kind_name(method.kind());
                let (mut tx, _) = self.lock_user(user).await?;
                let counts = sqlx::query(
                    "SELECT COALESCE(SUM(CASE WHEN method_id = $2 THEN 1 ELSE 0 END), 0), \
                            COALESCE(SUM(CASE WHEN kind = $3 THEN 1 ELSE 0 END), 0) \
                     FROM mfa_methods WHERE user_id = $1",
                )
                .bind(user.as_str())
                .bind(&method.id.as_bytes()[..])
                .bind(kind)
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::rows::db)?;
                let same_id: i64 = counts.try_get(0).map_err($crate::rows::db)?;
                let same_kind: i64 = counts.try_get(1).map_err($crate::rows::db)?;
                if same_id > 0 {
                    tx.rollback().await.map_err($crate::rows::db)?;
                    return Err(mfa::StoreError::Duplicate);
                }
                if $crate::rows::count_value(same_kind)? >= cap {
                    tx.rollback().await.map_err($crate::rows::db)?;
                    return Ok(false);
                }
                let step = match &method.credential {
                    mfa::store::Credential::AuthenticatorApp { last_accepted_step, .. } => {
                        last_accepted_step.map($crate::rows::step_column).transpose()?
                    }
                    _ => None,
                };
                // A push app's device id, unique across users (a clash is a duplicate).
                let push_device = match &method.credential {
                    mfa::store::Credential::PushApp { device, .. } => Some(device.as_str()),
                    _ => None,
                };
                sqlx::query(
                    "INSERT INTO mfa_methods (user_id, method_id, kind, last_accepted_step, record, push_device) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(user.as_str())
                .bind(&method.id.as_bytes()[..])
                .bind(kind)
                .bind(step)
                .bind($crate::rows::to_json(&method)?)
                .bind(push_device)
                .execute(&mut *tx)
                .await
                .map_err($crate::rows::db)?;
                tx.commit().await.map_err($crate::rows::db)?;
                Ok(true)
            }

            async fn remove_method(
                &self,
                user: &mfa::UserId,
                method: mfa::MethodId,
            ) -> Result<Option<mfa::store::MethodRecord>, mfa::StoreError> {
                let (mut tx, _) = self.lock_user(user).await?;
                let row = sqlx::query(
                    "DELETE FROM mfa_methods WHERE user_id = $1 AND method_id = $2 \
                     RETURNING record, last_accepted_step",
                )
                .bind(user.as_str())
                .bind(&method.as_bytes()[..])
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::rows::db)?;
                if row.is_some() {
                    Self::drop_challenge_of(&mut tx, user, &[method]).await?;
                }
                tx.commit().await.map_err($crate::rows::db)?;
                row.as_ref().map($crate::store_impl::method_from_row).transpose()
            }

            async fn remove_all_methods(&self, user: &mfa::UserId) -> Result<usize, mfa::StoreError> {
                use sqlx::Row as _;
                let (mut tx, _) = self.lock_user(user).await?;
                let rows = sqlx::query("DELETE FROM mfa_methods WHERE user_id = $1 RETURNING method_id")
                    .bind(user.as_str())
                    .fetch_all(&mut *tx)
                    .await
                    .map_err($crate::rows::db)?;
                // A damaged id is removed all the same (an administrator's reset must get past it);
                // no code can have been sent to it.
                let ids = rows
                    .iter()
                    .filter_map(|row| row.try_get::<Vec<u8>, _>(0).ok())
                    .filter_map(|id| $crate::rows::id16(&id, "method id").ok())
                    .map(mfa::MethodId::from_bytes)
                    .collect::<Vec<_>>();
                Self::drop_challenge_of(&mut tx, user, &ids).await?;
                tx.commit().await.map_err($crate::rows::db)?;
                Ok(rows.len())
            }

            async fn rename_method(
                &self,
                user: &mfa::UserId,
                method: mfa::MethodId,
                name: String,
            ) -> Result<bool, mfa::StoreError> {
                use sqlx::Row as _;
                let (mut tx, _) = self.lock_user(user).await?;
                let row = sqlx::query("SELECT record FROM mfa_methods WHERE user_id = $1 AND method_id = $2")
                    .bind(user.as_str())
                    .bind(&method.as_bytes()[..])
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err($crate::rows::db)?;
                let Some(row) = row else {
                    tx.rollback().await.map_err($crate::rows::db)?;
                    return Ok(false);
                };
                let text: String = row.try_get(0).map_err($crate::rows::db)?;
                let mut record: mfa::store::MethodRecord = $crate::rows::from_json(&text, "method record")?;
                record.name = name;
                // last_accepted_step lives in its own column, untouched here.
                let done = sqlx::query("UPDATE mfa_methods SET record = $3 WHERE user_id = $1 AND method_id = $2")
                    .bind(user.as_str())
                    .bind(&method.as_bytes()[..])
                    .bind($crate::rows::to_json(&record)?)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::rows::db)?;
                tx.commit().await.map_err($crate::rows::db)?;
                Ok(done.rows_affected() == 1)
            }

            async fn update_app_secret(
                &self,
                user: &mfa::UserId,
                method: mfa::MethodId,
                secret: mfa::store::SealedSecret,
            ) -> Result<bool, mfa::StoreError> {
                use sqlx::Row as _;
                let (mut tx, _) = self.lock_user(user).await?;
                let row = sqlx::query(
                    "SELECT record FROM mfa_methods WHERE user_id = $1 AND method_id = $2 AND kind = $3",
                )
                .bind(user.as_str())
                .bind(&method.as_bytes()[..])
                .bind($crate::rows::KIND_APP)
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::rows::db)?;
                let Some(row) = row else {
                    tx.rollback().await.map_err($crate::rows::db)?;
                    return Ok(false);
                };
                let text: String = row.try_get(0).map_err($crate::rows::db)?;
                let mut record: mfa::store::MethodRecord = $crate::rows::from_json(&text, "method record")?;
                match &mut record.credential {
                    mfa::store::Credential::AuthenticatorApp { secret: stored, .. } => *stored = secret,
                    _ => {
                        return Err($crate::rows::corrupt("a method of kind app holds another credential"));
                    }
                }
                // last_accepted_step lives in its own column, untouched here.
                let done = sqlx::query(
                    "UPDATE mfa_methods SET record = $3 WHERE user_id = $1 AND method_id = $2",
                )
                .bind(user.as_str())
                .bind(&method.as_bytes()[..])
                .bind($crate::rows::to_json(&record)?)
                .execute(&mut *tx)
                .await
                .map_err($crate::rows::db)?;
                tx.commit().await.map_err($crate::rows::db)?;
                Ok(done.rows_affected() == 1)
            }

            async fn put_pending(
                &self,
                user: &mfa::UserId,
                pending: mfa::store::PendingEnrollment,
            ) -> Result<(), mfa::StoreError> {
                // A push app's offer id, which the device answers with alone.
                let push_enrollment = match &pending.method.credential {
                    mfa::store::Credential::PushEnrollment { offer } => Some(offer.enrollment_id().as_str()),
                    _ => None,
                };
                let (mut tx, _) = self.lock_user(user).await?;
                sqlx::query(
                    "INSERT INTO mfa_pending (user_id, method_id, record, push_enrollment) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_id) DO UPDATE SET method_id = excluded.method_id, record = excluded.record, \
                     push_enrollment = excluded.push_enrollment",
                )
                .bind(user.as_str())
                .bind(&pending.method.id.as_bytes()[..])
                .bind($crate::rows::to_json(&pending)?)
                .bind(push_enrollment)
                .execute(&mut *tx)
                .await
                .map_err($crate::rows::db)?;
                tx.commit().await.map_err($crate::rows::db)
            }

            async fn get_pending(
                &self,
                user: &mfa::UserId,
            ) -> Result<Option<mfa::store::PendingEnrollment>, mfa::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT record FROM mfa_pending WHERE user_id = $1")
                    .bind(user.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::rows::db)?;
                let Some(row) = row else { return Ok(None) };
                let text: String = row.try_get(0).map_err($crate::rows::db)?;
                $crate::rows::from_json(&text, "pending enrollment").map(Some)
            }

            async fn take_pending(
                &self,
                user: &mfa::UserId,
                method: mfa::MethodId,
            ) -> Result<Option<mfa::store::PendingEnrollment>, mfa::StoreError> {
                let mut turn = self.write_turn().await?;
                use sqlx::Row as _;
                let row = sqlx::query(
                    "DELETE FROM mfa_pending WHERE user_id = $1 AND method_id = $2 RETURNING record",
                )
                .bind(user.as_str())
                .bind(&method.as_bytes()[..])
                .fetch_optional(&mut *turn)
                .await
                .map_err($crate::rows::db)?;
                turn.commit().await.map_err($crate::rows::db)?;
                let Some(row) = row else { return Ok(None) };
                let text: String = row.try_get(0).map_err($crate::rows::db)?;
                $crate::rows::from_json(&text, "pending enrollment").map(Some)
            }

            async fn update_pending_secret(
                &self,
                user: &mfa::UserId,
                method: mfa::MethodId,
                secret: mfa::store::SealedSecret,
            ) -> Result<bool, mfa::StoreError> {
                use sqlx::Row as _;
                let (mut tx, _) = self.lock_user(user).await?;
                let row = sqlx::query("SELECT record FROM mfa_pending WHERE user_id = $1 AND method_id = $2")
                    .bind(user.as_str())
                    .bind(&method.as_bytes()[..])
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err($crate::rows::db)?;
                let Some(row) = row else {
                    tx.rollback().await.map_err($crate::rows::db)?;
                    return Ok(false);
                };
                let text: String = row.try_get(0).map_err($crate::rows::db)?;
                let mut pending: mfa::store::PendingEnrollment = $crate::rows::from_json(&text, "pending enrollment")?;
                match &mut pending.method.credential {
                    mfa::store::Credential::AuthenticatorApp { secret: stored, .. } => *stored = secret,
                    _ => {
                        tx.rollback().await.map_err($crate::rows::db)?;
                        return Ok(false);
                    }
                }
                // Conditional on the same registration: an UPDATE never brings a deleted row back.
                let done = sqlx::query("UPDATE mfa_pending SET record = $3 WHERE user_id = $1 AND method_id = $2")
                    .bind(user.as_str())
                    .bind(&method.as_bytes()[..])
                    .bind($crate::rows::to_json(&pending)?)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::rows::db)?;
                tx.commit().await.map_err($crate::rows::db)?;
                Ok(done.rows_affected() == 1)
            }

            async fn clear_pending(&self, user: &mfa::UserId) -> Result<bool, mfa::StoreError> {
                use sqlx::Row as _;
                let (mut tx, _) = self.lock_user(user).await?;
                // Only the method id column is read, never the record: a damaged row goes too.
                let row = sqlx::query("DELETE FROM mfa_pending WHERE user_id = $1 RETURNING method_id")
                    .bind(user.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err($crate::rows::db)?;
                let Some(row) = row else {
                    tx.rollback().await.map_err($crate::rows::db)?;
                    return Ok(false);
                };
                let id: Vec<u8> = row.try_get(0).map_err($crate::rows::db)?;
                if let Ok(id) = $crate::rows::id16(&id, "method id") {
                    Self::drop_challenge_of(&mut tx, user, &[mfa::MethodId::from_bytes(id)]).await?;
                }
                tx.commit().await.map_err($crate::rows::db)?;
                Ok(true)
            }

            async fn attempt<F, T>(
                &self,
                user: &mfa::UserId,
                target: mfa::store::AttemptTarget<'_>,
                now: mfa::UnixTime,
                rule: &mfa::ThrottleRule,
                check: F,
            ) -> Result<mfa::store::Attempt<T>, mfa::StoreError>
            where
                F: FnOnce(mfa::store::Loaded<'_>) -> (mfa::store::Verdict, T) + Send,
                T: Send,
            {
                use $crate::rows::db;
                let mut tx = self.begin().await?;
                // A verification with a method locks the user and reads the method at once.
                let (row, preloaded) = match target {
                    mfa::store::AttemptTarget::Method(id) => match Self::lock_user_with_method(&mut tx, user, id).await? {
                        Some((row, method)) => (row, Some(method)),
                        None => (Self::lock_user_in(&mut tx, user).await?, None),
                    },
                    _ => (Self::lock_user_in(&mut tx, user).await?, None),
                };
                if let Some(until) = row.locked_until.filter(|until| *until > now.as_millis()) {
                    tx.rollback().await.map_err(db)?;
                    return Ok(mfa::store::Attempt::Locked {
                        until: $crate::rows::time(until),
                    });
                }
                let record = match &row.record {
                    Some(text) => $crate::rows::from_json(text, "user record")?,
                    None => mfa::UserRecord::default(),
                };
                let loaded = Self::load(&mut tx, user, target, preloaded).await?;
                let (verdict, value) = check(mfa::store::Loaded {
                    user: &record,
                    credential: loaded.as_loaded(),
                });
                let consumed = match verdict {
                    mfa::store::Verdict::Abort => {
                        tx.rollback().await.map_err(db)?;
                        return Ok(mfa::store::Attempt::Aborted(value));
                    }
                    mfa::store::Verdict::Reject => false,
                    mfa::store::Verdict::Accept(consume) => Self::consume(&mut tx, user, target, &loaded, consume).await?,
                };
                // A passkey challenge is used once, right or wrong (an acceptance deleted it already).
                if !consumed
                    && matches!(target, mfa::store::AttemptTarget::Passkey(_))
                    && matches!(loaded, $crate::store_impl::Load::Passkey { challenge: Some(_), .. })
                {
                    sqlx::query("DELETE FROM mfa_passkey_challenges WHERE user_id = $1")
                        .bind(user.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                if consumed {
                    // A user with no failures, no lock and no push strikes has nothing to reset: one
                    // write fewer.
                    if row.has_counters() {
                        sqlx::query($crate::store_impl::RESET_FAILURES)
                            .bind(user.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                    tx.commit().await.map_err(db)?;
                    return Ok(mfa::store::Attempt::Accepted(value));
                }
                let failures = $crate::rows::failures_value(row.failures)?.saturating_add(1);
                let locked_until = match rule.lock_for(failures) {
                    Some(lock) => Some(now.saturating_add(lock).as_millis()),
                    None => row.locked_until,
                };
                sqlx::query("UPDATE mfa_users SET failures = $2, locked_until = $3 WHERE user_id = $1")
                    .bind(user.as_str())
                    .bind(i64::from(failures))
                    .bind(locked_until)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(mfa::store::Attempt::Rejected { value, failures })
            }

            async fn throttle_state(&self, user: &mfa::UserId) -> Result<mfa::store::ThrottleState, mfa::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query(
                    "SELECT failures, locked_until, push_strikes, push_strikes_since FROM mfa_users WHERE user_id = $1",
                )
                .bind(user.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::rows::db)?;
                let Some(row) = row else {
                    return Ok(mfa::store::ThrottleState::default());
                };
                let failures: i64 = row.try_get(0).map_err($crate::rows::db)?;
                let locked_until: Option<i64> = row.try_get(1).map_err($crate::rows::db)?;
                let strikes: i64 = row.try_get(2).map_err($crate::rows::db)?;
                let since: Option<i64> = row.try_get(3).map_err($crate::rows::db)?;
                Ok(mfa::store::ThrottleState {
                    failures: $crate::rows::failures_value(failures)?,
                    locked_until: locked_until.map($crate::rows::time),
                    push_strikes: $crate::rows::strikes_value(strikes, since)?,
                })
            }

            async fn put_phone_challenge(
                &self,
                user: &mfa::UserId,
                challenge: mfa::store::PhoneChallenge,
            ) -> Result<(), mfa::StoreError> {
                let (mut tx, _) = self.lock_user(user).await?;
                sqlx::query(
                    "INSERT INTO mfa_phone_challenges (user_id, tag, expires_at, record) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_id) DO UPDATE \
                     SET tag = excluded.tag, expires_at = excluded.expires_at, record = excluded.record",
                )
                .bind(user.as_str())
                .bind(&challenge.tag.as_bytes()[..])
                .bind(challenge.expires_at.as_millis())
                .bind($crate::rows::to_json(&challenge)?)
                .execute(&mut *tx)
                .await
                .map_err($crate::rows::db)?;
                tx.commit().await.map_err($crate::rows::db)
            }

            async fn record_phone_send(
                &self,
                user: &mfa::UserId,
                number: &mfa::PhoneNumber,
                now: mfa::UnixTime,
                limit: &mfa::SendLimit,
            ) -> Result<mfa::store::PhoneSend, mfa::StoreError> {
                use sqlx::Row as _;
                // Sends matter for the window and for the user's interval, which may be longer.
                let kept_from = now.saturating_sub(limit.window.max(limit.min_interval)).as_millis();
                let (mut tx, _) = self.lock_user(user).await?;
                Self::lock_number(&mut tx, number).await?;
                // Prune this number's old sends (all of them were written under its lock).
                sqlx::query("DELETE FROM mfa_phone_sends WHERE number = $1 AND sent_at <= $2")
                    .bind(number.as_str())
                    .bind(kept_from)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::rows::db)?;
                // The user's sends, then the number's.
                let mut sends = Vec::with_capacity(2);
                for (query, key) in [
                    ("SELECT sent_at FROM mfa_phone_sends WHERE user_id = $1 AND sent_at > $2", user.as_str()),
                    ("SELECT sent_at FROM mfa_phone_sends WHERE number = $1 AND sent_at > $2", number.as_str()),
                ] {
                    let rows = sqlx::query(query)
                        .bind(key)
                        .bind(kept_from)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err($crate::rows::db)?;
                    let instants = rows
                        .iter()
                        .map(|row| row.try_get::<i64, _>(0).map($crate::rows::time))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err($crate::rows::db)?;
                    sends.push(instants);
                }
                let answer = mfa::store::PhoneSend::decide(&sends[0], &sends[1], now, limit);
                if !answer.is_recorded() {
                    tx.rollback().await.map_err($crate::rows::db)?;
                    return Ok(answer);
                }
                sqlx::query("INSERT INTO mfa_phone_sends (user_id, number, sent_at) VALUES ($1, $2, $3)")
                    .bind(user.as_str())
                    .bind(number.as_str())
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::rows::db)?;
                tx.commit().await.map_err($crate::rows::db)?;
                Ok(mfa::store::PhoneSend::Recorded)
            }

            async fn find_push_device(
                &self,
                device: &mfa_push::DeviceId,
            ) -> Result<Option<(mfa::UserId, mfa::store::MethodRecord)>, mfa::StoreError> {
                use sqlx::Row as _;
                // The unique index on push_device: one lookup, whoever the user is.
                let row = sqlx::query(
                    "SELECT user_id, record, last_accepted_step FROM mfa_methods WHERE push_device = $1",
                )
                .bind(device.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::rows::db)?;
                let Some(row) = row else { return Ok(None) };
                let user: String = row.try_get(0).map_err($crate::rows::db)?;
                let text: String = row.try_get(1).map_err($crate::rows::db)?;
                let step: Option<i64> = row.try_get(2).map_err($crate::rows::db)?;
                let user = mfa::UserId::new(&user).map_err(|_| $crate::rows::corrupt("push device: an invalid user id"))?;
                Ok(Some((user, $crate::store_impl::method_from_parts(&text, step)?)))
            }

            async fn take_push_enrollment(
                &self,
                enrollment: &mfa_push::EnrollmentId,
            ) -> Result<Option<(mfa::UserId, mfa::store::PendingEnrollment)>, mfa::StoreError> {
                use sqlx::Row as _;
                // One conditional DELETE: of racing callers, one gets the row.
                let mut turn = self.write_turn().await?;
                let row = sqlx::query("DELETE FROM mfa_pending WHERE push_enrollment = $1 RETURNING user_id, record")
                    .bind(enrollment.as_str())
                    .fetch_optional(&mut *turn)
                    .await
                    .map_err($crate::rows::db)?;
                turn.commit().await.map_err($crate::rows::db)?;
                let Some(row) = row else { return Ok(None) };
                let user: String = row.try_get(0).map_err($crate::rows::db)?;
                let text: String = row.try_get(1).map_err($crate::rows::db)?;
                let user = mfa::UserId::new(&user)
                    .map_err(|_| $crate::rows::corrupt("push enrollment: an invalid user id"))?;
                Ok(Some((user, $crate::rows::from_json(&text, "pending enrollment")?)))
            }

            async fn start_push(
                &self,
                user: &mfa::UserId,
                push: mfa::store::PushChallenge,
                now: mfa::UnixTime,
                fatigue: &mfa::store::PushFatigue,
            ) -> Result<mfa::store::PushStart, mfa::StoreError> {
                use $crate::rows::db;
                use sqlx::Row as _;
                let (mut tx, row) = self.lock_user(user).await?;
                let before = row.strikes()?;
                let stored = sqlx::query("SELECT state FROM mfa_push_challenges WHERE user_id = $1")
                    .bind(user.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
                // A push still pending when the next one starts went unanswered: a strike.
                let unanswered = match &stored {
                    Some(stored) => stored.try_get::<String, _>(0).map_err(db)? == mfa::store::PushState::Pending.name(),
                    None => false,
                };
                let strikes = if unanswered { before.add(now, fatigue) } else { before };
                if strikes != before {
                    Self::write_strikes(&mut tx, user, strikes).await?;
                }
                if fatigue.stops(&strikes) {
                    if stored.is_some() {
                        sqlx::query("DELETE FROM mfa_push_challenges WHERE user_id = $1")
                            .bind(user.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                    tx.commit().await.map_err(db)?;
                    return Ok(mfa::store::PushStart::Stopped);
                }
                sqlx::query(
                    "INSERT INTO mfa_push_challenges (user_id, challenge_id, method_id, state, expires_at, record) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (user_id) DO UPDATE SET challenge_id = excluded.challenge_id, \
                     method_id = excluded.method_id, state = excluded.state, expires_at = excluded.expires_at, \
                     record = excluded.record",
                )
                .bind(user.as_str())
                .bind(push.id().as_str())
                .bind(&push.method.as_bytes()[..])
                .bind(push.state.name())
                .bind(push.expires_at().as_millis())
                .bind($crate::rows::to_json(&push)?)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(mfa::store::PushStart::Started)
            }

            async fn get_push(&self, user: &mfa::UserId) -> Result<Option<mfa::store::PushChallenge>, mfa::StoreError> {
                let row = sqlx::query("SELECT state, record FROM mfa_push_challenges WHERE user_id = $1")
                    .bind(user.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::rows::db)?;
                row.as_ref().map($crate::store_impl::push_from_row).transpose()
            }

            async fn answer_push(
                &self,
                user: &mfa::UserId,
                challenge: &mfa_push::ChallengeId,
                state: mfa::store::PushState,
                now: mfa::UnixTime,
                rule: &mfa::ThrottleRule,
                fatigue: &mfa::store::PushFatigue,
            ) -> Result<Option<mfa::store::PushAnswered>, mfa::StoreError> {
                use $crate::rows::db;
                let (mut tx, row) = self.lock_user(user).await?;
                // The compare-and-set: only a pending, unexpired push with this id is answered.
                let done = sqlx::query(
                    "UPDATE mfa_push_challenges SET state = $3 \
                     WHERE user_id = $1 AND challenge_id = $2 AND state = $4 AND expires_at > $5",
                )
                .bind(user.as_str())
                .bind(challenge.as_str())
                .bind(state.name())
                .bind(mfa::store::PushState::Pending.name())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                if done.rows_affected() == 0 {
                    tx.rollback().await.map_err(db)?;
                    return Ok(None);
                }
                let failures = match state {
                    // A wrong number counts as a rejected attempt does.
                    mfa::store::PushState::WrongNumber => {
                        let failures = $crate::rows::failures_value(row.failures)?.saturating_add(1);
                        let locked_until = match rule.lock_for(failures) {
                            Some(lock) => Some(now.saturating_add(lock).as_millis()),
                            None => row.locked_until,
                        };
                        sqlx::query("UPDATE mfa_users SET failures = $2, locked_until = $3 WHERE user_id = $1")
                            .bind(user.as_str())
                            .bind(i64::from(failures))
                            .bind(locked_until)
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                        Some(failures)
                    }
                    mfa::store::PushState::Denied | mfa::store::PushState::Reported => {
                        let before = row.strikes()?;
                        let strikes = before.add(now, fatigue);
                        if strikes != before {
                            Self::write_strikes(&mut tx, user, strikes).await?;
                        }
                        None
                    }
                    mfa::store::PushState::Pending | mfa::store::PushState::Approved => None,
                };
                tx.commit().await.map_err(db)?;
                Ok(Some(mfa::store::PushAnswered { failures }))
            }

            async fn remember_push_nonce(
                &self,
                key: &mfa_push::ReplayKey,
                now: mfa::UnixTime,
            ) -> Result<bool, mfa::StoreError> {
                let mut turn = self.write_turn().await?;
                sqlx::query(Self::PRUNE_PUSH_NONCES)
                    .bind(now.as_millis())
                    .execute(&mut *turn)
                    .await
                    .map_err($crate::rows::db)?;
                // Inserted, or an expired entry replaced: one row affected. A live entry is left
                // alone (the upsert's WHERE is false): none. One statement, so of racing calls with
                // one key, one affects the row.
                let done = sqlx::query(
                    "INSERT INTO mfa_push_nonces (device_id, nonce, keep_until) VALUES ($1, $2, $3) \
                     ON CONFLICT (device_id, nonce) DO UPDATE SET keep_until = excluded.keep_until \
                     WHERE mfa_push_nonces.keep_until <= $4",
                )
                .bind(key.device_id().as_str())
                .bind(&key.nonce().as_bytes()[..])
                .bind(key.keep_until().as_millis())
                .bind(now.as_millis())
                .execute(&mut *turn)
                .await
                .map_err($crate::rows::db)?;
                turn.commit().await.map_err($crate::rows::db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn put_passkey_challenge(
                &self,
                user: &mfa::UserId,
                challenge: mfa::store::PasskeyChallenge,
            ) -> Result<(), mfa::StoreError> {
                let (mut tx, _) = self.lock_user(user).await?;
                sqlx::query(
                    "INSERT INTO mfa_passkey_challenges (user_id, expires_at, record) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id) DO UPDATE SET expires_at = excluded.expires_at, record = excluded.record",
                )
                .bind(user.as_str())
                .bind(challenge.expires_at.as_millis())
                .bind($crate::rows::to_json(&challenge)?)
                .execute(&mut *tx)
                .await
                .map_err($crate::rows::db)?;
                tx.commit().await.map_err($crate::rows::db)
            }

            async fn replace_recovery_codes(
                &self,
                user: &mfa::UserId,
                tags: Vec<mfa::store::Tag>,
            ) -> Result<(), mfa::StoreError> {
                let (mut tx, _) = self.lock_user(user).await?;
                sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
                    .bind(user.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::rows::db)?;
                for tag in &tags {
                    sqlx::query("INSERT INTO mfa_recovery_codes (user_id, tag) VALUES ($1, $2)")
                        .bind(user.as_str())
                        .bind(&tag.as_bytes()[..])
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::rows::db)?;
                }
                tx.commit().await.map_err($crate::rows::db)
            }

            async fn recovery_codes_left(&self, user: &mfa::UserId) -> Result<usize, mfa::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1")
                    .bind(user.as_str())
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::rows::db)?;
                let left: i64 = row.try_get(0).map_err($crate::rows::db)?;
                $crate::rows::count_value(left)
            }

            async fn insert_app_password_capped(
                &self,
                user: &mfa::UserId,
                record: mfa::AppPasswordRecord,
                cap: usize,
            ) -> Result<bool, mfa::StoreError> {
                use sqlx::Row as _;
                let id = record.id();
                let (mut tx, _) = self.lock_user(user).await?;
                let counts = sqlx::query(
                    "SELECT COALESCE(SUM(CASE WHEN password_id = $2 THEN 1 ELSE 0 END), 0), COUNT(*) \
                     FROM mfa_app_passwords WHERE user_id = $1",
                )
                .bind(user.as_str())
                .bind(&id.as_bytes()[..])
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::rows::db)?;
                let same_id: i64 = counts.try_get(0).map_err($crate::rows::db)?;
                let total: i64 = counts.try_get(1).map_err($crate::rows::db)?;
                if same_id > 0 {
                    tx.rollback().await.map_err($crate::rows::db)?;
                    return Err(mfa::StoreError::Duplicate);
                }
                if $crate::rows::count_value(total)? >= cap {
                    tx.rollback().await.map_err($crate::rows::db)?;
                    return Ok(false);
                }
                sqlx::query("INSERT INTO mfa_app_passwords (user_id, password_id, record) VALUES ($1, $2, $3)")
                    .bind(user.as_str())
                    .bind(&id.as_bytes()[..])
                    .bind($crate::rows::to_json(&record)?)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::rows::db)?;
                tx.commit().await.map_err($crate::rows::db)?;
                Ok(true)
            }

            async fn list_app_passwords(
                &self,
                user: &mfa::UserId,
            ) -> Result<Vec<mfa::AppPasswordRecord>, mfa::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT record FROM mfa_app_passwords WHERE user_id = $1 ORDER BY seq")
                    .bind(user.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::rows::db)?;
                rows.iter()
                    .map(|row| {
                        let text: String = row.try_get(0).map_err($crate::rows::db)?;
                        $crate::rows::from_json(&text, "app password record")
                    })
                    .collect()
            }

            async fn update_app_password(
                &self,
                user: &mfa::UserId,
                record: mfa::AppPasswordRecord,
            ) -> Result<bool, mfa::StoreError> {
                let mut turn = self.write_turn().await?;
                let done = sqlx::query(
                    "UPDATE mfa_app_passwords SET record = $3 WHERE user_id = $1 AND password_id = $2",
                )
                .bind(user.as_str())
                .bind(&record.id().as_bytes()[..])
                .bind($crate::rows::to_json(&record)?)
                .execute(&mut *turn)
                .await
                .map_err($crate::rows::db)?;
                turn.commit().await.map_err($crate::rows::db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_app_password(
                &self,
                user: &mfa::UserId,
                id: mfa::AppPasswordId,
            ) -> Result<bool, mfa::StoreError> {
                let mut turn = self.write_turn().await?;
                let done = sqlx::query("DELETE FROM mfa_app_passwords WHERE user_id = $1 AND password_id = $2")
                    .bind(user.as_str())
                    .bind(&id.as_bytes()[..])
                    .execute(&mut *turn)
                    .await
                    .map_err($crate::rows::db)?;
                turn.commit().await.map_err($crate::rows::db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_all_app_passwords(&self, user: &mfa::UserId) -> Result<usize, mfa::StoreError> {
                let mut turn = self.write_turn().await?;
                let done = sqlx::query("DELETE FROM mfa_app_passwords WHERE user_id = $1")
                    .bind(user.as_str())
                    .execute(&mut *turn)
                    .await
                    .map_err($crate::rows::db)?;
                turn.commit().await.map_err($crate::rows::db)?;
                $crate::rows::affected(done.rows_affected())
            }

            async fn insert_device_capped(
                &self,
                user: &mfa::UserId,
                device: mfa::store::DeviceRecord,
                cap: usize,
            ) -> Result<Vec<mfa::DeviceId>, mfa::StoreError> {
                use sqlx::Row as _;
                let (mut tx, _) = self.lock_user(user).await?;
                sqlx::query(
                    "INSERT INTO mfa_devices (user_id, device_id, token_hash, name, created_at, last_used_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(user.as_str())
                .bind(&device.id.as_bytes()[..])
                .bind(&device.token_hash.as_bytes()[..])
                .bind(&device.name)
                .bind(device.created_at.as_millis())
                .bind(device.last_used_at.as_millis())
                .execute(&mut *tx)
                .await
                .map_err($crate::rows::db)?;
                // Keeps the new device and the cap - 1 most recently used others (the latest inserted
                // among equals); a LIMIT of the kept rows is never negative, whatever the count.
                let kept = i64::try_from(cap.max(1)).unwrap_or(i64::MAX);
                let rows = sqlx::query(
                    "DELETE FROM mfa_devices WHERE user_id = $1 AND seq NOT IN \
                     (SELECT seq FROM mfa_devices WHERE user_id = $1 \
                      ORDER BY CASE WHEN device_id = $2 THEN 0 ELSE 1 END, last_used_at DESC, seq DESC \
                      LIMIT $3) \
                     RETURNING device_id, last_used_at, seq",
                )
                .bind(user.as_str())
                .bind(&device.id.as_bytes()[..])
                .bind(kept)
                .fetch_all(&mut *tx)
                .await
                .map_err($crate::rows::db)?;
                tx.commit().await.map_err($crate::rows::db)?;
                let mut evicted = Vec::with_capacity(rows.len());
                for row in &rows {
                    let id: Vec<u8> = row.try_get(0).map_err($crate::rows::db)?;
                    let last_used_at: i64 = row.try_get(1).map_err($crate::rows::db)?;
                    let seq: i64 = row.try_get(2).map_err($crate::rows::db)?;
                    // A damaged id is gone all the same; there is no id to report for it.
                    if let Ok(id) = $crate::rows::id16(&id, "device id") {
                        evicted.push((last_used_at, seq, mfa::DeviceId::from_bytes(id)));
                    }
                }
                evicted.sort_unstable_by_key(|(last_used_at, seq, _)| (*last_used_at, *seq));
                Ok(evicted.into_iter().map(|(_, _, id)| id).collect())
            }

            async fn find_device(
                &self,
                user: &mfa::UserId,
                token_hash: &mfa::store::Tag,
            ) -> Result<Option<mfa::store::DeviceRecord>, mfa::StoreError> {
                let row = sqlx::query(
                    "SELECT device_id, token_hash, name, created_at, last_used_at FROM mfa_devices \
                     WHERE user_id = $1 AND token_hash = $2 ORDER BY seq LIMIT 1",
                )
                .bind(user.as_str())
                .bind(&token_hash.as_bytes()[..])
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::rows::db)?;
                row.as_ref().map($crate::store_impl::device_from_row).transpose()
            }

            async fn touch_device(
                &self,
                user: &mfa::UserId,
                device: mfa::DeviceId,
                now: mfa::UnixTime,
            ) -> Result<bool, mfa::StoreError> {
                let mut turn = self.write_turn().await?;
                let done = sqlx::query(
                    "UPDATE mfa_devices SET last_used_at = $3 WHERE user_id = $1 AND device_id = $2",
                )
                .bind(user.as_str())
                .bind(&device.as_bytes()[..])
                .bind(now.as_millis())
                .execute(&mut *turn)
                .await
                .map_err($crate::rows::db)?;
                turn.commit().await.map_err($crate::rows::db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_devices(&self, user: &mfa::UserId) -> Result<Vec<mfa::store::DeviceRecord>, mfa::StoreError> {
                let rows = sqlx::query(
                    "SELECT device_id, token_hash, name, created_at, last_used_at FROM mfa_devices \
                     WHERE user_id = $1 ORDER BY seq",
                )
                .bind(user.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::rows::db)?;
                rows.iter().map($crate::store_impl::device_from_row).collect()
            }

            async fn forget_device(&self, user: &mfa::UserId, device: mfa::DeviceId) -> Result<bool, mfa::StoreError> {
                let mut turn = self.write_turn().await?;
                let done = sqlx::query("DELETE FROM mfa_devices WHERE user_id = $1 AND device_id = $2")
                    .bind(user.as_str())
                    .bind(&device.as_bytes()[..])
                    .execute(&mut *turn)
                    .await
                    .map_err($crate::rows::db)?;
                turn.commit().await.map_err($crate::rows::db)?;
                Ok(done.rows_affected() > 0)
            }

            async fn forget_all_devices(&self, user: &mfa::UserId) -> Result<usize, mfa::StoreError> {
                let mut turn = self.write_turn().await?;
                let done = sqlx::query("DELETE FROM mfa_devices WHERE user_id = $1")
                    .bind(user.as_str())
                    .execute(&mut *turn)
                    .await
                    .map_err($crate::rows::db)?;
                turn.commit().await.map_err($crate::rows::db)?;
                $crate::rows::affected(done.rows_affected())
            }

            async fn key_checks(&self) -> Result<Vec<mfa::store::KeyCheck>, mfa::StoreError> {
                let rows = sqlx::query("SELECT key_name, check_value FROM mfa_key_checks ORDER BY key_name")
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::rows::db)?;
                rows.iter().map($crate::store_impl::key_check_from_row).collect()
            }

            async fn record_key_checks(
                &self,
                checks: Vec<mfa::store::KeyCheck>,
            ) -> Result<Vec<mfa::store::KeyCheck>, mfa::StoreError> {
                if checks.is_empty() {
                    return Ok(Vec::new());
                }
                // Insert-if-absent, then read back what is there: on PostgreSQL a racing insert of the
                // same key waits for the first to commit and then inserts nothing, and the read (a new
                // READ COMMITTED snapshot) sees the committed row.
                let mut tx = self.begin().await?;
                let mut recorded = Vec::with_capacity(checks.len());
                for check in &checks {
                    let name = check.key.name();
                    sqlx::query(
                        "INSERT INTO mfa_key_checks (key_name, check_value) VALUES ($1, $2) \
                         ON CONFLICT (key_name) DO NOTHING",
                    )
                    .bind(&name)
                    .bind(&check.value.as_bytes()[..])
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::rows::db)?;
                    let row = sqlx::query("SELECT key_name, check_value FROM mfa_key_checks WHERE key_name = $1")
                        .bind(&name)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err($crate::rows::db)?;
                    recorded.push($crate::store_impl::key_check_from_row(&row)?);
                }
                tx.commit().await.map_err($crate::rows::db)?;
                Ok(recorded)
            }
        }
    };
}

/// A key check from `key_name, check_value`.
pub(crate) fn key_check_from_row<R>(row: &R) -> Result<mfa::store::KeyCheck, mfa::StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let name: String = row.try_get(0).map_err(crate::rows::db)?;
    let value: Vec<u8> = row.try_get(1).map_err(crate::rows::db)?;
    let key = mfa::CheckedKey::from_name(&name)
        .ok_or_else(|| mfa::StoreError::Corrupt(format!("key check: unknown key name {name:?}")))?;
    Ok(mfa::store::KeyCheck {
        key,
        value: crate::rows::tag(&value, "key check value")?,
    })
}

pub(crate) use impl_store;

/// What an attempt loaded, owned; lent to the check as [`mfa::store::LoadedCredential`].
#[derive(Debug)]
pub(crate) enum Load {
    Method {
        method: Option<mfa::store::MethodRecord>,
        challenge: Option<mfa::store::PhoneChallenge>,
    },
    Pending {
        pending: Option<mfa::store::PendingEnrollment>,
        challenge: Option<mfa::store::PhoneChallenge>,
    },
    RecoveryCode {
        found: bool,
        left: usize,
    },
    Push {
        push: Option<mfa::store::PushChallenge>,
        method: Option<mfa::store::MethodRecord>,
    },
    Passkey {
        method: Option<mfa::store::MethodRecord>,
        challenge: Option<mfa::store::PasskeyChallenge>,
    },
}

impl Load {
    pub(crate) fn as_loaded(&self) -> mfa::store::LoadedCredential<'_> {
        match self {
            Load::Method { method, challenge } => mfa::store::LoadedCredential::Method {
                method: method.as_ref(),
                challenge: challenge.as_ref(),
            },
            Load::Pending { pending, challenge } => mfa::store::LoadedCredential::Pending {
                pending: pending.as_ref(),
                challenge: challenge.as_ref(),
            },
            Load::RecoveryCode { found, left } => mfa::store::LoadedCredential::RecoveryCode {
                found: *found,
                left: *left,
            },
            Load::Push { push, method } => mfa::store::LoadedCredential::Push {
                push: push.as_ref(),
                method: method.as_ref(),
            },
            Load::Passkey { method, challenge } => mfa::store::LoadedCredential::Passkey {
                method: method.as_ref(),
                challenge: challenge.as_ref(),
            },
        }
    }
}

/// The user's row from `record, failures, locked_until, push_strikes, push_strikes_since`.
pub(crate) fn user_row<R>(row: &R) -> Result<crate::rows::UserRow, mfa::StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(crate::rows::UserRow {
        record: row.try_get(0).map_err(crate::rows::db)?,
        failures: row.try_get(1).map_err(crate::rows::db)?,
        locked_until: row.try_get(2).map_err(crate::rows::db)?,
        push_strikes: row.try_get(3).map_err(crate::rows::db)?,
        push_strikes_since: row.try_get(4).map_err(crate::rows::db)?,
    })
}

/// A push from `state, record`: the column's state replaces the JSON's.
pub(crate) fn push_from_row<R>(row: &R) -> Result<mfa::store::PushChallenge, mfa::StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let state: String = row.try_get(0).map_err(crate::rows::db)?;
    let text: String = row.try_get(1).map_err(crate::rows::db)?;
    let mut push: mfa::store::PushChallenge = crate::rows::from_json(&text, "push")?;
    push.state = crate::rows::push_state(&state)?;
    Ok(push)
}

/// A method from `record, last_accepted_step`: the column's step replaces the JSON's.
pub(crate) fn method_from_row<R>(row: &R) -> Result<mfa::store::MethodRecord, mfa::StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let text: String = row.try_get(0).map_err(crate::rows::db)?;
    let step: Option<i64> = row.try_get(1).map_err(crate::rows::db)?;
    method_from_parts(&text, step)
}

/// A method from its JSON and its `last_accepted_step` column (the column's step replaces the JSON's).
pub(crate) fn method_from_parts(
    text: &str,
    step: Option<i64>,
) -> Result<mfa::store::MethodRecord, mfa::StoreError> {
    let mut record: mfa::store::MethodRecord = crate::rows::from_json(text, "method record")?;
    if let mfa::store::Credential::AuthenticatorApp {
        last_accepted_step, ..
    } = &mut record.credential
    {
        *last_accepted_step = step.map(crate::rows::step_value).transpose()?;
    }
    Ok(record)
}

/// A device from `device_id, token_hash, name, created_at, last_used_at`.
pub(crate) fn device_from_row<R>(row: &R) -> Result<mfa::store::DeviceRecord, mfa::StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: Vec<u8> = row.try_get(0).map_err(crate::rows::db)?;
    let token_hash: Vec<u8> = row.try_get(1).map_err(crate::rows::db)?;
    Ok(mfa::store::DeviceRecord {
        id: mfa::DeviceId::from_bytes(crate::rows::id16(&id, "device id")?),
        token_hash: crate::rows::tag(&token_hash, "device token hash")?,
        name: row.try_get(2).map_err(crate::rows::db)?,
        created_at: crate::rows::time(row.try_get(3).map_err(crate::rows::db)?),
        last_used_at: crate::rows::time(row.try_get(4).map_err(crate::rows::db)?),
    })
}
