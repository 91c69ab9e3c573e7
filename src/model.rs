//! The classifiers: the LSTM (numeric inputs through a linear projection or tokens through an
//! embedding, an LSTM of some layers, hidden size, dropout and directions, and a linear head on
//! the last time step), and two shallow baselines on the flattened sequence: multinomial
//! logistic regression (`linear`) and a one-hidden-layer ReLU MLP (`mlp`).
//!
//! The baselines see the whole sequence at once: numeric inputs `[batch, time, features]` are
//! flattened to `time · features` values; token inputs are one-hot encoded per position and
//! flattened (`time · vocab` values, the padding token included), which is computed as a sum of
//! per-(position, token) weight rows, without building the one-hot matrix.

use rand::Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// The random stream of a run's dropout masks, seeded per (seed, epoch) by the trainer. It is
/// the run's own (not libtorch's global generator, which the concurrent runs of `record
/// --jobs` share), so a run draws the same masks however many run beside it.
pub type DropoutRng = rand_chacha::ChaCha8Rng;

/// Inverted dropout with a mask from `rng` (training) or none (`rng` is `None`: evaluation).
fn dropout(x: &Tensor, p: f64, rng: Option<&mut DropoutRng>) -> Tensor {
    match rng {
        Some(rng) if p > 0.0 => {
            let keep = (1.0 / (1.0 - p)) as f32;
            let mask: Vec<f32> = (0..x.numel())
                .map(|_| if rng.random::<f64>() < p { 0.0 } else { keep })
                .collect();
            let mask = Tensor::from_slice(&mask)
                .view(x.size().as_slice())
                .to_kind(x.kind())
                .to_device(x.device());
            x * mask
        }
        _ => x.shallow_clone(),
    }
}

/// What the first layer sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum InputSpec {
    /// Real-valued sequences with `features` values per time step.
    Numeric { features: usize },
    /// Token sequences over a vocabulary of `vocab` tokens (token 0 pads).
    Tokens { vocab: usize, embed_dim: usize },
}

/// Which network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// The LSTM sequence classifier.
    #[default]
    Lstm,
    /// Multinomial logistic regression on the flattened sequence (one-hot tokens for text).
    Linear,
    /// One hidden layer (--hidden units, ReLU, --dropout after it) on the flattened sequence.
    Mlp,
}

impl ModelKind {
    /// The name in the runs table's `model` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Lstm => "lstm",
            ModelKind::Linear => "linear",
            ModelKind::Mlp => "mlp",
        }
    }
}

/// The architecture, as recorded with every run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// The network; configurations stored before there was a choice are LSTMs.
    #[serde(default)]
    pub kind: ModelKind,
    pub input: InputSpec,
    /// Time steps of every sequence (the flattened baselines' input size depends on it; 0 in
    /// configurations stored before it was recorded, which are LSTMs and do not need it).
    #[serde(default)]
    pub seq_len: usize,
    /// LSTM hidden size, or the MLP's hidden layer (unused by `linear`).
    pub hidden: usize,
    /// LSTM layers (unused by the baselines).
    pub layers: usize,
    /// Dropout between LSTM layers and before the head, or after the MLP's hidden layer, in
    /// training only (unused by `linear`).
    pub dropout: f64,
    /// A bidirectional LSTM (unused by the baselines).
    pub bidirectional: bool,
    pub n_classes: usize,
}

/// An LSTM sequence classifier.
#[derive(Debug)]
pub struct LstmClassifier {
    embed: Option<nn::Embedding>,
    project: Option<nn::Linear>,
    /// Flat LSTM weights in libtorch's order (w_ih, w_hh, b_ih, b_hh per layer and direction).
    weights: Vec<Tensor>,
    head: nn::Linear,
    config: ModelConfig,
}

