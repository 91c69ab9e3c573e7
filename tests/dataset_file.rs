//! Loading the user's own CSV and Parquet datasets.

use arrow::array::{ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trainlog::dataset::file::load;
use trainlog::dataset::{Dataset, DatasetError, Inputs, Split, PAD, UNK};

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn write_parquet(dir: &Path, name: &str, columns: Vec<(&str, ArrayRef)>) -> PathBuf {
    let p = dir.join(name);
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let file = std::fs::File::create(&p).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    p
}

fn strs(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

/// Loads a file that must fail, and returns the one-line message.
fn err(path: &Path) -> String {
    let e = load(path, 0).expect_err("expected an error");
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "message spans lines: {msg}");
    msg
}

fn values(d: &Dataset) -> &[f32] {
    match &d.inputs {
        Inputs::Numeric { values, .. } => values,
        other => panic!("expected numeric inputs, got {other:?}"),
    }
}

fn splits(d: &Dataset) -> Vec<Split> {
    d.examples.iter().map(|e| e.split).collect()
}

fn labels(d: &Dataset) -> Vec<u32> {
    d.examples.iter().map(|e| e.label).collect()
}

const NUMERIC: &str = "\
id,label,x1,x2,x3,split
a,7,0.5,1,-2,train
b,3,1.5,2,-3,train
c,9,2.5,3,-4,test
d,7,3.5,4,-5,train
e,3,4.5,5,-6,test
f,9,5.5,6e1,-7,train
";

#[test]
fn numeric_csv_with_integer_labels() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "data.csv", NUMERIC);
    let d = load(&p, 0).unwrap();
    assert_eq!(d.spec, p.display().to_string());
    assert_eq!(d.class_names, vec!["3", "7", "9"]);
    assert_eq!(labels(&d), vec![1, 0, 2, 1, 0, 2]);
    assert!(d.examples.iter().all(|e| e.orig_label == e.label));
    assert_eq!(d.label_noise, 0.0);
    let ids: Vec<&str> = d.examples.iter().map(|e| e.source_id.as_str()).collect();
    assert_eq!(ids, vec!["a", "b", "c", "d", "e", "f"]);
    use Split::*;
    assert_eq!(splits(&d), vec![Train, Train, Test, Train, Test, Train]);
    assert!(d.examples.iter().all(|e| e.length == 3));
    match &d.inputs {
        Inputs::Numeric {
            seq_len,
            features,
            values,
        } => {
            assert_eq!((*seq_len, *features), (3, 1));
            assert_eq!(&values[..6], &[0.5, 1.0, -2.0, 1.5, 2.0, -3.0]);
            assert_eq!(values[5 * 3 + 1], 60.0);
            assert_eq!(values.len(), 18);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.seq_len(), 3);
    assert_eq!(d.n_classes(), 3);
}

#[test]
fn negative_and_padded_integer_labels_sort_numerically() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.csv",
        "label,x\n10,1\n-2,2\n 10 ,3\n-2,4\n010,5\n2,6\n2,7\n",
    );
    let d = load(&p, 0).unwrap();
    assert_eq!(d.class_names, vec!["-2", "2", "10"]);
    assert_eq!(labels(&d), vec![2, 0, 2, 0, 2, 1, 1]);
    // Without an id column the id is the 0-based row index.
    let ids: Vec<&str> = d.examples.iter().map(|e| e.source_id.as_str()).collect();
    assert_eq!(ids, vec!["0", "1", "2", "3", "4", "5", "6"]);
}

#[test]
fn string_labels_sort_lexicographically() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.csv",
        "label,x\ncat,1\ndog,2\n3,3\ncat,4\ndog,5\n3,6\n",
    );
    let d = load(&p, 0).unwrap();
    assert_eq!(d.class_names, vec!["3", "cat", "dog"]);
    assert_eq!(labels(&d), vec![1, 2, 0, 1, 2, 0]);
}

