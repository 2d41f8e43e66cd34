//! Where the real Postgres, Redis and RabbitMQ are.
//!
//! For each service: its URL variable (`DATABASE_URL`, `REDIS_URL`, `AMQP_URL`) when set;
//! else the default local port when something answers there; else, with the `containers`
//! feature and a Docker engine, a container started once per test process and kept alive for
//! it; else the suite fails loudly, naming what is missing.

use std::net::TcpStream;
use std::time::Duration;

use tokio::sync::OnceCell;

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

/// Which service a URL is for.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Postgres,
    Redis,
    RabbitMq,
}

impl Kind {
    fn var(self) -> &'static str {
        match self {
            Kind::Postgres => "DATABASE_URL",
            Kind::Redis => "REDIS_URL",
            Kind::RabbitMq => "AMQP_URL",
        }
    }

    fn local(self) -> (&'static str, &'static str) {
        match self {
            Kind::Postgres => ("127.0.0.1:5432", "postgres://postgres@127.0.0.1:5432/test"),
            Kind::Redis => ("127.0.0.1:6379", "redis://127.0.0.1:6379"),
            Kind::RabbitMq => ("127.0.0.1:5672", "amqp://guest:guest@127.0.0.1:5672/%2f"),
        }
    }
}

async fn locate(kind: Kind) -> String {
    if let Ok(url) = std::env::var(kind.var())
        && !url.is_empty()
    {
        return url;
    }
    let (addr, url) = kind.local();
    if answers(addr) {
        return url.to_owned();
    }
    #[cfg(feature = "containers")]
    if let Some(url) = containers::start(kind).await {
        return url;
    }
    panic!(
        "{} is not set, nothing answers on {addr}, and no container could be started: run the \
         tests with `bash scripts/test.sh` (it starts the services), set {}, or build with \
         `--features containers` where a Docker engine runs",
        kind.var(),
        kind.var()
    );
}

static SERVICES: OnceCell<Services> = OnceCell::const_new();

/// Finds (or starts) the services once per process.
pub async fn services() -> Services {
    SERVICES
        .get_or_init(|| async {
            Services {
                database_url: locate(Kind::Postgres).await,
                redis_url: locate(Kind::Redis).await,
                amqp_url: locate(Kind::RabbitMq).await,
            }
        })
        .await
        .clone()
}

#[cfg(feature = "containers")]
mod containers {
    //! Containers for the services, started on demand and kept for the whole test process
    //! (dropping the handle would remove the container).

    use std::sync::Mutex;

    use testcontainers_modules::testcontainers::runners::AsyncRunner;
    use testcontainers_modules::testcontainers::{ContainerAsync, Image, ImageExt};
    use testcontainers_modules::{postgres, rabbitmq, redis};

    use super::Kind;

    /// Handles of started containers, alive until the process exits.
    static KEEP: Mutex<Vec<Box<dyn std::any::Any + Send>>> = Mutex::new(Vec::new());

    fn docker_present() -> bool {
        std::env::var_os("DOCKER_HOST").is_some()
            || std::path::Path::new("/var/run/docker.sock").exists()
    }

    async fn run<I: Image + 'static>(
        image: I,
        tag: &str,
        port: u16,
    ) -> Option<(ContainerAsync<I>, u16)> {
        let container = image.with_tag(tag).start().await.ok()?;
        let host_port = container.get_host_port_ipv4(port).await.ok()?;
        Some((container, host_port))
    }

    fn keep<T: Send + 'static>(handle: T) {
        if let Ok(mut k) = KEEP.lock() {
            k.push(Box::new(handle));
        }
    }

    /// Starts the service's container; `None` when there is no Docker engine.
    pub async fn start(kind: Kind) -> Option<String> {
        if !docker_present() {
            return None;
        }
        match kind {
            Kind::Postgres => {
                let image = postgres::Postgres::default()
                    .with_host_auth()
                    .with_db_name("test");
                let (c, port) = run(image, "15-alpine", 5432).await?;
                keep(c);
                Some(format!("postgres://postgres@127.0.0.1:{port}/test"))
            }
            Kind::Redis => {
                let (c, port) = run(redis::Redis::default(), "7-alpine", redis::REDIS_PORT).await?;
                keep(c);
                Some(format!("redis://127.0.0.1:{port}"))
            }
            Kind::RabbitMq => {
                let (c, port) = run(rabbitmq::RabbitMq::default(), "3.13-management", 5672).await?;
                keep(c);
                Some(format!("amqp://guest:guest@127.0.0.1:{port}/%2f"))
            }
        }
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
