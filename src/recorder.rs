//! The recorder: the single writer. It runs on its own thread, receives the trainer's events
//! over a bounded channel, turns each example's logits into an observation row (the capture
//! arithmetic of [`crate::capture`]) and commits when the trainer says the epochs so far can
//! be reproduced ([`Event::Commit`]: after every epoch, or every checkpoint), so that an epoch
//! is in the log completely or not at all.

use crate::capture::{logits_to_blob, observe};
use crate::store::{EpochRow, ObservationRow, Store, StoreError};
use crate::trainer::{Event, Phase, Sink, TrainError};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// The run a recorder writes, and what it needs to know of the dataset.
#[derive(Debug, Clone)]
pub struct RunTarget {
    pub run_id: i64,
    /// Labels by example index (the labels trained on).
    pub labels: Vec<u32>,
    pub n_classes: usize,
    /// Store the raw logits (otherwise only the derived values).
    pub store_logits: bool,
}

/// What a recorder wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordStats {
    pub epochs_committed: u32,
    pub rows: u64,
    /// Rows of an unfinished epoch that were rolled back.
    pub rows_rolled_back: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    OnCommit(String),
    #[error(
        "batch of epoch {epoch} has {got} logits for {examples} examples of {classes} classes"
    )]
    Shape {
        epoch: u32,
        got: usize,
        examples: usize,
        classes: usize,
    },
}

/// Called with the store and the epochs (first, last) of a transaction just before it is
/// committed, e.g. to write the same epochs as Parquet; an error stops the recording.
pub type OnCommit = Box<dyn FnMut(&Store, u32, u32) -> Result<(), String> + Send>;

/// Writes one run's events into the store.
pub struct Recorder {
    store: Store,
    target: RunTarget,
    on_commit: Option<OnCommit>,
    /// The first epoch of the open transaction.
    open_first: Option<u32>,
    in_tx: bool,
    open_rows: u64,
    /// Epochs ended but not yet committed.
    open_epochs: u32,
    stats: RecordStats,
    blob: Vec<u8>,
}

impl Recorder {
    pub fn new(store: Store, target: RunTarget) -> Self {
        Self::with_on_commit(store, target, None)
    }

    /// A recorder that calls `on_commit` before every commit.
    pub fn with_on_commit(store: Store, target: RunTarget, on_commit: Option<OnCommit>) -> Self {
        Recorder {
            store,
            target,
            on_commit,
            open_first: None,
            in_tx: false,
            open_rows: 0,
            open_epochs: 0,
            stats: RecordStats::default(),
            blob: Vec::with_capacity(64),
        }
    }

    fn ensure_tx(&mut self) -> Result<(), RecordError> {
        if !self.in_tx {
            self.store.begin()?;
            self.in_tx = true;
        }
        Ok(())
    }