#[test]
fn whitespace_is_trimmed_and_split_is_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "d.csv",
        " label , x1 ,split\n a , 1 , TRAIN\nb,2,Test\na,3,train\nb,4,train\n",
    );
    let d = load(&p, 0).unwrap();
    assert_eq!(d.class_names, vec!["a", "b"]);
    assert_eq!(values(&d), &[1.0, 2.0, 3.0, 4.0]);
    use Split::*;
    assert_eq!(splits(&d), vec![Train, Test, Train, Train]);
}

fn numeric_csv(n: usize) -> String {
    let mut s = String::from("label,x1,x2\n");
    for i in 0..n {
        s.push_str(&format!("{},{},{}\n", i % 3, i, i * 2));
    }
    s
}

#[test]
fn seeded_split_is_80_20_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.csv", &numeric_csv(50));
    let a = load(&p, 5).unwrap();
    let b = load(&p, 5).unwrap();
    let c = load(&p, 6).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.indices(Split::Train).len(), 40);
    assert_eq!(a.indices(Split::Test).len(), 10);
    assert_eq!(c.indices(Split::Train).len(), 40);
    assert_ne!(splits(&a), splits(&c), "another seed, another split");
    // Examples stay in file order; only the split marks differ.
    assert_eq!(values(&a), values(&c));
    assert_eq!(labels(&a), labels(&c));
    assert_eq!(values(&a)[..4], [0.0, 0.0, 1.0, 2.0]);
    // round(0.8 * n) train examples.
    let p = write(dir.path(), "e.csv", &numeric_csv(7));
    assert_eq!(load(&p, 0).unwrap().indices(Split::Train).len(), 6);
    let p = write(dir.path(), "f.csv", &numeric_csv(12));
    assert_eq!(load(&p, 0).unwrap().indices(Split::Train).len(), 10);
}

#[test]
fn seeded_split_matches_a_chacha_shuffle() {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.csv", &numeric_csv(30));
    let d = load(&p, 11).unwrap();
    let mut order: Vec<usize> = (0..30).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(11));
    let mut train: Vec<usize> = order[..24].to_vec();
    train.sort();
    assert_eq!(d.indices(Split::Train), train);
}

#[test]
fn spec_with_split_seed() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "d.csv", &numeric_csv(40));
    let spec = format!("{}:split_seed=3", p.display());
    let d = trainlog::dataset::load(&spec).unwrap();
    assert_eq!(d, load(&p, 3).unwrap());
    assert_eq!(d.spec, p.display().to_string());
    // A plain path uses seed 0.
    let d0 = trainlog::dataset::load(&p.display().to_string()).unwrap();
    assert_eq!(d0, load(&p, 0).unwrap());
    // A missing file is MissingFile.
    let missing = dir.path().join("nope.csv");
    assert!(matches!(
        trainlog::dataset::load(&missing.display().to_string()),
        Err(DatasetError::MissingFile(_))
    ));
}

const TEXT: &str = "\
label,text,split
pos,ab,train
neg,ba c,train
pos,zab,test
neg,b,train
pos,aaaa,train
neg,c,test
";

#[test]
fn text_column_uses_train_vocabulary_and_left_padding() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "t.csv", TEXT);
    let d = load(&p, 0).unwrap();
    assert_eq!(d.class_names, vec!["neg", "pos"]);
    let (max_len, vocab, tokens) = match &d.inputs {
        Inputs::Tokens {
            max_len,
            vocab,
            tokens,
        } => (*max_len, vocab.clone(), tokens.clone()),
        other => panic!("{other:?}"),
    };
    // Train texts: "ab", "ba c", "b", "aaaa" → ' ', a, b, c ('z' only in test).
    assert_eq!(vocab, vec!["<pad>", "<unk>", " ", "a", "b", "c"]);
    assert_eq!((PAD, UNK), (0, 1));
    assert_eq!(max_len, 4);
    assert_eq!(d.seq_len(), 4);
    let rows: Vec<&[i64]> = tokens.chunks(4).collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[0], &[PAD, PAD, 3, 4]);
    assert_eq!(rows[1], &[4, 3, 2, 5]);
    assert_eq!(rows[2], &[PAD, UNK, 3, 4], "unseen 'z' is UNK");
    assert_eq!(rows[3], &[PAD, PAD, PAD, 4]);
    assert_eq!(rows[4], &[3, 3, 3, 3]);
    assert_eq!(rows[5], &[PAD, PAD, PAD, 5], "'c' is in the train vocab");
    let lengths: Vec<u32> = d.examples.iter().map(|e| e.length).collect();
    assert_eq!(lengths, vec![2, 4, 3, 1, 4, 1]);
}

