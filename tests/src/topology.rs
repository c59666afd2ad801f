//! Split-role topologies: catalog processes, a gateway and probers started apart on one database
//! and one storage, each told where the others listen. Every split-role test starts from here.

use crate::{Engine, Role, ScratchDir, TestAmqp, TestDb, TestStorage, cli};

/// Separate catalog and gateway processes, an account `acme` with a key, and probers on demand.
pub struct Split {
    pub scratch: ScratchDir,
    pub db: TestDb,
    pub storage: TestStorage,
    pub key: String,
    /// The catalogs, all on the same database; the gateway calls the first.
    pub catalogs: Vec<Role>,
    pub gateway: Role,
    /// Flags for RabbitMQ (catalogs and probers), empty on the embedded queue.
    amqp: Vec<String>,
    /// Flags every role gets (a service token, an OTLP endpoint).
    shared: Vec<String>,
}

/// What a [`Split`] is made of; [`SplitBuilder::start`] starts it.
pub struct SplitBuilder {
    engine: Engine,
    catalogs: usize,
    amqp: Vec<String>,
    shared: Vec<String>,
    storage: Option<TestStorage>,
}

impl Split {
    /// One catalog and a gateway on `engine`: the embedded queue, or RabbitMQ with `amqp`.
    pub async fn start(engine: Engine, amqp: Option<&TestAmqp>) -> Option<Self> {
        Self::builder(engine).amqp(amqp).start().await
    }

    pub fn builder(engine: Engine) -> SplitBuilder {
        SplitBuilder {
            engine,
            catalogs: 1,
            amqp: Vec::new(),
            shared: Vec::new(),
            storage: None,
        }
    }

    /// The catalog the gateway calls.
    pub fn catalog(&self) -> &Role {
        &self.catalogs[0]
    }

    pub fn catalog_mut(&mut self) -> &mut Role {
        &mut self.catalogs[0]
    }

    /// A prober's command line, recording through the gateway's catalog: one job at a time, a
    /// few prefetched, a 2 s probe timeout.
    pub fn prober_args(&self) -> Vec<String> {
        self.prober_args_via(0)
    }

    /// Like [`Split::prober_args`], recording through catalog `index`.
    pub fn prober_args_via(&self, index: usize) -> Vec<String> {
        let mut args: Vec<String> = [
            "prober",
            "--catalog-url",
            &self.catalogs[index].addr,
            "--probe-concurrency",
            "1",
            "--probe-prefetch",
            "4",
            "--probe-timeout-secs",
            "2",
        ]
        .map(String::from)
        .to_vec();
        args.extend(self.amqp.iter().cloned());
        args.extend(self.storage.args());
        args.extend(self.shared.iter().cloned());
        args
    }

    /// Starts a prober from [`Split::prober_args`], logging to `<name>.log` in the scratch dir.
    pub fn start_prober(&self, name: &str) -> Role {
        self.start_prober_via(0, name)
    }

    pub fn start_prober_via(&self, index: usize, name: &str) -> Role {
        let log = self.scratch.path().join(format!("{name}.log"));
        Role::spawn(&self.prober_args_via(index), &log)
    }

    /// A gateway's command line calling the catalog at `catalog_url`, on this topology's storage.
    pub fn gateway_args(&self, catalog_url: &str) -> Vec<String> {
        gateway_args(catalog_url, &self.storage, &self.shared)
    }
}

impl SplitBuilder {
    /// RabbitMQ for the job queue instead of the embedded one.
    pub fn amqp(mut self, amqp: Option<&TestAmqp>) -> Self {
        self.amqp = amqp.map(TestAmqp::args).unwrap_or_default();
        self
    }

    /// `count` catalog processes on the same database.
    pub fn catalogs(mut self, count: usize) -> Self {
        assert!(count >= 1, "a topology has at least one catalog");
        self.catalogs = count;
        self
    }

    /// Objects on `storage` (an S3 bucket) instead of a directory of the scratch dir.
    pub fn storage(mut self, storage: TestStorage) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Flags for every role of the topology, probers included.
    pub fn args(mut self, args: impl IntoIterator<Item = String>) -> Self {
        self.shared.extend(args);
        self
    }

    /// Creates the database and an API key for `acme`, then starts the catalogs and the
    /// gateway and waits until each has bound its listeners. `None` when the engine is
    /// unavailable and not required.
    pub async fn start(self) -> Option<Split> {
        let scratch = ScratchDir::new();
        let db = TestDb::create(self.engine, scratch.path()).await?;
        cli(&["migrate", "--database-url", &db.url]);
        let key = cli(&[
            "keys",
            "create",
            "--account",
            "acme",
            "--database-url",
            &db.url,
        ]);
        let storage = self.storage.unwrap_or_else(|| TestStorage::fs(&scratch));
        let mut catalogs = Vec::new();
        for i in 0..self.catalogs {
            let mut args: Vec<String> = [
                "catalog",
                "--catalog-grpc-addr",
                "127.0.0.1:0",
                "--database-url",
                &db.url,
            ]
            .map(String::from)
            .to_vec();
            args.extend(self.amqp.iter().cloned());
            args.extend(self.shared.iter().cloned());
            let log = match i {
                0 => scratch.path().join("catalog.log"),
                i => scratch.path().join(format!("catalog-{i}.log")),
            };
            catalogs.push(Role::start(&args, &log, false).await);
        }
        let args = gateway_args(&catalogs[0].addr, &storage, &self.shared);
        let gateway = Role::start(&args, &scratch.path().join("gateway.log"), true).await;
        Some(Split {
            scratch,
            db,
            storage,
            key,
            catalogs,
            gateway,
            amqp: self.amqp,
            shared: self.shared,
        })
    }
}

fn gateway_args(catalog_url: &str, storage: &TestStorage, shared: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "gateway",
        "--http-addr",
        "127.0.0.1:0",
        "--catalog-url",
        catalog_url,
    ]
    .map(String::from)
    .to_vec();
    args.extend(storage.args());
    args.extend_from_slice(shared);
    args
}