    /// Handles one event: a batch's rows join the epoch's transaction; an epoch's end writes
    /// its summary and commits.
    pub fn handle(&mut self, event: Event) -> Result<(), RecordError> {
        self.ensure_tx()?;
        match event {
            Event::Batch(b) => {
                let c = self.target.n_classes;
                if b.logits.len() != b.examples.len() * c {
                    return Err(RecordError::Shape {
                        epoch: b.epoch,
                        got: b.logits.len(),
                        examples: b.examples.len(),
                        classes: c,
                    });
                }
                // The whole batch's logits as stored bytes, once; each row takes its slice.
                if self.target.store_logits {
                    logits_to_blob(&b.logits, &mut self.blob);
                }
                let rows = b
                    .examples
                    .iter()
                    .zip(b.logits.chunks_exact(c))
                    .enumerate()
                    .map(|(j, (&ex, z))| {
                        let o = observe(z, self.target.labels[ex as usize]);
                        let (position, batch) = match b.phase {
                            Phase::Step => (
                                Some(b.first_position as i64 + j as i64),
                                Some(b.batch as i64),
                            ),
                            Phase::Eval => (None, None),
                        };
                        ObservationRow {
                            run_id: self.target.run_id,
                            phase: b.phase as i64,
                            epoch: b.epoch as i64,
                            example_id: ex as i64,
                            position,
                            batch,
                            pred: o.pred as i64,
                            loss: o.loss,
                            p_true: o.p_true,
                            margin: o.margin,
                            logits: self
                                .target
                                .store_logits
                                .then(|| &self.blob[j * c * 4..(j + 1) * c * 4]),
                        }
                    });
                self.open_rows += self.store.insert_observations(rows)?;
            }
            Event::EpochEnd(s) => {
                self.store.insert_epoch(&EpochRow {
                    run_id: self.target.run_id,
                    epoch: s.epoch as i64,
                    train_loss: s.train_loss,
                    train_acc: s.train_acc,
                    eval_train_acc: s.eval_train_acc,
                    test_loss: s.test_loss,
                    test_acc: s.test_acc,
                    wall_s: s.wall_s,
                })?;
                self.open_epochs += 1;
                self.open_first.get_or_insert(s.epoch);
            }
            Event::Commit { epoch, obsolete } => {
                if let Some(hook) = self.on_commit.as_mut() {
                    hook(&self.store, self.open_first.unwrap_or(epoch), epoch)
                        .map_err(RecordError::OnCommit)?;
                }
                self.open_first = None;
                self.store.commit()?;
                self.in_tx = false;
                self.stats.rows += self.open_rows;
                self.open_rows = 0;
                self.stats.epochs_committed += self.open_epochs;
                self.open_epochs = 0;
                // Older checkpoints are not needed once a newer one's epochs are visible.
                for f in obsolete {
                    let _ = std::fs::remove_file(f);
                }
            }
        }
        Ok(())
    }

    /// Ends the run's writing: an epoch that did not end is rolled back. Returns the store.
    pub fn finish(mut self) -> (Store, Result<RecordStats, RecordError>) {
        let r = self.rollback_open();
        (self.store, r.map(|_| self.stats))
    }

    fn rollback_open(&mut self) -> Result<(), RecordError> {
        if self.in_tx {
            self.store.rollback()?;
            self.in_tx = false;
            self.stats.rows_rolled_back += self.open_rows;
            self.open_rows = 0;
            self.open_epochs = 0;
            self.open_first = None;
        }
        Ok(())
    }
}

/// A recorder on its own thread, fed through a bounded channel.
pub struct RecorderThread {
    sender: SyncSender<Event>,
    join: JoinHandle<(Store, Result<RecordStats, RecordError>)>,
}

impl RecorderThread {
    /// Starts the writer thread. `capacity` bounds the batches in flight (and so the memory).
    pub fn spawn(
        store: Store,
        target: RunTarget,
        capacity: usize,
        on_commit: Option<OnCommit>,
    ) -> Self {
        let (sender, receiver) = sync_channel(capacity);
        let join = std::thread::Builder::new()
            .name("trainlog-writer".into())
            .spawn(move || run_writer(Recorder::with_on_commit(store, target, on_commit), receiver))
            .expect("spawning the writer thread");
        RecorderThread { sender, join }
    }

    /// A sink for the trainer that sends to this thread.
    pub fn sink(&self) -> ChannelSink {
        ChannelSink {
            sender: self.sender.clone(),
        }
    }

    /// Closes the channel, waits for the writer and returns the store and what was written.
    pub fn finish(self) -> (Store, Result<RecordStats, RecordError>) {
        drop(self.sender);
        self.join.join().expect("the writer thread panicked")
    }
}

fn run_writer(
    mut rec: Recorder,
    receiver: Receiver<Event>,
) -> (Store, Result<RecordStats, RecordError>) {
    for event in receiver.iter() {
        if let Err(e) = rec.handle(event) {
            // Stop receiving: the trainer's next send fails and training stops.
            drop(receiver);
            let (store, _) = rec.finish();
            return (store, Err(e));
        }
    }
    rec.finish()
}

/// The trainer's [`Sink`] into a [`RecorderThread`].
#[derive(Clone)]
pub struct ChannelSink {
    sender: SyncSender<Event>,
}

impl Sink for ChannelSink {
    fn emit(&mut self, event: Event) -> Result<(), TrainError> {
        self.sender
            .send(event)
            .map_err(|_| TrainError::Sink("the writer stopped".into()))
    }
}
