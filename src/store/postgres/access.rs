//! Roles and grants on Postgres (migration 0010 holds the roles, policies and functions).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::PgStore;
use crate::access::{Capability, GrantRequest, Password, RoleAccess, TenantGrant, Whoami};
use crate::audit::{AuditAction, NewAuditEntry};
use crate::error::{Error, Result};
use crate::store::codec::{self, RowAccess};
use crate::store::{sql, AccessStore};

/// PBKDF2 iterations of the SCRAM verifier (Postgres' own default, `scram_iterations`).
const SCRAM_ITERATIONS: u32 = 4096;

impl AccessStore for PgStore {
    async fn whoami(&self) -> Result<Whoami> {
        let row = sqlx::query(sql::postgres::WHOAMI).fetch_one(&self.pool).await?;
        let grants = sqlx::query(sql::postgres::MY_GRANTS).fetch_all(&self.pool).await?;
        Ok(Whoami {
            role: row.text("role")?,
            admin: row.flag("admin")?,
            grants: grants.iter().map(tenant_grant).collect::<Result<_>>()?,
            single_user: false,
        })
    }

    async fn capability_in(&self, tenant: &str) -> Result<Option<Capability>> {
        let row =
            sqlx::query(sql::postgres::CAPABILITY_IN).bind(tenant).fetch_one(&self.pool).await?;
        row.opt_text("capability")?.map(|text| text.parse()).transpose()
    }

    async fn list_access(&self) -> Result<Vec<RoleAccess>> {
        let mut roles: BTreeMap<String, RoleAccess> = BTreeMap::new();
        for row in sqlx::query(sql::postgres::GROUP_MEMBERS).fetch_all(&self.pool).await? {
            let role = row.text("role")?;
            let access = RoleAccess {
                role: role.clone(),
                login: row.flag("login")?,
                admin: row.flag("admin")?,
                grants: Vec::new(),
            };
            roles.insert(role, access);
        }
        for row in sqlx::query(sql::postgres::ALL_GRANTS).fetch_all(&self.pool).await? {
            let role = row.text("role_name")?;
            // A grant outlives a role dropped outside Rota: it is listed, not able to log in.
            let entry = roles.entry(role.clone()).or_insert_with(|| RoleAccess {
                role,
                login: false,
                admin: false,
                grants: Vec::new(),
            });
            entry.grants.push(tenant_grant(&row)?);
        }
        Ok(roles.into_values().collect())
    }

