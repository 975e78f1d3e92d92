-- Calendars (issue 17), SQLite dialect: the same tables and columns as migrations/postgres
-- (see there). No roles or row-level policies here (SQLite is single-user).
CREATE TABLE calendars (
    id         BLOB PRIMARY KEY NOT NULL,
    tenant_id  BLOB REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version    BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX calendars_tenant_name ON calendars (tenant_id, name) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX calendars_shared_name ON calendars (name) WHERE tenant_id IS NULL;

ALTER TABLE jobs ADD COLUMN exclude_calendars TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN only_calendar TEXT;
ALTER TABLE jobs ADD COLUMN on_excluded TEXT NOT NULL DEFAULT 'skip'
    CHECK (on_excluded IN ('skip', 'next', 'previous'));
