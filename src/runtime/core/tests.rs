//! `TaskCore` against the real log: sequence numbers stay gap-free under concurrent emits, a
//! cancel racing a completion ends in exactly one final state, and a failed commit is refused
//! and leaves the task refusing, not half-changed. Under tokio's paused time, so the writer's
//! timers cost nothing.

use std::sync::Arc;

use super::{Change, Refused, TaskCore, new_task};
use crate::protocol::{Message, StreamResponse, TaskState};
use crate::runtime::text_artifact;
use crate::store::failing::Failing;
use crate::store::{Applied, Durability, Log};

async fn open(dir: &tempfile::TempDir) -> (Arc<Failing>, Log) {
    let engine = Arc::new(Failing::open(dir.path()));
    let log = Log::open(engine.clone(), Durability::Fsync, 64, 1 << 16);
    (engine, log)
}

/// A submitted task in the log, as the runtime makes one.
async fn submitted(log: &Log, id: &str) -> Arc<TaskCore> {
    let msg = Message::user_text(format!("m-{id}"), "hi");
    let (record, commit) = new_task(id.into(), "c-1".into(), "echo", "alice", msg, None, true);
    let Applied::Done(ticket) = log.commit(commit).await.expect("the task is created") else {
        panic!("a fresh message id")
    };
    TaskCore::new(log.clone(), record, ticket, Vec::new())
}

fn artifact(i: usize) -> Change {
    Change::Artifact {
        artifact: text_artifact(format!("a{i}"), format!("chunk {i}")),
        append: false,
        last_chunk: true,
    }
}

/// The states of the status updates the log holds for `task`, and every sequence number.
fn logged(log: &Log, task: &str) -> (Vec<u64>, Vec<TaskState>) {
    let events = log.events_after(task, 0, usize::MAX).expect("events read");
    let seqs = events.iter().map(|e| e.seq).collect();
    let states = events
        .iter()
        .filter_map(|e| match e.event().expect("an event") {
            StreamResponse::StatusUpdate(u) => Some(u.status.state),
            _ => None,
        })
        .collect();
    (seqs, states)
}

#[tokio::test(start_paused = true)]
async fn concurrent_emits_get_gap_free_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (_, log) = open(&dir).await;
    let core = submitted(&log, "t-seq").await;
    let emits = (0..40).map(|i| {
        let core = core.clone();
        tokio::spawn(async move { core.apply(artifact(i), None).await })
    });
    for e in emits {
        e.await.unwrap().expect("every emit commits");
    }
    let ticket = core
        .apply(Change::Status(TaskState::Completed, None), None)
        .await
        .unwrap();
    log.durable(ticket).await.unwrap();
    let (seqs, _) = logged(&log, "t-seq");
    let expected: Vec<u64> = (1..=42).collect();
    assert_eq!(
        seqs, expected,
        "the task, 40 artifacts and the final status, in order"
    );
    assert_eq!(core.latest().next_seq, 43);
}

#[tokio::test(start_paused = true)]
async fn a_cancel_racing_a_completion_ends_in_exactly_one_final_state() {
    let dir = tempfile::tempdir().unwrap();
    let (_, log) = open(&dir).await;
    for round in 0..20 {
        let id = format!("t-race-{round}");
        let core = submitted(&log, &id).await;
        let (a, b) = (core.clone(), core.clone());
        let cancel = tokio::spawn(async move {
            a.apply(Change::Status(TaskState::Canceled, None), None)
                .await
        });
        let complete = tokio::spawn(async move {
            b.apply(Change::Status(TaskState::Completed, None), None)
                .await
        });
        let (cancel, complete) = (cancel.await.unwrap(), complete.await.unwrap());
        assert!(
            cancel.is_ok() != complete.is_ok(),
            "exactly one wins: {cancel:?} {complete:?}"
        );
        let winner = if cancel.is_ok() {
            TaskState::Canceled
        } else {
            TaskState::Completed
        };
        let loser = if cancel.is_ok() { complete } else { cancel };
        assert_eq!(loser, Err(Refused::Terminal(winner)));
        assert_eq!(core.latest().state, winner);
        let (_, states) = logged(&log, &id);
        assert_eq!(states, vec![winner], "one final status in the log");
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_commit_is_refused_and_the_task_refuses_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, log) = open(&dir).await;
    let core = submitted(&log, "t-fail").await;
    let ticket = core.apply(artifact(0), None).await.unwrap();
    log.durable(ticket).await.unwrap();
    let before = core.latest();
    engine.fail();
    // The commit itself may be applied in memory; its flush fails, so it is never durable.
    let outcome = match core.apply(artifact(1), None).await {
        Ok(ticket) => log
            .durable(ticket)
            .await
            .map(|()| ticket)
            .map_err(Refused::from),
        Err(e) => Err(e),
    };
    assert!(
        matches!(outcome, Err(Refused::Storage(_))),
        "the failure is reported: {outcome:?}"
    );
    // The log stops acknowledging for good, says so, and keeps the cause as the error's source.
    assert!(log.is_failed());
    let refused = log
        .read_committed()
        .await
        .expect_err("nothing is acknowledged any more");
    let mut cause: &dyn std::error::Error = &refused;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let io = cause.downcast_ref::<std::io::Error>();
    assert_eq!(
        io.map(std::io::Error::kind),
        Some(std::io::ErrorKind::StorageFull),
        "{refused}"
    );
    let next = core
        .apply(Change::Status(TaskState::Completed, None), None)
        .await;
    assert!(matches!(next, Err(Refused::Storage(_))), "{next:?}");
    assert!(core.latest().next_seq >= before.next_seq);
    assert_ne!(core.latest().state, TaskState::Completed);
}
