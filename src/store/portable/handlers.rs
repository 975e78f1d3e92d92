//! Named handlers (shared SQL; see `super`).

use super::This;
use crate::store::codec;
use crate::store::codec::RowAccess;
use crate::store::dialect::Dialect;
use crate::store::sql;

impl crate::store::HandlerStore for This {
    async fn upsert_named_handler(
        &self,
        name: &str,
        spec: &crate::handler::HandlerSpec,
        operator: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> crate::error::Result<()> {
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
        let entry = crate::audit::NewAuditEntry::handler(operator, now, name, before, after);
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn named_handler(
        &self,
        name: &str,
    ) -> crate::error::Result<Option<crate::handler::HandlerSpec>> {
        let row = sqlx::query(sql::NAMED_HANDLER).bind(name).fetch_optional(self.reader()).await?;
        match row {
            None => Ok(None),
            Some(row) => match row.opt_json("spec")? {
                None => Ok(None),
                Some(spec) => codec::document("named_handlers.spec", spec).map(Some),
            },
        }
    }

    async fn list_named_handlers(
        &self,
    ) -> crate::error::Result<Vec<(String, crate::handler::HandlerSpec)>> {
        let rows = sqlx::query(sql::LIST_NAMED_HANDLERS).fetch_all(self.reader()).await?;
        rows.iter()
            .map(|row| {
                let spec = row.opt_json("spec")?.unwrap_or_default();
                Ok((row.text("name")?, codec::document("named_handlers.spec", spec)?))
            })
            .collect()
    }
}