impl LstmClassifier {
    /// Creates the model's variables under `vs`, initialised as PyTorch does (LSTM weights and
    /// biases uniform in ±1/√hidden).
    pub fn new(vs: &nn::Path, config: &ModelConfig) -> Self {
        let h = config.hidden as i64;
        let (embed, project, in_dim) = match config.input {
            InputSpec::Numeric { features } => {
                let p = nn::linear(vs / "project", features as i64, h, Default::default());
                (None, Some(p), h)
            }
            InputSpec::Tokens { vocab, embed_dim } => {
                let e = nn::embedding(
                    vs / "embed",
                    vocab as i64,
                    embed_dim as i64,
                    Default::default(),
                );
                (Some(e), None, embed_dim as i64)
            }
        };
        let k = 1.0 / (h as f64).sqrt();
        let init = nn::Init::Uniform { lo: -k, up: k };
        let dirs = if config.bidirectional { 2 } else { 1 };
        let lstm = vs / "lstm";
        let mut weights = Vec::new();
        for layer in 0..config.layers {
            for dir in 0..dirs {
                let layer_in = if layer == 0 { in_dim } else { h * dirs };
                let sfx = if dir == 1 { "_reverse" } else { "" };
                weights.push(lstm.var(
                    &format!("weight_ih_l{layer}{sfx}"),
                    &[4 * h, layer_in],
                    init,
                ));
                weights.push(lstm.var(&format!("weight_hh_l{layer}{sfx}"), &[4 * h, h], init));
                weights.push(lstm.var(&format!("bias_ih_l{layer}{sfx}"), &[4 * h], init));
                weights.push(lstm.var(&format!("bias_hh_l{layer}{sfx}"), &[4 * h], init));
            }
        }
        let head = nn::linear(
            vs / "head",
            h * dirs,
            config.n_classes as i64,
            Default::default(),
        );
        LstmClassifier {
            embed,
            project,
            weights,
            head,
            config: config.clone(),
        }
    }

    /// Logits `[batch, classes]` for inputs `[batch, time, features]` (numeric, f32) or
    /// `[batch, time]` (tokens, i64). `dropout`: the training's mask stream (None: eval mode).
    pub fn forward_t(&self, xs: &Tensor, mut rng: Option<&mut DropoutRng>) -> Tensor {
        let x = match (&self.embed, &self.project) {
            (Some(e), _) => e.forward(xs),
            (None, Some(p)) => p.forward(xs),
            (None, None) => unreachable!("a model has an embedding or a projection"),
        };
        let dirs = if self.config.bidirectional { 2 } else { 1 };
        let batch = x.size()[0];
        let zeros = Tensor::zeros(
            [dirs as i64, batch, self.config.hidden as i64],
            (Kind::Float, x.device()),
        );
        // One layer at a time, with this model's own dropout between the layers.
        let per_layer = 4 * dirs;
        let mut h = x;
        for layer in 0..self.config.layers {
            if layer > 0 {
                h = dropout(&h, self.config.dropout, rng.as_deref_mut());
            }
            let weights: Vec<&Tensor> = self.weights[layer * per_layer..(layer + 1) * per_layer]
                .iter()
                .collect();
            let (out, _, _) = h.lstm(
                &[&zeros, &zeros],
                &weights,
                true,
                1,
                0.0,
                rng.is_some(),
                self.config.bidirectional,
                true,
            );
            h = out;
        }
        let last = h.select(1, -1);
        let last = dropout(&last, self.config.dropout, rng);
        self.head.forward(&last)
    }
}

/// The first layer of a baseline: a linear map of the flattened sequence to `out` values.
/// Numeric: `nn::Linear` on `time · features` inputs. Tokens: the one-hot encoding of every
/// position, i.e. one weight row per (position, token) summed over positions, plus a bias;
/// initialised as a `nn::Linear` of the same fan-in would be (uniform in ±1/√fan_in).
#[derive(Debug)]
enum Flat {
    Numeric(nn::Linear),
    OneHot {
        rows: Tensor,
        bias: Tensor,
        vocab: i64,
        offsets: Tensor,
    },
}

