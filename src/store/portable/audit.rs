//! The audit log (shared SQL; see `super`).

use super::{Db, This};
use crate::audit::{AuditEntry, AuditFilter};
use crate::error::Result;
use crate::store::dialect::Dialect;
use crate::store::{codec, sql, AuditLog};

impl AuditLog for This {
    async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let limit = codec::bounded_limit(filter.limit, codec::DEFAULT_RUN_LIMIT);
        let mut query = sqlx::QueryBuilder::<Db>::new(sql::SELECT_AUDIT);
        query.push(" WHERE 1 = 1");
        if let Some(tenant) = &filter.tenant {
            query.push(" AND tenant = ").push_bind(tenant.as_str());
        }
        if let Some(job) = &filter.job {
            query.push(" AND job = ").push_bind(job.as_str());
        }
        if let Some(since) = filter.since {
            query.push(" AND at >= ").push_bind(codec::ms(since));
        }
        query.push(" ORDER BY at DESC, id DESC LIMIT ").push_bind(limit);
        let rows = query.build().fetch_all(self.reader()).await?;
        rows.iter().map(codec::audit_entry).collect()
    }
}
