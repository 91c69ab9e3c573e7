//! The LSTM classifier: numeric inputs through a linear projection or tokens through an
//! embedding, an LSTM (layers, hidden size, dropout, bidirectional), and a linear head on the
//! last time step.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// What the first layer sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum InputSpec {
    /// Real-valued sequences with `features` values per time step.
    Numeric { features: usize },
    /// Token sequences over a vocabulary of `vocab` tokens (token 0 pads).
    Tokens { vocab: usize, embed_dim: usize },
}

/// The architecture, as recorded with every run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub input: InputSpec,
    pub hidden: usize,
    pub layers: usize,
    /// Dropout between LSTM layers and before the head, in training only.
    pub dropout: f64,
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
    /// `[batch, time]` (tokens, i64). `train` enables dropout.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let x = match (&self.embed, &self.project) {
            (Some(e), _) => e.forward(xs),
            (None, Some(p)) => p.forward(xs),
            (None, None) => unreachable!("a model has an embedding or a projection"),
        };
        let dirs = if self.config.bidirectional { 2 } else { 1 };
        let batch = x.size()[0];
        let zeros = Tensor::zeros(
            [
                (self.config.layers * dirs) as i64,
                batch,
                self.config.hidden as i64,
            ],
            (Kind::Float, x.device()),
        );
        let weights: Vec<&Tensor> = self.weights.iter().collect();
        let (out, _, _) = x.lstm(
            &[&zeros, &zeros],
            &weights,
            true,
            self.config.layers as i64,
            self.config.dropout,
            train,
            self.config.bidirectional,
            true,
        );
        let last = out.select(1, -1);
        let last = last.dropout(self.config.dropout, train);
        self.head.forward(&last)
    }
}