impl Flat {
    fn new(vs: &nn::Path, config: &ModelConfig, out: i64) -> Self {
        let t = config.seq_len as i64;
        match config.input {
            InputSpec::Numeric { features } => {
                Flat::Numeric(nn::linear(vs, t * features as i64, out, Default::default()))
            }
            InputSpec::Tokens { vocab, .. } => {
                let v = vocab as i64;
                let k = 1.0 / ((t * v) as f64).sqrt();
                let init = nn::Init::Uniform { lo: -k, up: k };
                Flat::OneHot {
                    rows: vs.var("onehot_weight", &[t * v, out], init),
                    bias: vs.var("onehot_bias", &[out], init),
                    vocab: v,
                    offsets: (Tensor::arange(t, (tch::Kind::Int64, vs.device())) * v).unsqueeze(0),
                }
            }
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        match self {
            Flat::Numeric(l) => l.forward(&xs.flatten(1, -1)),
            Flat::OneHot {
                rows,
                bias,
                vocab,
                offsets,
            } => {
                // Row (position · vocab + token) of the weights, for every position, summed.
                let idx = xs.clamp(0, vocab - 1) + offsets;
                let b = idx.size()[0];
                rows.index_select(0, &idx.flatten(0, -1))
                    .view([b, -1, rows.size()[1]])
                    .sum_dim_intlist(1, false, Kind::Float)
                    + bias
            }
        }
    }
}

/// A shallow baseline: logistic regression (`hidden: None`) or a one-hidden-layer ReLU MLP.
#[derive(Debug)]
pub struct FlatClassifier {
    first: Flat,
    head: Option<nn::Linear>,
    dropout: f64,
}

impl FlatClassifier {
    /// Logistic regression: the flattened sequence straight to the class logits (variables
    /// under `linear/`).
    pub fn linear(vs: &nn::Path, config: &ModelConfig) -> Self {
        FlatClassifier {
            first: Flat::new(&(vs / "linear"), config, config.n_classes as i64),
            head: None,
            dropout: 0.0,
        }
    }

    /// The MLP: flattened sequence → `hidden` ReLU units (`hidden/`) → dropout → class logits
    /// (`head/`).
    pub fn mlp(vs: &nn::Path, config: &ModelConfig) -> Self {
        let h = config.hidden as i64;
        FlatClassifier {
            first: Flat::new(&(vs / "hidden"), config, h),
            head: Some(nn::linear(
                vs / "head",
                h,
                config.n_classes as i64,
                Default::default(),
            )),
            dropout: config.dropout,
        }
    }

    pub fn forward_t(&self, xs: &Tensor, rng: Option<&mut DropoutRng>) -> Tensor {
        let z = self.first.forward(xs);
        match &self.head {
            None => z,
            Some(head) => head.forward(&dropout(&z.relu(), self.dropout, rng)),
        }
    }
}

/// Any of the networks, built from its configuration.
#[derive(Debug)]
pub enum Classifier {
    Lstm(LstmClassifier),
    Flat(FlatClassifier),
}

impl Classifier {
    /// Creates the configured network's variables under `vs`.
    pub fn new(vs: &nn::Path, config: &ModelConfig) -> Self {
        match config.kind {
            ModelKind::Lstm => Classifier::Lstm(LstmClassifier::new(vs, config)),
            ModelKind::Linear => Classifier::Flat(FlatClassifier::linear(vs, config)),
            ModelKind::Mlp => Classifier::Flat(FlatClassifier::mlp(vs, config)),
        }
    }

    /// Logits `[batch, classes]`; `rng`: training, with dropout masks from it (None: eval).
    pub fn forward_t(&self, xs: &Tensor, rng: Option<&mut DropoutRng>) -> Tensor {
        match self {
            Classifier::Lstm(m) => m.forward_t(xs, rng),
            Classifier::Flat(m) => m.forward_t(xs, rng),
        }
    }
}
