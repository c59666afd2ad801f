//! The assetd binary: parses the command line once, sets up logging, and runs the chosen role or admin command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod process;
mod roles;
mod upload_cli;

use assetd_catalog::{CatalogConfig, config::DatabaseConfig};
use assetd_gateway::GatewayConfig;
use assetd_notifier::NotifierConfig;
use assetd_platform::{
    admin::{self, AdminConfig},
    amqp::AmqpConfig,
    service_token::ServiceTokenConfig,
    storage::StorageConfig,
    telemetry,
};
use assetd_prober::ProberConfig;
use assetd_proto::catalog::v1::{ReprobeRequest, reprobe_request::Target};

/// assetd: an asset-upload service speaking the Indream Open API for uploads, assets and projects.
#[derive(Parser, Debug)]
#[command(name = "assetd", version, about)]
struct Cli {
    #[command(flatten)]
    telemetry: telemetry::TelemetryConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // Parsed once at start; boxing the configs buys nothing.
enum Command {
    /// Every role in one process: the embedded default (SQLite and a local directory unless configured otherwise).
    Serve {
        #[command(flatten)]
        catalog: CatalogConfig,
        #[command(flatten)]
        gateway: GatewayConfig,
        #[command(flatten)]
        storage: StorageConfig,
        #[command(flatten)]
        prober: ProberConfig,
        #[command(flatten)]
        notifier: NotifierConfig,
        #[command(flatten)]
        amqp: AmqpConfig,
        #[command(flatten)]
        admin: AdminConfig,
        #[command(flatten)]
        service_token: ServiceTokenConfig,
    },
    /// The HTTP API; records go to a catalog over gRPC.
    Gateway {
        #[command(flatten)]
        gateway: GatewayConfig,
        #[command(flatten)]
        storage: StorageConfig,
        #[command(flatten)]
        catalog: CatalogUrl,
        #[command(flatten)]
        admin: AdminConfig,
        #[command(flatten)]
        service_token: ServiceTokenConfig,
    },
    /// The catalog's gRPC service over the database (and, with RabbitMQ, the outbox relay). Run `assetd migrate` first.
    Catalog {
        #[command(flatten)]
        catalog: CatalogConfig,
        #[command(flatten)]
        amqp: AmqpConfig,
        #[command(flatten)]
        admin: AdminConfig,
        #[command(flatten)]
        service_token: ServiceTokenConfig,
    },
    /// The media probe worker: takes probe jobs from RabbitMQ (or the catalog's embedded queue)
    /// and records width, height and duration through the catalog; and the notifier, which sends
    /// the webhook deliveries the same way.
    Prober {
        #[command(flatten)]
        prober: ProberConfig,
        #[command(flatten)]
        notifier: NotifierConfig,
        #[command(flatten)]
        amqp: AmqpConfig,
        #[command(flatten)]
        storage: StorageConfig,
        #[command(flatten)]
        catalog: CatalogUrl,
        #[command(flatten)]
        admin: AdminConfig,
        #[command(flatten)]
        service_token: ServiceTokenConfig,
    },
    /// Queues a new probe of one asset, or of every asset whose probe failed.
    Reprobe {
        /// The asset to probe again.
        #[arg(
            long,
            conflicts_with = "all_failed",
            required_unless_present = "all_failed"
        )]
        asset_id: Option<String>,
        /// Every asset whose probe status is `failed`.
        #[arg(long)]
        all_failed: bool,
        #[command(flatten)]
        catalog: CatalogUrl,
        #[command(flatten)]
        service_token: ServiceTokenConfig,
    },
    /// Applies the database migrations and exits.
    Migrate {
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// API key administration.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Account administration.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Uploads files to an assetd server through its HTTP API, with progress; large files
    /// resumably (tus 1.0).
    Upload(Box<upload_cli::UploadArgs>),
}