#[test]
fn text_is_split_into_unicode_characters() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "t.csv",
        "label,text,split\n0,héé,train\n1,日本,train\n0,é,test\n1,日,test\n",
    );
    let d = load(&p, 0).unwrap();
    match &d.inputs {
        Inputs::Tokens { vocab, tokens, .. } => {
            assert_eq!(vocab, &["<pad>", "<unk>", "h", "é", "日", "本"]);
            assert_eq!(&tokens[..3], &[2, 3, 3]);
            assert_eq!(&tokens[9..], &[PAD, PAD, 4]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.examples[0].length, 3);
}

#[test]
fn other_extensions_and_tsv() {
    let dir = tempfile::tempdir().unwrap();
    let csv = load(&write(dir.path(), "data.csv", NUMERIC), 0).unwrap();
    let txt = load(&write(dir.path(), "data.txt", NUMERIC), 0).unwrap();
    let tsv = load(
        &write(dir.path(), "data.tsv", &NUMERIC.replace(',', "\t")),
        0,
    )
    .unwrap();
    assert_eq!(csv.examples, txt.examples);
    assert_eq!(csv.inputs, txt.inputs);
    assert_eq!(csv.examples, tsv.examples);
    assert_eq!(csv.inputs, tsv.inputs);
}

#[test]
fn parquet_numeric_equals_csv() {
    let dir = tempfile::tempdir().unwrap();
    let csv = load(&write(dir.path(), "data.csv", NUMERIC), 0).unwrap();
    let pq = write_parquet(
        dir.path(),
        "data.parquet",
        vec![
            ("id", strs(&["a", "b", "c", "d", "e", "f"])),
            ("label", Arc::new(Int64Array::from(vec![7, 3, 9, 7, 3, 9]))),
            (
                "x1",
                Arc::new(Float64Array::from(vec![0.5, 1.5, 2.5, 3.5, 4.5, 5.5])),
            ),
            ("x2", Arc::new(Int32Array::from(vec![1, 2, 3, 4, 5, 60]))),
            (
                "x3",
                Arc::new(Float32Array::from(vec![-2.0, -3.0, -4.0, -5.0, -6.0, -7.0])),
            ),
            (
                "split",
                strs(&["train", "train", "test", "train", "test", "train"]),
            ),
        ],
    );
    let d = load(&pq, 0).unwrap();
    assert_eq!(d.class_names, csv.class_names);
    assert_eq!(d.examples, csv.examples);
    assert_eq!(d.inputs, csv.inputs);
    assert_eq!(d.spec, pq.display().to_string());
    // Same content, same fingerprint (the spec is not part of it).
    assert_eq!(d.fingerprint(), csv.fingerprint());
    // The .pq extension reads Parquet too.
    let pq2 = dir.path().join("data.pq");
    std::fs::copy(&pq, &pq2).unwrap();
    assert_eq!(load(&pq2, 0).unwrap().inputs, csv.inputs);
}

#[test]
fn parquet_text_equals_csv_and_seeded_split_matches() {
    let dir = tempfile::tempdir().unwrap();
    // Without a split column both take the same seeded split.
    let body = "label,text\npos,ab\nneg,ba c\npos,zab\nneg,b\npos,aaaa\nneg,c\npos,a\nneg,bb\n";
    let csv = load(&write(dir.path(), "t.csv", body), 9).unwrap();
    let pq = write_parquet(
        dir.path(),
        "t.parquet",
        vec![
            (
                "label",
                strs(&["pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg"]),
            ),
            (
                "text",
                strs(&["ab", "ba c", "zab", "b", "aaaa", "c", "a", "bb"]),
            ),
        ],
    );
    let d = load(&pq, 9).unwrap();
    assert_eq!(d.class_names, csv.class_names);
    assert_eq!(d.examples, csv.examples);
    assert_eq!(d.inputs, csv.inputs);
    assert_eq!(d.indices(Split::Train).len(), 6);
}

#[test]
fn parquet_integer_ids_are_kept_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let pq = write_parquet(
        dir.path(),
        "d.parquet",
        vec![
            ("id", Arc::new(Int64Array::from(vec![100, 101, 102, 103]))),
            ("label", strs(&["x", "y", "x", "y"])),
            ("v", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0]))),
        ],
    );
    let d = load(&pq, 0).unwrap();
    let ids: Vec<&str> = d.examples.iter().map(|e| e.source_id.as_str()).collect();
    assert_eq!(ids, vec!["100", "101", "102", "103"]);
}

