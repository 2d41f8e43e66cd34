//! Where the real Postgres, Redis and RabbitMQ are.
//!
//! `DATABASE_URL`, `REDIS_URL` and `AMQP_URL` win when set; otherwise the default local
//! ports are used when something answers there. No Docker engine runs on our CI machines, so
//! the suite runs against services started by the test command (`scripts/test.sh`).

use std::net::TcpStream;
use std::time::Duration;

/// The URLs of the three services.
#[derive(Debug, Clone)]
pub struct Services {
    /// Admin connection: used to create one database per test.
    pub database_url: String,
    pub redis_url: String,
    pub amqp_url: String,
}

fn answers(addr: &str) -> bool {
    addr.parse()
        .ok()
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
}

fn pick(var: &str, default_url: &str, default_addr: &str) -> String {
    if let Ok(url) = std::env::var(var)
        && !url.is_empty()
    {
        return url;
    }
    assert!(
        answers(default_addr),
        "{var} is not set and nothing answers on {default_addr}: run the tests with \
         `bash scripts/test.sh`, which starts the services, or set {var}"
    );
    default_url.to_owned()
}

/// Finds the services, failing loudly when one is missing.
pub fn services() -> Services {
    Services {
        database_url: pick(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/test",
            "127.0.0.1:5432",
        ),
        redis_url: pick("REDIS_URL", "redis://127.0.0.1:6379", "127.0.0.1:6379"),
        amqp_url: pick(
            "AMQP_URL",
            "amqp://guest:guest@127.0.0.1:5672/%2f",
            "127.0.0.1:5672",
        ),
    }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_path(&format!("/{db}"));
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}
