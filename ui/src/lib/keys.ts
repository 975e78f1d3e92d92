// Query keys shared by several screens.
export const TENANTS_KEY = ["tenants"] as const;
export const JOBS_KEY = ["jobs"] as const;
