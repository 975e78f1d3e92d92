//! The claim's choice of tenants does not depend on the way it is found. `eligible_tenants!`
//! (src/store/sql/mod.rs) answers either by walking every unpaused tenant in claim order or,
//! when few tenants have queued runs and the tenant first in line has no ready run, by testing
//! only the tenants a loose index scan finds with queued runs. Over random queues (paused, full
//! and rate-limited tenants, runs ready, not yet ready and running, tied `last_claimed_at`, claim
//! limits on both sides of the number of tenants with queued runs), the statement each backend
//! runs returns exactly what the plain walk returns: the same tenants, in the same order, with
//! the same rooms. The store's behavioural suite (tests/store_suite.rs) covers the claim itself.

mod support;

use rota::store::claim_choice;
use support::Backend;
use uuid::Uuid;

/// A row of the choice, as both statements return it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct Chosen {
    id: Uuid,
    weight: i32,
    last_claimed_at: i64,
    room: i64,
    rate_room: Option<i64>,
    watch_throttled: bool,
}

/// SplitMix64: a fixed seed gives the same cases on every run and both backends.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    fn uuid(&mut self) -> Uuid {
        Uuid::from_u64_pair(self.next(), self.next())
    }
}

const NOW: i64 = 1_000_000;
const CASES: usize = 300;

struct Tenant {
    id: Uuid,
    paused: bool,
    max_concurrent: i64,
    weight: i64,
    last_claimed_at: i64,
    rate_limit: Option<i64>,
    notify_throttled: bool,
}

struct Run {
    tenant: usize,
    status: &'static str,
    not_before: i64,
    started_at: Option<i64>,
    rate_counted: bool,
    test_run: bool,
}

/// A random state of the queue, and the claim's limit and horizon.
struct Case {
    tenants: Vec<Tenant>,
    runs: Vec<Run>,
    limit: i64,
    horizon: i64,
}

impl Case {
    fn random(random: &mut Random) -> Case {
        let count = if random.one_in(4) { 10 + random.below(30) } else { 1 + random.below(10) };
        let tenants: Vec<Tenant> = (0..count)
            .map(|_| Tenant {
                id: random.uuid(),
                paused: random.one_in(6),
                max_concurrent: 1 + random.below(3) as i64,
                weight: 1 + random.below(3) as i64,
                // Few distinct instants: ties are ordered by id.
                last_claimed_at: 10 * random.below(4) as i64,
                rate_limit: random.one_in(4).then(|| 1 + random.below(3) as i64),
                notify_throttled: random.one_in(6),
            })
            .collect();
        // Most tenants idle, as in a flood; sometimes most busy.
        let busy_one_in = if random.one_in(3) { 1 } else { 4 };
        let mut runs = Vec::new();
        for tenant in 0..tenants.len() {
            if !random.one_in(busy_one_in) {
                continue;
            }
            for _ in 0..random.below(4) {
                let not_before =
                    [NOW - 5_000, NOW, NOW + 40, NOW + 60_000][random.below(4) as usize];
                let test_run = random.one_in(5);
                runs.push(Run {
                    tenant,
                    status: "queued",
                    not_before,
                    started_at: None,
                    rate_counted: false,
                    test_run,
                });
            }
            for _ in 0..random.below(4) {
                let started = NOW - [1_000, 30_000, 120_000][random.below(3) as usize];
                let status = if random.one_in(3) { "succeeded" } else { "running" };
                runs.push(Run {
                    tenant,
                    status,
                    not_before: started,
                    started_at: Some(started),
                    rate_counted: !random.one_in(3),
                    test_run: false,
                });
            }
        }
        Case {
            tenants,
            runs,
            limit: 1 + random.below(6) as i64,
            horizon: if random.one_in(2) { NOW } else { NOW + 50 },
        }
    }

    /// Whether the statement should answer from the tenants with queued runs (its `strategy`):
    /// the tenant first in line has no ready run, and at most `limit` tenants have queued runs.
    /// Only to check that the cases cover both ways.
    fn among_queued(&self) -> bool {
        let first = self
            .tenants
            .iter()
            .filter(|tenant| !tenant.paused)
            .min_by_key(|tenant| (tenant.last_claimed_at, tenant.id));
        let first_ready = first.is_some_and(|first| {
            self.runs.iter().any(|run| {
                self.tenants[run.tenant].id == first.id
                    && run.status == "queued"
                    && run.not_before <= self.horizon
            })
        });
        let mut queued: Vec<usize> =
            self.runs.iter().filter(|run| run.status == "queued").map(|run| run.tenant).collect();
        queued.sort_unstable();
        queued.dedup();
        !first_ready && queued.len() as i64 <= self.limit
    }
}

