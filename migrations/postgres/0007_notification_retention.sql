-- Retention of notifications (`rota notifications prune`): settled events by when they settled.
CREATE INDEX outbox_settled ON outbox ((COALESCE(delivered_at, failed_at)))
    WHERE delivered_at IS NOT NULL OR failed_at IS NOT NULL;