#[test]
fn parquet_pandas_index_column_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let pq = write_parquet(
        dir.path(),
        "d.parquet",
        vec![
            ("label", strs(&["x", "y", "x", "y"])),
            ("v", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0]))),
            (
                "__index_level_0__",
                Arc::new(Int64Array::from(vec![10, 11, 12, 13])),
            ),
        ],
    );
    let d = load(&pq, 0).unwrap();
    assert_eq!(d.seq_len(), 1);
    assert_eq!(values(&d), &[1.0, 2.0, 3.0, 4.0]);
}

// ---- errors ----

#[test]
fn error_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = load(&dir.path().join("absent.csv"), 0).unwrap_err();
    assert!(matches!(e, DatasetError::MissingFile(_)), "{e:?}");
    assert!(e.to_string().contains("does not exist"));
}

#[test]
fn error_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("a.csv", ""),
        ("b.csv", "\n\n"),
        ("c.csv", "label,x\n"),
        ("d.csv", "  \n"),
    ] {
        let m = err(&write(dir.path(), name, body));
        assert!(m.contains("is empty"), "{m}");
        assert!(m.contains("`label` column"), "{m}");
        assert!(m.starts_with(&dir.path().join(name).display().to_string()));
    }
    // A Parquet file with a schema but no rows.
    let pq = write_parquet(
        dir.path(),
        "e.parquet",
        vec![
            ("label", strs(&[])),
            ("x", Arc::new(Float64Array::from(Vec::<f64>::new()))),
        ],
    );
    assert!(err(&pq).contains("is empty"));
}

#[test]
fn error_no_label_column_lists_columns() {
    let dir = tempfile::tempdir().unwrap();
    let m = err(&write(dir.path(), "d.csv", "class,x1,x2\na,1,2\nb,3,4\n"));
    assert!(m.contains("no `label` column"), "{m}");
    assert!(m.contains("class, x1, x2"), "{m}");
    let m = err(&write(dir.path(), "e.csv", "Label,x1\na,1\nb,3\n"));
    assert!(m.contains("case-sensitive"), "{m}");
    let m = err(&write(dir.path(), "f.csv", "label;x1\na;1\nb;3\n"));
    assert!(m.contains("';'"), "{m}");
}

#[test]
fn error_ragged_row_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let m = err(&write(
        dir.path(),
        "d.csv",
        "label,x1,x2\na,1,2\nb,3,4\na,5\nb,6,7\n",
    ));
    assert!(
        m.contains("line 4 has 2 fields but the header has 3"),
        "{m}"
    );
    let m = err(&write(dir.path(), "e.csv", "label,x1\na,1\nb,3,4\n"));
    assert!(
        m.contains("line 3 has 3 fields but the header has 2"),
        "{m}"
    );
}