backend_test!(the_choice_of_tenants_is_the_walks_whichever_way_it_is_found, |db| {
    let (statement, by_walk) = match db.backend {
        Backend::Sqlite => (claim_choice::SQLITE, claim_choice::SQLITE_BY_WALK),
        Backend::Postgres => (claim_choice::POSTGRES, claim_choice::POSTGRES_BY_WALK),
    };
    // Migrated by the store, then filled and read through a raw connection.
    db.store().await.close().await;
    let mut random = Random(0x5eed_0016);
    let (mut among, mut walked, mut nonempty) = (0, 0, 0);
    for number in 0..CASES {
        let case = Case::random(&mut random);
        let (expected, chosen) = with_connection!(db, |connection| {
            // Every case in a transaction that is rolled back: the next starts empty.
            let mut tx = sqlx::Connection::begin(&mut connection).await.expect("begin");
            if db.backend == Backend::Postgres {
                // As the claim's transaction (`use_indexes`).
                sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await.unwrap();
            }
            let mut jobs = Vec::new();
            for (index, tenant) in case.tenants.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO tenants (id, name, max_concurrent, weight, paused, \
                     last_claimed_at, rate_limit_count, rate_limit_window_ms, notify_throttled, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0)",
                )
                .bind(tenant.id)
                .bind(format!("tenant-{index}"))
                .bind(tenant.max_concurrent as i32)
                .bind(tenant.weight as i32)
                .bind(tenant.paused)
                .bind(tenant.last_claimed_at)
                .bind(tenant.rate_limit.map(|count| count as i32))
                .bind(tenant.rate_limit.map(|_| 60_000_i64))
                .bind(tenant.notify_throttled)
                .execute(&mut *tx)
                .await
                .expect("tenant");
                let job = Uuid::new_v4();
                sqlx::query(
                    "INSERT INTO jobs (id, tenant_id, name, schedule, timezone, handler, payload, \
                     timeout_ms, enabled, created_at, updated_at) VALUES ($1, $2, 'job', \
                     '* * * * *', 'UTC', '{\"type\": \"named\", \"name\": \"x\"}', '{}', 1000, \
                     TRUE, 0, 0)",
                )
                .bind(job)
                .bind(tenant.id)
                .execute(&mut *tx)
                .await
                .expect("job");
                jobs.push(job);
            }
            for (index, run) in case.runs.iter().enumerate() {
                let (job, definition, trigger) = if run.test_run {
                    (None, Some(sqlx::types::Json(serde_json::json!({}))), "test")
                } else {
                    (Some(jobs[run.tenant]), None, "schedule")
                };
                sqlx::query(
                    "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, attempt, \
                     status, queued_at, not_before, started_at, lease_owner, rate_counted, \
                     definition) VALUES ($1, $2, $3, $4, $5, 1, $6, 0, $7, $8, $9, $10, $11)",
                )
                .bind(Uuid::new_v4())
                .bind(job)
                .bind(case.tenants[run.tenant].id)
                .bind(index as i64)
                .bind(trigger)
                .bind(run.status)
                .bind(run.not_before)
                .bind(run.started_at)
                .bind(run.started_at.map(|_| "node-a"))
                .bind(run.rate_counted)
                .bind(definition)
                .execute(&mut *tx)
                .await
                .expect("run");
            }
            let choose = |text: &'static str| {
                sqlx::query_as::<_, Chosen>(text).bind(NOW).bind(case.limit).bind(case.horizon)
            };
            let expected = choose(by_walk).fetch_all(&mut *tx).await.expect("the walk");
            let chosen = choose(statement).fetch_all(&mut *tx).await.expect("the claim's choice");
            tx.rollback().await.expect("rollback");
            (expected, chosen)
        });
        assert_eq!(
            chosen,
            expected,
            "case {number}: limit {}, horizon {}, {} tenants, {} runs, among queued: {}",
            case.limit,
            case.horizon - NOW,
            case.tenants.len(),
            case.runs.len(),
            case.among_queued()
        );
        if case.among_queued() {
            among += 1;
        } else {
            walked += 1;
        }
        if !expected.is_empty() {
            nonempty += 1;
        }
    }
    eprintln!("{CASES} cases: {among} among the tenants with queued runs, {walked} walked, {nonempty} chose a tenant");
    // Both ways, and real choices, were exercised.
    assert!(among >= CASES / 10 && walked >= CASES / 10, "among {among}, walked {walked}");
    assert!(nonempty >= CASES / 3, "{nonempty} cases chose a tenant");
});

/// SQLite plans a join in the order it likes unless told: without `CROSS JOIN` it walked
/// `tenants_claim_order` for the tenants among the queued ones too, testing every tenant, and
/// the loose scan saved nothing. The walk is the only branch that may scan that index.
#[tokio::test]
async fn on_sqlite_the_choice_among_queued_tenants_starts_from_them() {
    let db = support::TestDatabase::create(Backend::Sqlite).await.expect("a SQLite file");
    db.store().await.close().await;
    let plan: Vec<String> = with_connection!(db, |connection| {
        let steps: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {}", claim_choice::SQLITE))
                .fetch_all(&mut connection)
                .await
                .expect("plan");
        steps.into_iter().map(|(_, _, _, detail)| detail).collect()
    });
    let walks =
        plan.iter().filter(|step| step.starts_with("SCAN t USING INDEX tenants_claim_order"));
    assert_eq!(walks.count(), 1, "{plan:#?}");
    let among_from_ids = plan.windows(2).any(|steps| {
        steps[0] == "SCAN qt"
            && steps[1].starts_with("SEARCH t USING INDEX sqlite_autoindex_tenants_1")
    });
    assert!(among_from_ids, "among starts from the ids: {plan:#?}");
}
