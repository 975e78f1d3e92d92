-- Per-tenant channels and command defaults (issue 5). Kept in step with migrations/postgres.
--
-- webhook_secret is stored as given: it is a shared HMAC key that Rota itself must read to sign
-- requests, so it cannot be hashed. Protect the database accordingly; Rota never prints it (the
-- CLI shows "secret: set") and `rota export` never writes it.
ALTER TABLE tenants ADD COLUMN webhook_url TEXT;
ALTER TABLE tenants ADD COLUMN webhook_secret TEXT;
ALTER TABLE tenants ADD COLUMN notify_email TEXT;
-- Defaults for the tenant's command handlers: resource limits (JSON text with cpu_seconds,
-- address_space_bytes, open_files, processes), run-as user, working directory.
ALTER TABLE tenants ADD COLUMN command_limits TEXT;
ALTER TABLE tenants ADD COLUMN run_as TEXT;
ALTER TABLE tenants ADD COLUMN work_dir TEXT;
