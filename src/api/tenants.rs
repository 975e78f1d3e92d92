//! Tenants: creating and listing them, their limits and policies (rate limit, job defaults), and
//! their settings (notification channels, command defaults), used by `rota tenant`, by
//! schedules as files and by the console's tenants screen.

use super::Rota;
use crate::error::{Error, Result};
use crate::store::{JobFilter, Store};
use crate::tenant::{NewTenant, Tenant};

pub use crate::policy::{RateLimit, TenantPolicy};
pub use crate::store::{TenantSettings, TenantSettingsUpdate, TenantUpdate};

/// Checks a tenant's settings: an http(s) webhook URL, an address with an `@`, limits in range,
/// a valid user name, an absolute working directory. The error names the field.
pub fn validate_tenant_settings(settings: &TenantSettings) -> Result<()> {
    if let Some(url) = &settings.webhook_url {
        crate::handler::HttpSpec::post(url.clone())
            .parsed_url()
            .map_err(|error| Error::invalid("webhook_url", "", error.to_string()))?;
    }
    if let Some(email) = &settings.notify_email {
        let valid = email.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && !host.is_empty() && !email.chars().any(char::is_whitespace)
        });
        if !valid {
            return Err(Error::invalid("notify_email", email, "not an email address"));
        }
    }
    settings
        .command_limits
        .validate()
        .map_err(|error| Error::invalid("limits", "", error.to_string()))?;
    if let Some(user) = &settings.run_as {
        crate::handler::spec::validate_user_name(user)
            .map_err(|error| Error::invalid("run_as", user, error.to_string()))?;
    }
    if let Some(dir) = &settings.work_dir {
        validate_work_dir(dir, settings.run_as.as_deref())?;
    }
    Ok(())
}

/// A tenant's working directory: absolute, not a system directory (`/`, `/etc`, `/usr`, ...),
/// and, if it exists, a real directory (not a link) that the run-as user owns, since Rota gives
/// a directory to the run-as user only when it creates it. (The engine checks again at each
/// run, as the user the command runs as.)
fn validate_work_dir(dir: &std::path::Path, run_as: Option<&str>) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |reason: String| Err(Error::invalid("work_dir", dir.display(), reason));
    if !dir.is_absolute() {
        return refuse("must be an absolute path".into());
    }
    if let Some(problem) = crate::handler::isolation::work_dir_problem(dir) {
        return refuse(problem);
    }
    let Ok(metadata) = std::fs::symlink_metadata(dir) else { return Ok(()) };
    if metadata.file_type().is_symlink() {
        return refuse("is a symbolic link; name the directory it points to".into());
    }
    let owner = run_as.and_then(|name| nix::unistd::User::from_name(name).ok().flatten());
    match owner {
        Some(user) if user.uid.as_raw() != metadata.uid() => refuse(format!(
            "exists and belongs to uid {}, not to the run-as user {} (uid {}); Rota gives a \
             directory to the run-as user only when it creates it: change its owner, or name a \
             directory that does not exist yet",
            metadata.uid(),
            user.name,
            user.uid
        )),
        _ => Ok(()),
    }
}

impl<S: Store> Rota<S> {
    /// Creates a tenant with a rate limit and job defaults (`TenantPolicy::default()`: none);
    /// both are validated before anything is written.
    pub async fn add_tenant(&self, tenant: &NewTenant, policy: &TenantPolicy) -> Result<Tenant> {
        tenant.validate()?;
        policy.validate()?;
        self.require_admin().await?;
        let created = self.store.create_tenant(tenant, &self.operator, self.now()).await?;
        if *policy == TenantPolicy::default() {
            return Ok(created);
        }
        self.store.set_tenant_policy(&created.name, policy, &self.operator, self.now()).await
    }

    pub async fn tenant(&self, name: &str) -> Result<Tenant> {
        self.store.tenant_by_name(name).await
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.store.list_tenants().await
    }

