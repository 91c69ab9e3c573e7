//! The optimizers, written out over tch tensors (rather than libtorch's own) so that their
//! whole state can be checkpointed and a resumed run continues bit for bit: Adam (L2 weight
//! decay added to the gradient, bias-corrected moments, as `torch.optim.Adam`) and SGD with
//! momentum (as `torch.optim.SGD`, no dampening), plus gradient-norm clipping.

use crate::trainer::OptimizerKind;
use tch::{nn::VarStore, Kind, Tensor};

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

/// An optimizer over a var store's trainable variables, in name order.
pub struct Optimizer {
    kind: OptimizerKind,
    lr: f64,
    momentum: f64,
    weight_decay: f64,
    /// Updates taken so far.
    step: i64,
    names: Vec<String>,
    params: Vec<Tensor>,
    /// Adam: first moments; SGD: momentum buffers.
    m: Vec<Tensor>,
    /// Adam: second moments (unused by SGD).
    v: Vec<Tensor>,
}

impl Optimizer {
    pub fn new(
        vs: &VarStore,
        kind: OptimizerKind,
        lr: f64,
        momentum: f64,
        weight_decay: f64,
    ) -> Self {
        let mut vars: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let (names, params): (Vec<String>, Vec<Tensor>) = vars.into_iter().unzip();
        let zeros = |p: &Tensor| p.zeros_like().set_requires_grad(false);
        Optimizer {
            kind,
            lr,
            momentum,
            weight_decay,
            step: 0,
            m: params.iter().map(zeros).collect(),
            v: params.iter().map(zeros).collect(),
            names,
            params,
        }
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.detach_().zero_();
            }
        }
    }

    /// Scales the gradients so that their global L2 norm is at most `max`.
    pub fn clip_grad_norm(&mut self, max: f64) {
        tch::no_grad(|| {
            let grads: Vec<Tensor> = self
                .params
                .iter()
                .map(|p| p.grad())
                .filter(|g| g.defined())
                .collect();
            if grads.is_empty() {
                return;
            }
            let norms: Vec<Tensor> = grads
                .iter()
                .map(|g| g.norm().to_kind(Kind::Float))
                .collect();
            let total = f64::try_from(Tensor::stack(&norms, 0).norm()).unwrap_or(f64::NAN);
            let coef = max / (total + 1e-6);
            if coef < 1.0 {
                for mut g in grads {
                    let _ = g.g_mul_scalar_(coef);
                }
            }
        });
    }

    /// One update of every parameter from its gradient.
    pub fn step(&mut self) {
        self.step += 1;
        let t = self.step as f64;
        tch::no_grad(|| {
            for i in 0..self.params.len() {
                let p = &mut self.params[i];
                let grad = p.grad();
                if !grad.defined() {
                    continue;
                }
                let g = if self.weight_decay != 0.0 {
                    &grad + &*p * self.weight_decay
                } else {
                    grad
                };
                match self.kind {
                    OptimizerKind::Adam => {
                        let m = &mut self.m[i];
                        let _ = m.g_mul_scalar_(BETA1).g_add_(&(&g * (1.0 - BETA1)));
                        let v = &mut self.v[i];
                        let _ = v.g_mul_scalar_(BETA2).g_add_(&(&g * &g * (1.0 - BETA2)));
                        let bc1 = 1.0 - BETA1.powf(t);
                        let bc2 = 1.0 - BETA2.powf(t);
                        let denom = (&self.v[i] / bc2).sqrt() + EPS;
                        let update = (&self.m[i] / &denom) * (self.lr / bc1);
                        let _ = p.g_sub_(&update);
                    }
                    OptimizerKind::Sgd => {
                        let buf = &mut self.m[i];
                        if self.step == 1 || self.momentum == 0.0 {
                            buf.copy_(&g);
                        } else {
                            let _ = buf.g_mul_scalar_(self.momentum).g_add_(&g);
                        }
                        let _ = p.g_sub_(&(&self.m[i] * self.lr));
                    }
                }
            }
        });
    }

    /// The optimizer's state as named tensors (for a checkpoint).
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("step".to_string(), Tensor::from_slice(&[self.step]))];
        for (i, n) in self.names.iter().enumerate() {
            out.push((format!("m.{n}"), self.m[i].shallow_clone()));
            out.push((format!("v.{n}"), self.v[i].shallow_clone()));
        }
        out
    }

    /// Restores a state saved by [`Optimizer::state`]; false if it does not fit these
    /// parameters.
    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> bool {
        let find = |k: &str| state.iter().find(|(n, _)| n == k).map(|(_, t)| t);
        let Some(step) = find("step") else {
            return false;
        };
        let Ok(step) = i64::try_from(step) else {
            return false;
        };
        for (i, n) in self.names.iter().enumerate() {
            match (find(&format!("m.{n}")), find(&format!("v.{n}"))) {
                (Some(m), Some(v))
                    if m.size() == self.m[i].size() && v.size() == self.v[i].size() =>
                {
                    tch::no_grad(|| {
                        self.m[i].copy_(m);
                        self.v[i].copy_(v);
                    });
                }
                _ => return false,
            }
        }
        self.step = step;
        true
    }
}