    async fn grant_access(
        &self,
        request: &GrantRequest,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let verifier = request.password.as_ref().map(scram_verifier);
        let mut tx = self.pool.begin().await?;
        // Creating a login role, setting its password and adding it to this database's groups
        // are Postgres' own privileges (CREATEROLE), which an admin of Rota may lack: say so
        // before trying, instead of the database's "permission denied".
        let row = sqlx::query(sql::postgres::ROLE_PRIVILEGES)
            .bind(&request.role)
            .fetch_one(&mut *tx)
            .await?;
        let (me, role_exists) = (row.text("me")?, row.flag("role_exists")?);
        if !row.flag("can_create_roles")? && (!role_exists || verifier.is_some()) {
            return Err(needs_createrole(&me, &request.role, role_exists));
        }
        let created: bool = sqlx::query_scalar(sql::postgres::LOGIN_ROLE)
            .bind(&request.role)
            .bind(verifier.as_deref())
            .fetch_one(&mut *tx)
            .await
            .map_err(|error| refused_role_change(error, &me, &request.role, role_exists))?;
        if request.capability == Capability::Admin {
            sqlx::query(sql::postgres::MAKE_ADMIN)
                .bind(&request.role)
                .execute(&mut *tx)
                .await
                .map_err(|error| refused_role_change(error, &me, &request.role, role_exists))?;
        }
        for tenant in &request.tenants {
            let granted = sqlx::query(sql::postgres::UPSERT_GRANT)
                .bind(&request.role)
                .bind(tenant)
                .bind(request.capability.as_str())
                .bind(codec::ms(now))
                .fetch_optional(&mut *tx)
                .await?;
            if granted.is_none() {
                return Err(codec::not_found("tenant", tenant));
            }
        }
        // What was granted, never the password (only whether one was set).
        let after = serde_json::json!({
            "role": request.role,
            "capability": request.capability.as_str(),
            "tenants": request.tenants,
            "login_created": created,
            // Whether the login role got a new password (the redaction hides any field named after one).
            "login_updated": request.password.is_some(),
        });
        let entry =
            NewAuditEntry::access(AuditAction::AccessGranted, operator, now, None, Some(after));
        PgStore::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn revoke_access(
        &self,
        role: &str,
        tenant: Option<&str>,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let login: Option<bool> = sqlx::query_scalar(sql::postgres::ROLE_LOGIN)
            .bind(role)
            .fetch_optional(&mut *tx)
            .await?;
        let removed = match tenant {
            Some(tenant) => {
                let exists: bool = sqlx::query_scalar(sql::postgres::TENANT_EXISTS)
                    .bind(tenant)
                    .fetch_one(&mut *tx)
                    .await?;
                if !exists {
                    return Err(codec::not_found("tenant", tenant));
                }
                sqlx::query(sql::postgres::DELETE_GRANT)
                    .bind(role)
                    .bind(tenant)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            }
            None => {
                let removed = sqlx::query(sql::postgres::DELETE_GRANTS)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if login.is_some() {
                    sqlx::query(sql::postgres::LEAVE_GROUPS).bind(role).execute(&mut *tx).await?;
                }
                removed
            }
        };
        if login.is_none() && removed == 0 {
            return Err(codec::not_found("role", role));
        }
        let before = serde_json::json!({
            "role": role,
            // `null`: every tenant, and the role's membership of this database's groups.
            "tenant": tenant,
            "grants_removed": removed,
        });
        let entry =
            NewAuditEntry::access(AuditAction::AccessRevoked, operator, now, Some(before), None);
        PgStore::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(removed)
    }
}

/// The error for an admin whose database role lacks CREATEROLE: what is missing, and the two
/// ways out.
fn needs_createrole(me: &str, role: &str, role_exists: bool) -> Error {
    let what = if role_exists {
        "setting a login role's password or adding it to this database's groups"
    } else {
        "creating the login role"
    };
    Error::invalid(
        "role",
        role,
        format!(
            "{what} needs the Postgres privilege CREATEROLE, which the database role {me} lacks: \
             ask a superuser to run `ALTER ROLE {me} CREATEROLE`, or to create the login role \
             (`CREATE ROLE {role} LOGIN PASSWORD '...'`) and then grant again without --password"
        ),
    )
}

/// A refusal while changing roles (Postgres' 42501) as [`needs_createrole`]; other errors as
/// they are.
fn refused_role_change(error: sqlx::Error, me: &str, role: &str, role_exists: bool) -> Error {
    if codec::is_insufficient_privilege(&error) {
        return needs_createrole(me, role, role_exists);
    }
    Error::from(error)
}

fn tenant_grant(row: &sqlx::postgres::PgRow) -> Result<TenantGrant> {
    Ok(TenantGrant { tenant: row.text("tenant")?, capability: row.text("capability")?.parse()? })
}

/// The SCRAM-SHA-256 verifier Postgres stores for `password` (RFC 5802 and 7677, in the form
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`), computed here as `psql`'s
/// `\password` does, so the password never travels to the server or into its logs.
fn scram_verifier(password: &Password) -> String {
    // A version 4 UUID is 122 random bits from the operating system.
    let salt = uuid::Uuid::new_v4().into_bytes();
    scram_verifier_with_salt(password.expose(), &salt, SCRAM_ITERATIONS)
}

fn scram_verifier_with_salt(password: &str, salt: &[u8], iterations: u32) -> String {
    use base64::Engine as _;
    let base64 = base64::engine::general_purpose::STANDARD;
    // Clients hash the SASLprep form of what was typed (RFC 4013: compatibility characters
    // and non-ASCII spaces mapped, NFKC), and, as libpq's pg_saslprep, the text itself when it
    // has no such form (prohibited or unassigned characters). Hashing the raw text of a
    // password SASLprep changes would store a verifier no login can match.
    let prepared = stringprep::saslprep(password).unwrap_or(std::borrow::Cow::Borrowed(password));
    let salted = pbkdf2_sha256(prepared.as_bytes(), salt, iterations);
    let client_key = hmac_sha256(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac_sha256(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        base64.encode(salt),
        base64.encode(stored_key),
        base64.encode(server_key)
    )
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// PBKDF2-HMAC-SHA256 with one output block (32 bytes, SCRAM's `Hi`).
fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut block = salt.to_vec();
    block.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac_sha256(password, &block);
    let mut result = u;
    for _ in 1..iterations {
        u = hmac_sha256(password, &u);
        for (out, byte) in result.iter_mut().zip(u) {
            *out ^= byte;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's test vector: "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    #[test]
    fn scram_keys_match_rfc_7677() {
        use base64::Engine as _;
        let base64 = base64::engine::general_purpose::STANDARD;
        let salt = base64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = pbkdf2_sha256(b"pencil", &salt, 4096);
        let client_key = hmac_sha256(&salted, b"Client Key");
        let server_key = hmac_sha256(&salted, b"Server Key");
        // RFC 7677 gives the exchange's proofs; these are the keys behind them, as Python's
        // hashlib.pbkdf2_hmac and hmac compute them (an independent implementation).
        assert_eq!(
            base64.encode(Sha256::digest(client_key)),
            "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="
        );
        assert_eq!(base64.encode(server_key), "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
    }

    /// What the server itself stores for a password (`CREATE ROLE ... PASSWORD`, hashed by
    /// Postgres with its own SASLprep) is what this module computes with the server's salt, for
    /// passwords that SASLprep changes, ones it leaves alone, and one it cannot prepare. Before,
    /// non-ASCII passwords were refused, because the raw text was hashed.
    #[tokio::test]
    async fn verifiers_match_the_servers_own_for_unicode_passwords() {
        use sqlx::Connection as _;
        let url = std::env::var("ROTA_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let mut server = match sqlx::PgConnection::connect(&url).await {
            Ok(connection) => connection,
            Err(error)
                if std::env::var_os("CI").is_none()
                    && std::env::var_os("ROTA_REQUIRE_POSTGRES").is_none() =>
            {
                eprintln!("skipped: Postgres unreachable at {url}: {error}");
                return;
            }
            Err(error) => panic!("Postgres is required but unreachable at {url}: {error}"),
        };
        let role = format!("rota_test_scram_{}", uuid::Uuid::new_v4().simple());
        sqlx::query("SET password_encryption = 'scram-sha-256'")
            .execute(&mut server)
            .await
            .unwrap();
        let passwords = [
            "\u{FB01}x\u{00A0}it", // a ligature and a no-break space: "fix it" after SASLprep
            "Ma\u{00DF}nahme caf\u{00E9} \u{2163}", // sharp s, e acute, a Roman numeral four
            "tr\u{00E8}s s\u{00FB}r", // unchanged by SASLprep
            "pr\u{0627}1",         // right-to-left with a digit last: no SASLprep form
        ];
        let mut mismatches = Vec::new();
        for password in passwords {
            assert!(Password::new(password).is_ok(), "{password:?} refused");
            // CREATE ROLE takes no parameters: Postgres quotes the literal itself.
            let statement: String = sqlx::query_scalar(
                "SELECT format('CREATE ROLE %I PASSWORD %L', $1::text, $2::text)",
            )
            .bind(&role)
            .bind(password)
            .fetch_one(&mut server)
            .await
            .unwrap();
            sqlx::query(&statement).execute(&mut server).await.unwrap();
            let stored: String =
                sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = $1")
                    .bind(&role)
                    .fetch_one(&mut server)
                    .await
                    .unwrap();
            sqlx::query(&format!("DROP ROLE \"{role}\"")).execute(&mut server).await.unwrap();
            let (iterations, rest) =
                stored.strip_prefix("SCRAM-SHA-256$").unwrap().split_once(':').unwrap();
            let (salt, _) = rest.split_once('$').unwrap();
            use base64::Engine as _;
            let salt = base64::engine::general_purpose::STANDARD.decode(salt).unwrap();
            let ours = scram_verifier_with_salt(password, &salt, iterations.parse().unwrap());
            if ours != stored {
                mismatches.push(format!("{password:?}: server {stored}, ours {ours}"));
            }
        }
        server.close().await.unwrap();
        assert!(mismatches.is_empty(), "{mismatches:#?}");
    }

    #[test]
    fn control_characters_are_refused_with_the_field_named() {
        let error = Password::new("line\nbreak").unwrap_err().to_string();
        assert!(error.contains("password") && error.contains("control"), "{error}");
        assert!(!error.contains("break"), "the password is not echoed: {error}");
    }

    #[test]
    fn verifiers_have_postgres_form_and_a_fresh_salt() {
        let password = Password::new("hunter2").unwrap();
        let (a, b) = (scram_verifier(&password), scram_verifier(&password));
        assert!(a.starts_with("SCRAM-SHA-256$4096:") && !a.contains("hunter2"), "{a}");
        assert_ne!(a, b);
    }
}
