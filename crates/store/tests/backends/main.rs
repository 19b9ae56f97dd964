//! The store test suite, written once and run against both backends: every test function
//! takes a fresh [`harness::TestDb`] and is instantiated for SQLite (a temp dir) and
//! PostgreSQL (a fresh database on `RINGFENCE_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; the tests fail if it is unreachable).

/// Instantiates each listed `async fn(TestDb)` as `sqlite::name` and `postgres::name`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::harness::TestDb::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::harness::TestDb::postgres().await).await;
                }
            )*
        }
    };
}

mod at_rest;
mod audit;
mod calling;
mod calls;
mod extensions;
mod fraud;
mod guard_rules;
mod harness;
mod numbers;
mod registrations;
mod tenants;
mod tokens;
mod users;
mod webhooks;
