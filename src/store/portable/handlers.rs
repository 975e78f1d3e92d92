//! Named handlers (shared SQL; see `super`).

use chrono::{DateTime, Utc};

use super::This;
use crate::audit::NewAuditEntry;
use crate::error::Result;
use crate::handler::HandlerSpec;
use crate::store::codec::RowAccess;
use crate::store::dialect::Dialect;
use crate::store::{codec, sql, HandlerStore};

impl HandlerStore for This {
    async fn upsert_named_handler(
        &self,
        name: &str,
        spec: &HandlerSpec,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let before = match sqlx::query(Self::LOCK_NAMED_HANDLER)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
        {
            Some(row) => row.opt_json("spec")?,
            None => None,
        };
        sqlx::query(sql::UPSERT_NAMED_HANDLER)
            .bind(codec::new_id(now))
            .bind(name)
            .bind(sqlx::types::Json(spec))
            .bind(codec::ms(now))
            .execute(&mut *tx)
            .await?;
        let after = crate::audit::snapshot(spec);
        let entry = NewAuditEntry::handler(operator, now, name, before, after);
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn named_handler(&self, name: &str) -> Result<Option<HandlerSpec>> {
        let row = sqlx::query(sql::NAMED_HANDLER).bind(name).fetch_optional(self.reader()).await?;
        match row {
            None => Ok(None),
            Some(row) => match row.opt_json("spec")? {
                None => Ok(None),
                Some(spec) => codec::document("named_handlers.spec", spec).map(Some),
            },
        }
    }

    async fn list_named_handlers(&self) -> Result<Vec<(String, HandlerSpec)>> {
        let rows = sqlx::query(sql::LIST_NAMED_HANDLERS).fetch_all(self.reader()).await?;
        rows.iter()
            .map(|row| {
                let spec = row.opt_json("spec")?.unwrap_or_default();
                Ok((row.text("name")?, codec::document("named_handlers.spec", spec)?))
            })
            .collect()
    }
}