    /// Changes a tenant's limits or pauses/resumes it (`None` fields stay as they are) and,
    /// when `policy` is given, replaces its rate limit and job defaults; everything is validated
    /// before anything is written.
    pub async fn update_tenant(
        &self,
        name: &str,
        update: &TenantUpdate,
        policy: Option<&TenantPolicy>,
    ) -> Result<Tenant> {
        if let Some(max_concurrent) = update.max_concurrent {
            crate::tenant::validate_limit("max_concurrent", max_concurrent)?;
        }
        if let Some(weight) = update.weight {
            crate::tenant::validate_limit("weight", weight)?;
        }
        if let Some(policy) = policy {
            policy.validate()?;
        }
        self.require_admin().await?;
        let updated = self.store.update_tenant(name, update, &self.operator, self.now()).await?;
        match policy {
            Some(policy) if *policy != updated.policy => {
                self.store.set_tenant_policy(name, policy, &self.operator, self.now()).await
            }
            _ => Ok(updated),
        }
    }

    /// Replaces a tenant's rate limit and job defaults.
    pub async fn set_tenant_policy(&self, name: &str, policy: &TenantPolicy) -> Result<Tenant> {
        policy.validate()?;
        self.require_admin().await?;
        self.store.set_tenant_policy(name, policy, &self.operator, self.now()).await
    }

    /// The channels and command defaults of tenant `name` (the secret stays redacted in `Debug`).
    /// Admins only: they hold the webhook's secret and URL.
    pub async fn tenant_settings(&self, name: &str) -> Result<TenantSettings> {
        self.require_admin().await?;
        self.store.tenant_settings(name).await
    }

    /// Changes a tenant's channels and command defaults; `None` fields stay as they are.
    pub async fn update_tenant_settings(
        &self,
        name: &str,
        update: &TenantSettingsUpdate,
    ) -> Result<TenantSettings> {
        self.update_tenant_settings_with(name, update, JobsCheck::Ceiling).await
    }

    /// [`Rota::update_tenant_settings`]; with [`JobsCheck::Skip`], a new run-as user is not
    /// checked against the tenant's stored jobs (`rota apply` checked the jobs the tenant will
    /// have, and updates them next; the engine refuses any run above the ceiling meanwhile).
    pub(crate) async fn update_tenant_settings_with(
        &self,
        name: &str,
        update: &TenantSettingsUpdate,
        jobs: JobsCheck,
    ) -> Result<TenantSettings> {
        self.require_admin().await?;
        let mut merged = self.store.tenant_settings(name).await?;
        if let Some(url) = &update.webhook_url {
            merged.webhook_url = url.clone();
        }
        if let Some(email) = &update.notify_email {
            merged.notify_email = email.clone();
        }
        if let Some(limits) = &update.command_limits {
            merged.command_limits = limits.clone();
        }
        if let Some(user) = &update.run_as {
            merged.run_as = user.clone();
        }
        if let Some(dir) = &update.work_dir {
            merged.work_dir = dir.clone();
        }
        validate_tenant_settings(&merged)?;
        if let (Some(Some(ceiling)), JobsCheck::Ceiling) = (&update.run_as, jobs) {
            self.check_jobs_under(name, ceiling).await?;
        }
        self.store.update_tenant_settings(name, update, &self.operator, self.now()).await
    }

    /// Refuses `ceiling` as tenant `name`'s run-as user while one of its jobs names another.
    async fn check_jobs_under(&self, name: &str, ceiling: &str) -> Result<()> {
        let filter = JobFilter {
            tenant: Some(name.to_owned()),
            limit: Some(u32::MAX),
            ..JobFilter::default()
        };
        for job in self.store.list_jobs(&filter).await? {
            if let Some(user) = self.handler_run_as(&job.handler).await? {
                if user != ceiling {
                    return Err(Error::invalid(
                        "run_as",
                        ceiling,
                        format!(
                            "the tenant's job {:?} runs as {user:?}; change or remove its run_as \
                             first",
                            job.name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether changing a tenant's run-as user checks its stored jobs against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobsCheck {
    Ceiling,
    Skip,
}