#[test]
fn error_non_number_in_sequence_column() {
    let dir = tempfile::tempdir().unwrap();
    let m = err(&write(
        dir.path(),
        "data.csv",
        "label,x1,x5\na,1,2\nb,3,4\na,5,abc\nb,6,7\n",
    ));
    assert!(
        m.contains("row 3 (line 4), column x5: 'abc' is not a number"),
        "{m}"
    );
    assert!(m.contains("sequence column"), "{m}");
    for (name, cell) in [
        ("e.csv", ""),
        ("n.csv", "NaN"),
        ("i.csv", "inf"),
        ("o.csv", "1e60"),
    ] {
        let body = format!("label,x1\na,1\nb,{cell}\na,2\nb,3\n");
        let m = err(&write(dir.path(), name, &body));
        assert!(m.contains("row 2 (line 3), column x1"), "{m}");
        let why = if cell.is_empty() {
            "is empty"
        } else {
            "is not a finite"
        };
        assert!(m.contains(why), "{m}");
    }
    // A string column that is not named label/id/split/text is a sequence column.
    let m = err(&write(
        dir.path(),
        "s.csv",
        "label,name,x1\na,foo,1\nb,bar,2\na,baz,3\nb,qux,4\n",
    ));
    assert!(
        m.contains("row 1 (line 2), column name: 'foo' is not a number"),
        "{m}"
    );
}

#[test]
fn error_null_or_string_in_parquet_sequence_column() {
    let dir = tempfile::tempdir().unwrap();
    let pq = write_parquet(
        dir.path(),
        "n.parquet",
        vec![
            ("label", strs(&["a", "b", "a", "b"])),
            (
                "x1",
                Arc::new(Float64Array::from(vec![
                    Some(1.0),
                    Some(2.0),
                    None,
                    Some(4.0),
                ])),
            ),
        ],
    );
    let m = err(&pq);
    assert!(m.contains("row 3, column x1"), "{m}");
    assert!(m.contains("missing"), "{m}");
    let pq = write_parquet(
        dir.path(),
        "s.parquet",
        vec![
            ("label", strs(&["a", "b", "a", "b"])),
            ("x1", strs(&["1", "2.5", "x", "4"])),
        ],
    );
    let m = err(&pq);
    assert!(m.contains("row 3, column x1: 'x' is not a number"), "{m}");
}

#[test]
fn error_class_with_one_example() {
    let dir = tempfile::tempdir().unwrap();
    let m = err(&write(
        dir.path(),
        "d.csv",
        "label,x1\na,1\nb,2\na,3\nx,4\nb,5\n",
    ));
    assert!(
        m.contains(
            "class 'x' has only one example: every class needs at least two (remove it or add examples)"
        ),
        "{m}"
    );
}

#[test]
fn error_single_class() {
    let dir = tempfile::tempdir().unwrap();
    let m = err(&write(dir.path(), "d.csv", "label,x1\na,1\na,2\na,3\n"));
    assert!(m.contains("at least two classes"), "{m}");
}

#[test]
fn error_missing_label_value() {
    let dir = tempfile::tempdir().unwrap();
    let m = err(&write(
        dir.path(),
        "d.csv",
        "label,x1\na,1\n,2\na,3\nb,4\nb,5\n",
    ));
    assert!(m.contains("row 2 (line 3): the label is missing"), "{m}");
    let pq = write_parquet(
        dir.path(),
        "d.parquet",
        vec![
            (
                "label",
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    Some("b"),
                    None,
                    Some("a"),
                ])),
            ),
            ("x", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0]))),
        ],
    );
    assert!(err(&pq).contains("row 3: the label is missing"));
}

#[test]
fn error_bad_split_value() {
    let dir = tempfile::tempdir().unwrap();
    let m = err(&write(
        dir.path(),
        "d.csv",
        "label,x1,split\na,1,train\nb,2,train\na,3,valid\nb,4,test\n",
    ));
    assert!(m.contains("row 3 (line 4): split is 'valid'"), "{m}");
    assert!(m.contains("train or test"), "{m}");
}

#[test]
fn error_no_train_examples_or_class_without_train() {
    let dir = tempfile::tempdir().unwrap();
    let m = err(&write(
        dir.path(),
        "d.csv",
        "label,x1,split\na,1,test\nb,2,test\na,3,test\nb,4,test\n",
    ));
    assert!(m.contains("no train rows"), "{m}");
    let m = err(&write(
        dir.path(),
        "e.csv",
        "label,x1,split\na,1,train\nb,2,test\na,3,train\nb,4,test\n",
    ));
    assert!(m.contains("class 'b' has no train example"), "{m}");
}

