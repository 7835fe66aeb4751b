//! `a2a dlq list|retry`: the push dead-letter queue, through a running server's admin routes or,
//! with `--data`, straight from a data directory no server has open (sled allows one process).

use std::sync::Arc;

use a2a_runtime::store::{Durability, Log, SledStore};
use a2a_runtime::transport::admin::{DeadLetterPage, DeadLetterView, RetryRequest, RetryResponse};

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum DlqCommand {
    /// List dead letters, oldest first.
    List {
        #[command(flatten)]
        target: DlqTarget,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Most entries to show.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Put dead letters back into the outbox for delivery (fresh attempts and window).
    Retry {
        #[command(flatten)]
        target: DlqTarget,
        /// Ids to retry (see `a2a dlq list`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<u64>,
        /// Retry every dead letter.
        #[arg(long)]
        all: bool,
    },
}

/// Where the queue is: a running server (default), or a data directory no server has open.
#[derive(clap::Args)]
pub struct DlqTarget {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:7420", conflicts_with = "data")]
    pub server: String,
    /// Read the data directory directly instead (the server must be stopped).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Admin token, when the server was started with --admin-token.
    #[arg(long, env = "A2A_ADMIN_TOKEN")]
    pub token: Option<String>,
}

pub async fn run(cmd: DlqCommand) -> Result<(), String> {
    match cmd {
        DlqCommand::List {
            target,
            json,
            limit,
        } => {
            let page = match &target.data {
                Some(dir) => {
                    let log = open(dir)?;
                    let rows = log.dead_letters(0, limit).map_err(|e| e.to_string())?;
                    DeadLetterPage {
                        dead_letters: rows
                            .into_iter()
                            .map(|(id, d)| DeadLetterView::new(id, d))
                            .collect(),
                        next: None,
                    }
                }
                None => {
                    let url = format!("{}/admin/dlq?limit={limit}", base(&target));
                    let resp = request(&target, reqwest::Client::new().get(url)).await?;
                    resp.json().await.map_err(|e| format!("bad answer: {e}"))?
                }
            };
            print_page(&page, json)
        }
        DlqCommand::Retry { target, ids, all } => {
            let ids = (!all).then_some(ids);
            let requeued = match &target.data {
                Some(dir) => {
                    let log = open(dir)?;
                    let n = a2a_runtime::runtime::retry_dead_letters(&log, ids.as_deref())
                        .await
                        .map_err(|e| e.to_string())?;
                    log.flush().await.map_err(|e| e.to_string())?;
                    n
                }
                None => {
                    let body = RetryRequest {
                        ids: ids.clone().unwrap_or_default(),
                        all,
                    };
                    let url = format!("{}/admin/dlq/retry", base(&target));
                    let resp =
                        request(&target, reqwest::Client::new().post(url).json(&body)).await?;
                    let r: RetryResponse =
                        resp.json().await.map_err(|e| format!("bad answer: {e}"))?;
                    r.requeued
                }
            };
            println!("requeued {requeued} deliveries");
            match ids {
                Some(ids) if requeued < ids.len() => Err(format!(
                    "{} of the {} ids were not in the dead-letter queue",
                    ids.len() - requeued,
                    ids.len()
                )),
                _ => Ok(()),
            }
        }
    }
}

fn base(t: &DlqTarget) -> &str {
    t.server.trim_end_matches('/')
}

fn open(dir: &std::path::Path) -> Result<Log, String> {
    let store = SledStore::open(dir, 16 << 20, None).map_err(|e| {
        format!(
            "cannot open {}: {e} (if a server is running on it, leave out --data)",
            dir.display()
        )
    })?;
    Ok(Log::open(Arc::new(store), Durability::Fsync, 64, 0))
}

async fn request(
    t: &DlqTarget,
    mut req: reqwest::RequestBuilder,
) -> Result<reqwest::Response, String> {
    if let Some(token) = &t.token {
        req = req.bearer_auth(token);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("cannot reach {}: {e}", t.server))?;
    if !resp.status().is_success() {
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        return Err(format!("{status}: {text}"));
    }
    Ok(resp)
}

fn print_page(page: &DeadLetterPage, json: bool) -> Result<(), String> {
    if json {
        let s = serde_json::to_string_pretty(page).map_err(|e| e.to_string())?;
        println!("{s}");
        return Ok(());
    }
    if page.dead_letters.is_empty() {
        println!("the dead-letter queue is empty");
        return Ok(());
    }
    println!(
        "{:<6} {:<36} {:<16} {:>5} {:>8}  {:<24}  ERROR",
        "ID", "TASK", "CONFIG", "SEQ", "ATTEMPTS", "DEAD AT"
    );
    for d in &page.dead_letters {
        println!(
            "{:<6} {:<36} {:<16} {:>5} {:>8}  {:<24}  {}",
            d.id,
            d.task_id,
            d.config_id,
            d.seq,
            d.attempts,
            d.dead_at.to_string(),
            d.error
        );
    }
    if page.next.is_some() {
        println!("(more: raise --limit)");
    }
    Ok(())
}