/// Where a role or admin command finds the catalog.
#[derive(clap::Args, Debug)]
struct CatalogUrl {
    /// gRPC URL of the catalog.
    #[arg(
        long,
        env = "ASSETD_CATALOG_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    catalog_url: String,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Creates an API key for an account (creating the account if needed) and prints only the key.
    Create {
        /// The account's name.
        #[arg(long)]
        account: String,
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

#[derive(Subcommand, Debug)]
enum AccountsCommand {
    /// Allows the account's keys to use the Open API (the default for new accounts).
    Enable {
        /// The account's name.
        name: String,
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// Refuses the account's keys with 403 OPEN_API_RUNTIME_ACCESS_FORBIDDEN.
    Disable {
        /// The account's name.
        name: String,
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    // A client of the HTTP API: its output is progress and results, not the roles' logs.
    let command = match cli.command {
        Command::Upload(args) => return runtime.block_on(upload_cli::run(*args)),
        command => command,
    };
    // The OTLP exporter's client is set up on (and runs on) the runtime.
    let telemetry = {
        let _runtime = runtime.enter();
        match telemetry::init(&cli.telemetry, command.service_name()) {
            Ok(telemetry) => telemetry,
            Err(err) => {
                eprintln!("error: {err:#}");
                return ExitCode::FAILURE;
            }
        }
    };
    let outcome = runtime.block_on(run(command));
    if let Err(err) = &outcome {
        tracing::error!(error = format!("{err:#}"), "assetd failed");
        eprintln!("error: {err:#}");
    }
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

impl Command {
    /// The name this process has in exported traces (unless `OTEL_SERVICE_NAME` says otherwise).
    fn service_name(&self) -> &'static str {
        match self {
            Command::Serve { .. } => "assetd",
            Command::Gateway { .. } => "assetd-gateway",
            Command::Catalog { .. } => "assetd-catalog",
            Command::Prober { .. } => "assetd-prober",
            Command::Reprobe { .. }
            | Command::Migrate { .. }
            | Command::Keys { .. }
            | Command::Accounts { .. } => "assetd-admin",
            Command::Upload(_) => "assetd-upload",
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve {
            catalog,
            gateway,
            storage,
            prober,
            notifier,
            amqp,
            admin,
            service_token,
        } => {
            roles::serve(
                catalog,
                gateway,
                storage,
                (prober, notifier),
                amqp,
                admin,
                service_token,
                admin::install_metrics()?,
            )
            .await
        }
        Command::Gateway {
            gateway,
            storage,
            catalog,
            admin,
            service_token,
        } => {
            roles::gateway(
                gateway,
                storage,
                catalog.catalog_url,
                admin,
                service_token,
                admin::install_metrics()?,
            )
            .await
        }
        Command::Catalog {
            catalog,
            amqp,
            admin,
            service_token,
        } => {
            roles::catalog(
                catalog,
                amqp,
                admin,
                service_token,
                admin::install_metrics()?,
            )
            .await
        }
        Command::Prober {
            prober,
            notifier,
            amqp,
            storage,
            catalog,
            admin,
            service_token,
        } => {
            roles::prober(
                (prober, notifier),
                amqp,
                storage,
                catalog.catalog_url,
                admin,
                service_token,
                admin::install_metrics()?,
            )
            .await
        }
        Command::Reprobe {
            asset_id,
            all_failed,
            catalog,
            service_token,
        } => {
            let target = match asset_id {
                Some(asset_id) => Target::AssetId(asset_id),
                None => Target::AllFailed(all_failed),
            };
            let queued = roles::reprobe(
                &catalog.catalog_url,
                &service_token,
                ReprobeRequest {
                    target: Some(target),
                },
            )
            .await?;
            println!("{queued}");
            Ok(())
        }
        Command::Migrate { database } => roles::migrate(database).await,
        Command::Keys {
            command: KeysCommand::Create { account, database },
        } => {
            let key = roles::create_key(database, &account).await?;
            println!("{key}");
            Ok(())
        }
        Command::Accounts {
            command: AccountsCommand::Enable { name, database },
        } => roles::set_enabled(database, &name, true).await,
        Command::Accounts {
            command: AccountsCommand::Disable { name, database },
        } => roles::set_enabled(database, &name, false).await,
        Command::Upload(_) => unreachable!("main runs uploads before telemetry"),
    }
}