#[test]
fn error_seeded_split_leaving_a_class_without_train() {
    // Two examples of 'b' among ten rows: some seeds put both in test.
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("label,x\n");
    for i in 0..8 {
        body.push_str(&format!("a,{i}\n"));
    }
    body.push_str("b,8\nb,9\n");
    let p = write(dir.path(), "d.csv", &body);
    let mut failed = 0;
    for seed in 0..40 {
        match load(&p, seed) {
            Ok(d) => assert_eq!(d.indices(Split::Train).len(), 8),
            Err(e) => {
                let m = e.to_string();
                assert!(m.contains("class 'b' has no train example"), "{m}");
                assert!(m.contains("split_seed="), "{m}");
                failed += 1;
            }
        }
    }
    assert!(failed > 0 && failed < 40, "{failed}");
}

#[test]
fn error_text_with_sequence_columns_or_no_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let m = err(&write(
        dir.path(),
        "d.csv",
        "label,text,x1\na,ab,1\nb,cd,2\na,ef,3\nb,gh,4\n",
    ));
    assert!(m.contains("`text` column"), "{m}");
    assert!(m.contains("x1"), "{m}");
    assert!(m.contains("drop"), "{m}");
    let m = err(&write(
        dir.path(),
        "e.csv",
        "id,label,split\n1,a,train\n2,b,train\n3,a,test\n4,b,train\n",
    ));
    assert!(m.contains("no input columns"), "{m}");
}

#[test]
fn error_empty_text() {
    let dir = tempfile::tempdir().unwrap();
    let m = err(&write(
        dir.path(),
        "d.csv",
        "label,text\na,ab\nb,\"\"\na,ef\nb,gh\n",
    ));
    assert!(m.contains("row 2 (line 3): the text is empty"), "{m}");
}

#[test]
fn error_unreadable_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let m = err(&write(dir.path(), "d.parquet", "label,x\na,1\nb,2\n"));
    assert!(m.contains("cannot read it as Parquet"), "{m}");
}

#[test]
fn error_parquet_column_types() {
    let dir = tempfile::tempdir().unwrap();
    let pq = write_parquet(
        dir.path(),
        "f.parquet",
        vec![
            (
                "label",
                Arc::new(Float64Array::from(vec![1.0, 2.0, 1.0, 2.0])),
            ),
            ("v", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0]))),
        ],
    );
    let m = err(&pq);
    assert!(m.contains("column label has type Float64"), "{m}");
    assert!(m.contains("integers or class names"), "{m}");
    let pq = write_parquet(
        dir.path(),
        "b.parquet",
        vec![
            ("label", strs(&["x", "y", "x", "y"])),
            (
                "v",
                Arc::new(arrow::array::BooleanArray::from(vec![
                    true, false, true, false,
                ])),
            ),
        ],
    );
    let m = err(&pq);
    assert!(m.contains("column v has type Boolean"), "{m}");
    let pq = write_parquet(
        dir.path(),
        "n.parquet",
        vec![
            ("label", strs(&["x", "y", "x", "y"])),
            (
                "v",
                Arc::new(Float32Array::from(vec![1.0, f32::NAN, 3.0, 4.0])),
            ),
        ],
    );
    let m = err(&pq);
    assert!(m.contains("row 2, column v: 'NaN' is not a finite"), "{m}");
}

#[test]
fn error_bad_header() {
    let dir = tempfile::tempdir().unwrap();
    let m = err(&write(dir.path(), "d.csv", ",label,x\n0,a,1\n1,b,2\n"));
    assert!(m.contains("column 1 of the header has no name"), "{m}");
    let m = err(&write(dir.path(), "e.csv", "label,x,x\na,1,2\nb,3,4\n"));
    assert!(m.contains("column 'x' appears twice"), "{m}");
}

#[test]
fn error_messages_stay_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    // A quoted value with a line break in a split cell.
    let m = err(&write(
        dir.path(),
        "d.csv",
        "label,x1,split\na,1,train\nb,2,\"te\nst\"\na,3,train\nb,4,test\n",
    ));
    assert!(m.contains("row 2 (line 3): split is 'te\\nst'"), "{m}");
}
