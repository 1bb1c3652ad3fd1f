//! `datawarden run`: the daemon. A [`scheduler`] runs scan and enforcement [`job`]s on cron
//! schedules in the configured time zone; [`history`] remembers every run in the inventory store;
//! signals stop (SIGTERM, SIGINT) or reload (SIGHUP) it; [`notify`] talks to systemd; [`http`]
//! serves `/healthz` and `/metrics` ([`metrics`]).

pub mod history;
pub mod http;
pub mod job;
pub mod jobs;
pub mod metrics;
pub mod notify;
pub mod scheduler;
pub mod status;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::inventory::Store;
use crate::stop::Stop;
use history::History;
use http::Heartbeat;
use job::Job;
use metrics::Metrics;
use notify::Notifier;
use scheduler::{Control, Scheduler, Settings};

/// Options of `datawarden run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The config file, re-read on SIGHUP.
    pub config_path: PathBuf,
    /// Accept a non-loopback `[daemon] listen` address.
    pub allow_remote_listen: bool,
    /// The node name (overrides `[daemon] node`; default the host name).
    pub node: Option<String>,
}

/// Builds the jobs of a config (the real ones scan sources and enforce policies).
pub type JobFactory = Arc<dyn Fn(&Arc<Config>) -> Result<Vec<Job>> + Send + Sync>;

/// Runs the daemon in the foreground until SIGTERM or SIGINT: the real scan and enforcement jobs.
/// Returns the number of jobs still running when the shutdown timeout ran out (the caller should
/// exit without waiting for them; their open batch rolls back and the next run resumes).
pub async fn run(opts: RunOptions) -> Result<usize> {
    let config = Config::load(&opts.config_path)?;
    let node = opts
        .node
        .clone()
        .or_else(|| config.daemon.node.clone())
        .unwrap_or_else(crate::store::default_node);
    let store = Store::open(&config.inventory.url).await?.with_node(node);
    let factory_store = store.clone();
    let factory: JobFactory = Arc::new(move |config| jobs::from_config(config, &factory_store));
    run_with(opts, config, store, factory).await
}

/// Runs the daemon with `config` (loaded from `opts.config_path`) and jobs built by `factory`.
pub async fn run_with(
    opts: RunOptions,
    config: Config,
    store: Store,
    factory: JobFactory,
) -> Result<usize> {
    let notifier = Notifier::from_env();
    let config = Arc::new(config);
    let settings = Settings::from_config(&config);
    let jobs = factory(&config)?;
    let listen = match &config.daemon.listen {
        Some(l) => Some(http::check_listen(l, opts.allow_remote_listen)?),
        None => None,
    };
    let history = History::new(&store).await?;
    let abandoned = history.close_abandoned().await?;
    if abandoned > 0 {
        tracing::warn!(
            runs = abandoned,
            node = store.node(),
            "found runs left unfinished by a previous process of this node; marked abandoned"
        );
    }
    // This node's claims from before the restart are taken over now, not after their lease.
    let expired = store.expire_own_claims().await?;
    if expired > 0 {
        tracing::warn!(
            runs = expired,
            "ended the leases of this node's previous process; their runs resume now"
        );
    }
    // Signal handlers first, so that a signal during start-up is not lost.
    let (control_tx, control_rx) = mpsc::channel(8);
    spawn_signal_handlers(control_tx)?;

    let metrics = Arc::new(Metrics::for_node(store.node()));
    for source in &config.sources {
        match jobs::personal_columns(&store, &source.name).await {
            Ok(by_category) if !by_category.is_empty() => {
                metrics.set_personal_columns(&source.name, &by_category)
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(source = %source.name, error = %e, "cannot read the inventory for metrics")
            }
        }
    }
    // Requests go overdue with time: the register is read again every minute.
    let register_task = {
        let (metrics, store) = (metrics.clone(), store.clone());
        tokio::spawn(async move {
            loop {
                match crate::subject::register::Register::of_store(&store).await {
                    Ok(reg) => match reg.counts().await {
                        Ok((open, overdue)) => metrics.set_subject_requests(open, overdue),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot read the request register for metrics")
                        }
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot open the request register for metrics")
                    }
                }
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            }
        })
    };
    let heartbeat = Arc::new(Heartbeat::default());
    let (http_stop_tx, http_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let http_task = match listen {
        Some(addr) => {
            let (bound, task) = http::serve(addr, heartbeat.clone(), metrics.clone(), async {
                let _ = http_stop_rx.await;
            })
            .await?;
            tracing::info!(address = %bound, "serving /healthz and /metrics");
            Some(task)
        }
        None => None,
    };

    let stop = Stop::new();
    let mut scheduler = Scheduler::new(
        settings,
        jobs,
        Some(history),
        metrics,
        heartbeat,
        notifier.clone(),
        stop,
    );
    scheduler.catch_up().await?;
    let status = scheduler.status_line();
    tracing::info!(config = %opts.config_path.display(), timezone = %config.timezone, status = %status, "datawarden daemon started");
    notifier.ready(&status);

    let path = opts.config_path.clone();
    let old_listen = config.daemon.listen.clone();
    let reload: scheduler::Reloader = Box::new(move || {
        let config = Arc::new(Config::load(&path)?);
        if config.daemon.listen != old_listen {
            tracing::warn!(
                "[daemon] listen changed; the HTTP listener keeps its address until a restart"
            );
        }
        let jobs = factory(&config)?;
        Ok((Settings::from_config(&config), jobs))
    });
    let abandoned = scheduler.run(control_rx, reload).await;
    register_task.abort();
    let _ = http_stop_tx.send(());
    if let Some(t) = http_task {
        let _ = t.await;
    }
    Ok(abandoned)
}

/// SIGTERM and SIGINT request a shutdown, SIGHUP a reload.
fn spawn_signal_handlers(tx: mpsc::Sender<Control>) -> Result<()> {
    let install = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| Error::Other(format!("cannot install the {name} handler: {e}")))
    };
    let mut term = install(SignalKind::terminate(), "SIGTERM")?;
    let mut int = install(SignalKind::interrupt(), "SIGINT")?;
    let mut hup = install(SignalKind::hangup(), "SIGHUP")?;
    tokio::spawn(async move {
        loop {
            let c = tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM received"); Control::Shutdown }
                _ = int.recv() => { tracing::info!("SIGINT received"); Control::Shutdown }
                _ = hup.recv() => { tracing::info!("SIGHUP received: reloading the configuration"); Control::Reload }
            };
            if tx.send(c).await.is_err() {
                break;
            }
        }
    });
    Ok(())
}
