-- Grants and revocations are recorded in the audit log (`rota access grant` and `revoke`,
-- Postgres only): two more actions. The entry names the role, the capability and the tenants,
-- never a password.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN (
    'tenant.created', 'tenant.updated', 'tenant.policy_set', 'tenant.settings_set',
    'handler.set', 'job.created', 'job.updated', 'job.policy_set', 'job.paused',
    'job.resumed', 'job.enabled', 'job.disabled', 'job.auto_disabled',
    'job.deleted', 'job.triggered', 'job.backfilled', 'access.granted', 'access.revoked'));
