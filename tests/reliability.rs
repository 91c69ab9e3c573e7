//! Reliability: SIGKILL at random moments, SIGINT and SIGTERM, `--resume`, readers during
//! writing, two writers, unwritable places. Every check opens the database itself.

use crate::common::{count, open};
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Small and quick, but several epochs and two runs, so kills land everywhere.
const N: i64 = 400; // examples; 320 train
const N_TRAIN: i64 = 320;
const EPOCHS: i64 = 10;

fn args(db: &Path) -> Vec<String> {
    [
        "record",
        "--dataset",
        "planted:n=400,classes=3,len=12",
        "--epochs",
        "10",
        "--hidden",
        "32",
        "--threads",
        "1",
        "--seeds",
        "0..2",
        "--experiment",
        "kill",
        "--quiet",
        "--db",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([db.to_str().unwrap().to_string()])
    .collect()
}

fn bin() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("trainlog"));
    c.env_remove("RUST_BACKTRACE");
    c
}

fn spawn(args: &[String]) -> Child {
    bin()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Every observation row of the log, keyed by seeds (run ids may differ between logs).
type Row = (
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    f64,
    f64,
    f64,
    i64,
    Vec<u8>,
);

fn rows(db: &Path) -> Vec<Row> {
    let c = open(db);
    let mut st = c
        .prepare(
            "SELECT init_seed, order_seed, phase = 'step', epoch, example_id, position, batch,
                    loss, p_true, margin, pred, logits
             FROM dynamics ORDER BY 1, 2, 3, 4, 5",
        )
        .unwrap();
    st.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
            r.get(11)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// integrity_check is ok, and every committed epoch is complete and nothing else is there:
/// returns the number of committed (run, epoch) pairs.
fn check_consistent(db: &Path) -> i64 {
    let c = open(db);
    let ic: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ic, "ok");
    // Killed before the schema was in (the migrations are one transaction): an empty file.
    if count(
        &c,
        "SELECT count(*) FROM sqlite_master WHERE name IN ('observations', 'epochs')",
    ) == 0
    {
        return 0;
    }
    // observations of an epoch that is not committed
    let orphans = count(
        &c,
        "SELECT count(*) FROM observations o WHERE NOT EXISTS
           (SELECT 1 FROM epochs e WHERE e.run_id = o.run_id AND e.epoch = o.epoch)",
    );
    assert_eq!(orphans, 0, "observations outside committed epochs");
    let partial = count(
        &c,
        &format!(
            "SELECT count(*) FROM epochs e WHERE
               (SELECT count(*) FROM observations o WHERE o.run_id = e.run_id AND o.epoch = e.epoch AND o.phase = 0) <> {N}
            OR (SELECT count(*) FROM observations o WHERE o.run_id = e.run_id AND o.epoch = e.epoch AND o.phase = 1)
               <> CASE WHEN e.epoch = 0 THEN 0 ELSE {N_TRAIN} END"
        ),
    );
    assert_eq!(partial, 0, "a committed epoch is incomplete");
    // Epochs are committed in order: 0..k for each run.
    let gaps = count(
        &c,
        "SELECT count(*) FROM (SELECT run_id, count(*) AS n, max(epoch) AS m FROM epochs GROUP BY run_id) WHERE n <> m + 1",
    );
    assert_eq!(gaps, 0, "a run's committed epochs have a gap");
    count(&c, "SELECT count(*) FROM epochs")
}

fn has_experiment(db: &Path) -> bool {
    db.exists() && {
        let c = open(db);
        c.query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'planned_runs'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            == 1
            && count(&c, "SELECT count(*) FROM planned_runs") > 0
    }
}

#[test]
fn sigkill_at_random_moments_then_resume_gives_the_uninterrupted_rows() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.db");
    let t = Instant::now();
    let out = bin().args(args(&reference)).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wall = t.elapsed().as_secs_f64();
    let want = rows(&reference);
    assert_eq!(want.len() as i64, 2 * ((EPOCHS + 1) * N + EPOCHS * N_TRAIN));

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let kills = 20;
    let (mut lost, mut duplicated, mut differing, mut resumed_mid_run) = (0i64, 0i64, 0usize, 0);
    for k in 0..kills {
        let db = dir.path().join(format!("kill{k}.db"));
        let mut child = spawn(&args(&db));
        // Anywhere from the start of the process to the end of the second run.
        std::thread::sleep(Duration::from_secs_f64(rng.random_range(0.0..wall)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        if db.exists() {
            check_consistent(&db);
        }
        // Killed before the runs were even planned: nothing to resume, the user records again.
        let again = if has_experiment(&db) {
            let c = open(&db);
            if count(&c, "SELECT count(*) FROM runs WHERE status = 'running'") > 0 {
                resumed_mid_run += 1;
            }
            drop(c);
            let mut a = vec!["record".to_string(), "--resume".into(), "--quiet".into()];
            a.extend(["--db".into(), db.to_str().unwrap().to_string()]);
            a
        } else {
            args(&db)
        };
        let out = bin().args(&again).output().unwrap();
        assert!(
            out.status.success(),
            "kill {k}: {again:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let epochs = check_consistent(&db);
        lost += 2 * (EPOCHS + 1) - epochs;
        let got = rows(&db);
        let c = open(&db);
        assert_eq!(
            count(&c, "SELECT count(*) FROM runs WHERE status = 'completed'"),
            2,
            "kill {k}"
        );
        assert_eq!(count(&c, "SELECT count(*) FROM runs"), 2, "kill {k}");
        duplicated += got.len() as i64 - want.len() as i64;
        differing += got.iter().zip(&want).filter(|(a, b)| a != b).count();
    }
    eprintln!(
        "kill test: {kills} kills ({resumed_mid_run} inside a run), epochs lost {lost}, rows duplicated {duplicated}, rows differing {differing}"
    );
    assert_eq!(lost, 0);
    assert_eq!(duplicated, 0);
    assert_eq!(differing, 0);
    assert!(resumed_mid_run >= 5, "too few kills landed inside a run");
}

/// Waits until the log has at least `epochs` committed epochs.
fn wait_for_epochs(db: &Path, epochs: i64) {
    let t = Instant::now();
    loop {
        if db.exists() {
            let c = open(db);
            let n = c
                .query_row("SELECT count(*) FROM epochs", [], |r| r.get::<_, i64>(0))
                .unwrap_or(0);
            if n >= epochs {
                return;
            }
        }
        assert!(t.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`args`] with another number of epochs.
fn args_epochs(db: &Path, epochs: usize) -> Vec<String> {
    let mut a = args(db);
    let i = a.iter().position(|s| s == "--epochs").unwrap();
    a[i + 1] = epochs.to_string();
    a
}

fn long_args(db: &Path) -> Vec<String> {
    args_epochs(db, 200)
}

fn interrupt_with(sig: &str, code: i32, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut child = spawn(&long_args(&db));
    wait_for_epochs(&db, 3);
    signal(&child, sig);
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(code), "stderr: {err}");
    assert!(err.contains(&format!("interrupted by {name}")), "{err}");
    assert!(err.contains("trainlog record --resume --db"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    check_consistent(&db);
    let c = open(&db);
    assert_eq!(
        count(&c, "SELECT count(*) FROM runs WHERE status = 'interrupted'"),
        1
    );
    assert_eq!(count(&c, "SELECT count(*) FROM runs"), 1);
    let msg: String = c
        .query_row("SELECT message FROM runs", [], |r| r.get(0))
        .unwrap();
    assert!(msg.contains("interrupted"), "{msg}");
}

#[test]
fn sigint_rolls_back_the_open_epoch_and_marks_the_run_interrupted() {
    interrupt_with("-INT", 130, "SIGINT");
}

#[test]
fn sigterm_exits_143_and_the_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut child = spawn(&args_epochs(&db, 40));
    wait_for_epochs(&db, 2);
    signal(&child, "-TERM");
    assert_eq!(child.wait().unwrap().code(), Some(143));
    let before = check_consistent(&db);
    assert!(before >= 2);
    let out = bin()
        .args([
            "record",
            "--resume",
            "--quiet",
            "--db",
            db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("resumed after epoch"), "{stdout}");
    assert_eq!(check_consistent(&db), 2 * 41);
    let c = open(&db);
    assert_eq!(
        count(&c, "SELECT count(*) FROM runs WHERE status = 'completed'"),
        2
    );
    // Nothing left to do.
    let out = bin()
        .args(["record", "--resume", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to resume"));
}

#[test]
fn readers_see_complete_epochs_only_while_training_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut child = spawn(&args_epochs(&db, 40));
    wait_for_epochs(&db, 1);
    // One statement, one snapshot: observations outside committed epochs, and committed
    // epochs with the wrong number of rows.
    let sql = format!(
        "SELECT
           (SELECT count(*) FROM observations o WHERE NOT EXISTS
              (SELECT 1 FROM epochs e WHERE e.run_id = o.run_id AND e.epoch = o.epoch)) AS orphans,
           (SELECT count(*) FROM epochs e WHERE
              (SELECT count(*) FROM observations o WHERE o.run_id = e.run_id AND o.epoch = e.epoch) <>
              CASE WHEN e.epoch = 0 THEN {N} ELSE {N} + {N_TRAIN} END) AS partial,
           (SELECT count(*) FROM epochs) AS epochs"
    );
    let (mut cli_reads, mut reads) = (0, 0);
    let mut seen = std::collections::BTreeSet::new();
    while child.try_wait().unwrap().is_none() {
        // Mostly a plain read-only SQLite connection (quick, so many snapshots), and now and
        // then the real `trainlog query`.
        let v: Vec<i64> = if reads % 10 == 0 {
            let out = bin()
                .args([
                    "query",
                    "--db",
                    db.to_str().unwrap(),
                    "--format",
                    "csv",
                    "--sql",
                    &sql,
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "trainlog query failed during training: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            cli_reads += 1;
            let text = String::from_utf8(out.stdout).unwrap();
            let line = text.lines().nth(1).unwrap().to_string();
            line.split(',').map(|x| x.parse().unwrap()).collect()
        } else {
            let c = rusqlite::Connection::open_with_flags(
                &db,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .unwrap();
            trainlog::store::functions::register(&c).unwrap();
            c.busy_timeout(Duration::from_secs(30)).unwrap();
            c.query_row(&sql, [], |r| Ok(vec![r.get(0)?, r.get(1)?, r.get(2)?]))
                .unwrap()
        };
        assert_eq!((v[0], v[1]), (0, 0), "a reader saw a partial epoch: {v:?}");
        seen.insert(v[2]);
        reads += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(child.wait().unwrap().success());
    assert!(
        cli_reads >= 1 && reads >= 10,
        "only {reads} reads during training"
    );
    assert!(seen.len() >= 3, "the readers saw too few states: {seen:?}");
    assert_eq!(check_consistent(&db), 2 * 41);
}

#[test]
fn a_second_writer_is_refused_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let mut first = spawn(&long_args(&db));
    wait_for_epochs(&db, 1);
    let mut second = args(&db);
    let i = second.iter().position(|s| s == "kill").unwrap();
    second[i] = "other".into();
    let out = bin().args(&second).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("another trainlog process is writing to") && err.contains("wait for it"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // --resume is refused the same way while the run is alive.
    let out = bin()
        .args(["record", "--resume", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another trainlog process"));
    signal(&first, "-INT");
    assert_eq!(first.wait().unwrap().code(), Some(130));
    let c = open(&db);
    assert_eq!(count(&c, "SELECT count(*) FROM experiments"), 1);
    assert_eq!(count(&c, "SELECT count(*) FROM planned_runs"), 2);
    check_consistent(&db);
}

/// `chattr +i` makes a path unwritable even for root; where the file system does not have
/// it, the test says so and passes.
fn immutable(path: &Path, on: bool) -> bool {
    Command::new("chattr")
        .args([if on { "+i" } else { "-i" }, path.to_str().unwrap()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_read_only_folder_or_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    if !immutable(&ro, true) {
        eprintln!("skipped: chattr +i is not available here");
        return;
    }
    let db = ro.join("t.db");
    let out = bin().args(args(&db)).output().unwrap();
    immutable(&ro, false);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("choose a --db in a writable folder"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!db.exists());

    // An existing database that cannot be written: recording into it fails cleanly and the
    // file is unchanged.
    let db = dir.path().join("done.db");
    let out = bin().args(args(&db)).output().unwrap();
    assert!(out.status.success());
    let before = std::fs::read(&db).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", db.display());
        if Path::new(&p).exists() {
            immutable(Path::new(&p), true);
        }
    }
    let mut again = args(&db);
    let i = again.iter().position(|s| s == "kill").unwrap();
    again[i] = "more".into();
    let out = bin().args(&again).output().unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", db.display());
        if Path::new(&p).exists() {
            immutable(Path::new(&p), false);
        }
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(db.to_str().unwrap()), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn resume_without_a_log_or_with_a_missing_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("none.db");
    let out = bin()
        .args(["record", "--resume", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to resume"));
    let db = dir.path().join("missing/t.db");
    let out = bin().args(args(&db)).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not exist: create it first"), "{err}");
    assert!(!dir.path().join("missing").exists());
}

#[test]
fn sigint_with_jobs_2_interrupts_both_runs_and_resume_gives_the_rows_of_jobs_1() {
    let dir = tempfile::tempdir().unwrap();
    let (db, reference) = (dir.path().join("t.db"), dir.path().join("ref.db"));
    let with_jobs = |db: &Path| {
        let mut a = long_args(db);
        let i = a.iter().position(|s| s == "--threads").unwrap();
        a[i + 1] = "2".into();
        a.extend(["--jobs".to_string(), "2".to_string()]);
        a
    };
    let mut child = spawn(&with_jobs(&db));
    // Both runs have committed epochs: both are being recorded at once.
    let t = Instant::now();
    loop {
        let both = db.exists()
            && open(&db)
                .query_row(
                    "SELECT count(DISTINCT run_id) = 2 AND min(n) >= 2 FROM (SELECT run_id, count(*) AS n FROM epochs GROUP BY run_id)",
                    [],
                    |r| r.get::<_, Option<bool>>(0),
                )
                .ok()
                .flatten()
                .unwrap_or(false);
        if both {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&child, "-INT");
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "stderr: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("run 1 is marked interrupted") && err.contains("run 2 is marked interrupted"),
        "{err}"
    );
    check_consistent(&db);
    let c = open(&db);
    assert_eq!(
        count(&c, "SELECT count(*) FROM runs WHERE status = 'interrupted'"),
        2
    );
    drop(c);
    let out = bin()
        .args([
            "record",
            "--resume",
            "--quiet",
            "--jobs",
            "2",
            "--threads",
            "2",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stdout).unwrap();
    assert_eq!(said.matches("resumed after epoch").count(), 2, "{said}");
    // The same runs recorded with --jobs 1 and one thread a run, uninterrupted.
    let mut one = long_args(&reference);
    one.extend(["--jobs".to_string(), "1".to_string()]);
    let out = bin().args(&one).output().unwrap();
    assert!(out.status.success());
    let (got, want) = (rows(&db), rows(&reference));
    assert_eq!(got.len(), want.len());
    assert!(
        got == want,
        "the interrupted --jobs 2 log differs from the --jobs 1 one"
    );
    assert_eq!(
        count(
            &open(&db),
            "SELECT count(*) FROM runs WHERE status = 'completed'"
        ),
        2
    );
}
