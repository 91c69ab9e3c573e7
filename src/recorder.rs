//! The recorder. It runs on its own thread, receives the trainer's events over a bounded
//! channel, turns each example's logits into an observation row (the capture arithmetic of
//! [`crate::capture`]) and commits when the trainer says the epochs so far can be reproduced
//! ([`Event::Commit`]: after every epoch, or every checkpoint), so that an epoch is in the log
//! completely or not at all. All recorders of a `record` share its one connection
//! ([`SharedStore`]), which writes one commit at a time.

use crate::capture::{observe, LogitsFormat};
use crate::store::{lock, EpochRow, ObservationRow, SharedStore, Store, StoreError};
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
    /// How the raw logits are stored (f32: `loss` and `margin` are derived from them on read).
    pub logits: LogitsFormat,
}

/// What a recorder wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordStats {
    pub epochs_committed: u32,
    pub rows: u64,
    /// Rows of epochs that were not committed (dropped: never written).
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

/// One observation waiting for its commit (its logits' bytes are in `Recorder::blobs`).
#[derive(Debug, Clone, Copy)]
struct Pending {
    phase: u8,
    epoch: u32,
    example: u32,
    position: Option<u32>,
    batch: Option<u32>,
    pred: u32,
    loss: f64,
    margin: f64,
}

/// Writes one run's events into the store. The rows of the epochs since the last commit are
/// kept in memory (compactly: the values and the encoded logits) and written, sorted by the
/// table's key, in one transaction when the trainer says they can be committed. Many
/// recorders can share one store (`record --jobs`): each commit holds the connection only for
/// its own transaction, so a run's epoch is in the log completely or not at all.
pub struct Recorder {
    store: SharedStore,
    target: RunTarget,
    on_commit: Option<OnCommit>,
    pending: Vec<Pending>,
    /// The pending rows' logits, `width · n_classes` bytes each, in arrival order.
    blobs: Vec<u8>,
    epochs: Vec<EpochRow>,
    stats: RecordStats,
    order: Vec<u32>,
}

impl Recorder {
    pub fn new(store: SharedStore, target: RunTarget) -> Self {
        Self::with_on_commit(store, target, None)
    }

    /// A recorder that calls `on_commit` before every commit.
    pub fn with_on_commit(
        store: SharedStore,
        target: RunTarget,
        on_commit: Option<OnCommit>,
    ) -> Self {
        Recorder {
            store,
            target,
            on_commit,
            pending: Vec::new(),
            blobs: Vec::new(),
            epochs: Vec::new(),
            stats: RecordStats::default(),
            order: Vec::new(),
        }
    }

    /// Handles one event: a batch's rows and an epoch's summary wait for the next commit,
    /// which writes them in one transaction.
    pub fn handle(&mut self, event: Event) -> Result<(), RecordError> {
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
                self.target.logits.encode(&b.logits, &mut self.blobs);
                self.pending.reserve(b.examples.len());
                for (j, (&ex, z)) in b.examples.iter().zip(b.logits.chunks_exact(c)).enumerate() {
                    let o = observe(z, self.target.labels[ex as usize]);
                    let (position, batch) = match b.phase {
                        Phase::Step => (Some(b.first_position + j as u32), Some(b.batch)),
                        Phase::Eval => (None, None),
                    };
                    self.pending.push(Pending {
                        phase: b.phase as u8,
                        epoch: b.epoch,
                        example: ex,
                        position,
                        batch,
                        pred: o.pred,
                        loss: o.loss,
                        margin: o.margin,
                    });
                }
            }
            Event::EpochEnd(s) => self.epochs.push(EpochRow {
                run_id: self.target.run_id,
                epoch: s.epoch as i64,
                train_loss: s.train_loss,
                train_acc: s.train_acc,
                eval_train_acc: s.eval_train_acc,
                test_loss: s.test_loss,
                test_acc: s.test_acc,
                wall_s: s.wall_s,
            }),
            Event::Commit { epoch, obsolete } => {
                self.commit(epoch)?;
                // Older checkpoints are not needed once a newer one's epochs are visible.
                for f in obsolete {
                    let _ = std::fs::remove_file(f);
                }
            }
        }
        Ok(())
    }

    /// Writes the pending rows and epochs in one transaction, in key order (so that SQLite
    /// fills its pages instead of splitting them).
    fn commit(&mut self, epoch: u32) -> Result<(), RecordError> {
        let first = self.epochs.first().map_or(epoch, |e| e.epoch as u32);
        let p = &self.pending;
        self.order.clear();
        self.order.extend(0..p.len() as u32);
        self.order.sort_unstable_by_key(|&i| {
            let r = &p[i as usize];
            (r.phase, r.epoch, r.example)
        });
        let width = self.target.logits.width() * self.target.n_classes;
        let stores_values = self.target.logits.stores_values();
        let run_id = self.target.run_id;
        let store = lock(&self.store);
        store.begin()?;
        let written = (|| -> Result<u64, RecordError> {
            let rows = self.order.iter().map(|&i| {
                let r = &p[i as usize];
                let at = i as usize * width;
                ObservationRow {
                    run_id,
                    phase: r.phase as i64,
                    epoch: r.epoch as i64,
                    example_id: r.example as i64,
                    position: r.position.map(i64::from),
                    batch: r.batch.map(i64::from),
                    pred: r.pred as i64,
                    loss: stores_values.then_some(r.loss),
                    margin: stores_values.then_some(r.margin),
                    logits: (width > 0).then(|| &self.blobs[at..at + width]),
                }
            });
            let n = store.insert_observations(rows)?;
            for e in &self.epochs {
                store.insert_epoch(e)?;
            }
            if let Some(hook) = self.on_commit.as_mut() {
                hook(&store, first, epoch).map_err(RecordError::OnCommit)?;
            }
            Ok(n)
        })();
        let n = match written {
            Ok(n) => {
                store.commit()?;
                n
            }
            Err(e) => {
                let _ = store.rollback();
                return Err(e);
            }
        };
        drop(store);
        self.stats.rows += n;
        self.stats.epochs_committed += self.epochs.len() as u32;
        self.pending.clear();
        self.blobs.clear();
        self.epochs.clear();
        Ok(())
    }

    /// Ends the run's writing: epochs that were not committed are dropped.
    pub fn finish(mut self) -> Result<RecordStats, RecordError> {
        self.stats.rows_rolled_back += self.pending.len() as u64;
        self.pending.clear();
        Ok(self.stats)
    }
}

/// A recorder on its own thread, fed through a bounded channel.
pub struct RecorderThread {
    sender: SyncSender<Event>,
    join: JoinHandle<Result<RecordStats, RecordError>>,
}

impl RecorderThread {
    /// Starts the writer thread. `capacity` bounds the batches in flight (and so the memory).
    pub fn spawn(
        store: SharedStore,
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

    /// Closes the channel, waits for the writer and returns what was written.
    pub fn finish(self) -> Result<RecordStats, RecordError> {
        drop(self.sender);
        self.join.join().expect("the writer thread panicked")
    }
}

fn run_writer(mut rec: Recorder, receiver: Receiver<Event>) -> Result<RecordStats, RecordError> {
    for event in receiver.iter() {
        if let Err(e) = rec.handle(event) {
            // Stop receiving: the trainer's next send fails and training stops.
            drop(receiver);
            return Err(e);
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
