-- Typed states instead of text conventions (additive: older binaries keep working).
--
-- Who disabled a job: a person, or the engine after consecutive failed occurrences. Until now the
-- engine's disables were told apart by the text 'auto' in disabled_reason, which a person's
-- reason could not use. The engine still writes 'auto' there, so older binaries in a rolling
-- upgrade read the same state.
ALTER TABLE jobs ADD COLUMN disabled_by TEXT CHECK (disabled_by IN ('person', 'engine'));
UPDATE jobs
SET disabled_by = CASE WHEN disabled_reason = 'auto' THEN 'engine' ELSE 'person' END
WHERE NOT enabled;

-- The outbox holds only the event types Rota knows (`rota::event::EventKind`). SQLite cannot
-- add a CHECK to an existing table without rebuilding it (which would drop and rename the
-- table), so triggers state the same constraint.
CREATE TRIGGER outbox_type_known_insert BEFORE INSERT ON outbox
WHEN NEW.type NOT IN ('job.auto_disabled', 'job.re_enabled', 'run.failed', 'tenant.throttled')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: outbox_type_known');
END;
CREATE TRIGGER outbox_type_known_update BEFORE UPDATE OF type ON outbox
WHEN NEW.type NOT IN ('job.auto_disabled', 'job.re_enabled', 'run.failed', 'tenant.throttled')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: outbox_type_known');
END;
