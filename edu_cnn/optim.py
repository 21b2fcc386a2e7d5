r"""Optimisers (优化器): how a gradient becomes a step (chapters 2–3).

Every optimiser follows PyTorch's names, defaults and update rules, so a student who
moves on to ``torch.optim`` finds the same numbers. The usage is always

.. code-block:: python

    opt = Adam(model.parameters(), lr=1e-3)
    loss_fn(model(x), y); model.backward(loss_fn.backward())   # fills every p.grad
    opt.step()                                                 # updates every p.data in place

Notation (for each parameter :math:`\theta` separately, elementwise): :math:`g_t` is the
gradient at step :math:`t = 1, 2, \dots`, :math:`\gamma` the learning rate (学习率),
:math:`\lambda` the weight decay (权重衰减). Weight decay is L2 regularisation added to
the gradient before anything else, :math:`g_t \leftarrow g_t + \lambda\theta_{t-1}`, which
is the gradient of :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2` (PyTorch's convention for
all five optimisers here; ``AdamW``'s decoupled decay is not the same thing).

Each optimiser works on any ``Parameter`` – a whole network's or a single point of shape
(2,) whose ``grad`` is set by hand, which is how the optimiser race of chapter 3 runs
all of them on one 2-D loss surface. The updates are in-place numpy operations on the
parameter's dtype (float32 stays float32) with one scratch buffer per parameter, so a
step allocates nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .layer import Parameter
from .shapes import positive_int


# ---------------------------------------------------------------------------------------
# References: one step of each rule written as its formula, on fresh arrays. Each takes
# (θ, g, state, t, hyper-parameters) – t = 1 on the first step, ``state`` a dict of the
# rule's buffers (empty at first) – and returns (new θ, new state) without changing its
# arguments. The fast ``_update`` methods below do the same arithmetic in place, through
# a scratch buffer; tests/test_optim.py holds the two equal step by step.
# ---------------------------------------------------------------------------------------
def _decayed(theta: np.ndarray, g: np.ndarray, weight_decay: float) -> np.ndarray:
    return g + weight_decay * theta if weight_decay else g


def sgd_reference(
    theta: np.ndarray,
    g: np.ndarray,
    state: dict[str, np.ndarray],
    t: int,
    *,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    dampening: float = 0.0,
    nesterov: bool = False,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """SGD: b_t = g (t = 1) or μ b_{t−1} + (1 − τ) g; θ ← θ − γ·(g, b_t or g + μ b_t)."""
    g = _decayed(theta, g, weight_decay)
    if momentum == 0.0:
        return theta - lr * g, {}
    b = g if "velocity" not in state else momentum * state["velocity"] + (1 - dampening) * g
    step = g + momentum * b if nesterov else b
    return theta - lr * step, {"velocity": b}


def adagrad_reference(
    theta: np.ndarray,
    g: np.ndarray,
    state: dict[str, np.ndarray],
    t: int,
    *,
    lr: float,
    weight_decay: float = 0.0,
    lr_decay: float = 0.0,
    eps: float = 1e-10,
    initial_accumulator_value: float = 0.0,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """AdaGrad: s_t = s_{t−1} + g²; θ ← θ − γ/(1 + (t − 1)η) · g/(√s_t + ε)."""
    g = _decayed(theta, g, weight_decay)
    s = state.get("sum", np.full_like(theta, initial_accumulator_value)) + g * g
    return theta - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps), {"sum": s}


def adadelta_reference(
    theta: np.ndarray,
    g: np.ndarray,
    state: dict[str, np.ndarray],
    t: int,
    *,
    lr: float,
    weight_decay: float = 0.0,
    rho: float = 0.9,
    eps: float = 1e-6,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """AdaDelta: v_t = ρv + (1 − ρ)g²; Δ = √(u + ε)/√(v_t + ε)·g; u_t = ρu + (1 − ρ)Δ²;
    θ ← θ − γΔ.
    """
    g = _decayed(theta, g, weight_decay)
    v = rho * state.get("square_avg", np.zeros_like(theta)) + (1 - rho) * g * g
    u_old = state.get("acc_delta", np.zeros_like(theta))
    delta = np.sqrt(u_old + eps) / np.sqrt(v + eps) * g
    u = rho * u_old + (1 - rho) * delta * delta
    return theta - lr * delta, {"square_avg": v, "acc_delta": u}


def rmsprop_reference(
    theta: np.ndarray,
    g: np.ndarray,
    state: dict[str, np.ndarray],
    t: int,
    *,
    lr: float,
    weight_decay: float = 0.0,
    alpha: float = 0.99,
    eps: float = 1e-8,
    momentum: float = 0.0,
    centered: bool = False,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """RMSProp: v_t = αv + (1 − α)g²; θ ← θ − γ g/(√v_t + ε) (centred: √(v_t − ḡ_t²))."""
    g = _decayed(theta, g, weight_decay)
    v = alpha * state.get("square_avg", np.zeros_like(theta)) + (1 - alpha) * g * g
    new_state = {"square_avg": v}
    if centered:
        g_avg = alpha * state.get("grad_avg", np.zeros_like(theta)) + (1 - alpha) * g
        new_state["grad_avg"] = g_avg
        scaled = g / (np.sqrt(v - g_avg * g_avg) + eps)
    else:
        scaled = g / (np.sqrt(v) + eps)
    if momentum > 0.0:
        b = momentum * state.get("momentum_buffer", np.zeros_like(theta)) + scaled
        new_state["momentum_buffer"] = b
        return theta - lr * b, new_state
    return theta - lr * scaled, new_state


def adam_reference(
    theta: np.ndarray,
    g: np.ndarray,
    state: dict[str, np.ndarray],
    t: int,
    *,
    lr: float,
    weight_decay: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Adam: m_t, v_t decaying averages of g and g²; θ ← θ − γ m̂_t/(√v̂_t + ε), bias-corrected."""
    beta1, beta2 = betas
    g = _decayed(theta, g, weight_decay)
    m = beta1 * state.get("exp_avg", np.zeros_like(theta)) + (1 - beta1) * g
    v = beta2 * state.get("exp_avg_sq", np.zeros_like(theta)) + (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), {"exp_avg": m, "exp_avg_sq": v}


def _decay_into(average: np.ndarray, x: np.ndarray, rho: float, tmp: np.ndarray) -> None:
    """``average ← ρ·average + (1 − ρ)·x`` in place; ``tmp`` is scratch (it may be ``x``)."""
    np.multiply(x, 1.0 - rho, out=tmp)
    average *= rho
    average += tmp


class Optimizer:
    r"""Base class: keeps the parameters, the learning rate and per-parameter state.

    Parameters
    ----------
    params : iterable of Parameter
        What to update, e.g. ``model.parameters()``.
    lr : float
        Learning rate :math:`\gamma`; may be changed between steps (``opt.lr = …``), which
        is what a schedule such as :class:`StepLR` does.
    weight_decay : float
        L2 penalty :math:`\lambda` added to each gradient.
    """

    def __init__(self, params: Iterable[Parameter], lr: float, weight_decay: float = 0.0) -> None:
        self.params: list[Parameter] = list(params)
        if not self.params:
            raise ValueError(f"{self.name}: got an empty list of parameters to optimise")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise ValueError(
                    f"{self.name}: expected edu_cnn Parameters (e.g. model.parameters()), "
                    f"got {type(p).__name__} at position {i}"
                )
        self.lr = lr
        self.weight_decay = self._nonneg("weight_decay", weight_decay)
        self.steps = 0
        # per parameter: a dict of named arrays of the parameter's shape and dtype
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]

    # -- the learning rate may be changed by a schedule -------------------------------------
    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = self._nonneg("lr", value)

    @property
    def name(self) -> str:
        return type(self).__name__

    def _nonneg(
        self, what: str, value: Any, upper: float | None = None, upper_included: bool = False
    ) -> float:
        """``value`` as a float ≥ 0 (and < ``upper``, or ≤ with ``upper_included``)."""
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise ValueError(f"{self.name}: {what} must be a number, got {value!r}")
        value = float(value)
        too_big = upper is not None and (value > upper if upper_included else value >= upper)
        if not math.isfinite(value) or value < 0 or too_big:
            where = "≥ 0" if upper is None else f"in [0, {upper}{']' if upper_included else ')'}"
            raise ValueError(f"{self.name}: {what} must be {where}, got {value!r}")
        return value

    # -- the public API ------------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Set every gradient to zero (layers overwrite them in backward anyway)."""
        for p in self.params:
            p.grad[...] = 0

    def step(self) -> None:
        """Update every parameter once from its current ``grad``."""
        self.steps += 1
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad.shape != p.data.shape:
                raise ValueError(
                    f"{self.name}: {p!r} has a gradient of shape {tuple(p.grad.shape)}, "
                    f"expected {tuple(p.data.shape)}"
                )
            if "scratch" not in state:
                state["scratch"] = np.empty_like(p.data)
            self._update(p.data, self._gradient(p, state), state)

    def _gradient(self, p: Parameter, state: dict[str, np.ndarray]) -> np.ndarray:
        r""":math:`g + \lambda\theta` (into the scratch buffer), or ``g`` itself when λ = 0."""
        if self.weight_decay == 0.0:
            return p.grad
        g = state.setdefault("decayed", np.empty_like(p.data))
        np.multiply(p.data, self.weight_decay, out=g)
        g += p.grad
        return g

    def _update(self, theta: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError  # pragma: no cover - abstract

    def _buffer(
        self, state: dict[str, np.ndarray], key: str, like: np.ndarray, fill: float = 0.0
    ) -> np.ndarray:
        if key not in state:
            state[key] = np.full_like(like, fill)
        return state[key]

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters, step count and copies of the per-parameter buffers."""
        return {
            "hyper": self._hyper(),
            "steps": self.steps,
            "state": [
                {k: v.copy() for k, v in s.items() if k not in ("scratch", "decayed")}
                for s in self.state
            ],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (same parameters in the same order)."""
        if len(state["state"]) != len(self.params):
            raise ValueError(
                f"{self.name}: the state holds {len(state['state'])} parameters, "
                f"this optimiser has {len(self.params)}"
            )
        for key, value in state["hyper"].items():
            setattr(self, key, value)
        self.steps = int(state["steps"])
        self.state = [
            {k: np.array(v, dtype=p.data.dtype) for k, v in s.items()}
            for s, p in zip(state["state"], self.params, strict=True)
        ]

    #: a subclass's hyper-parameters besides lr and weight_decay (saved with the state and
    #: shown by repr, in this order)
    hyper_names: tuple[str, ...] = ()

    def _hyper(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("lr", "weight_decay", *self.hyper_names)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._hyper().items())
        return f"{self.name}({len(self.params)} parameters, {args})"


class SGD(Optimizer):
    r"""Stochastic gradient descent (随机梯度下降), optionally with (Nesterov) momentum.

    .. math::
        b_t = \begin{cases} g_t & t = 1 \\ \mu b_{t-1} + (1 - \tau) g_t & t > 1 \end{cases}
        \qquad
        \theta_t = \theta_{t-1} - \gamma \cdot \begin{cases}
            g_t & \mu = 0 \\ b_t & \text{momentum} \\ g_t + \mu b_t & \text{Nesterov}
        \end{cases}

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
        Learning rate :math:`\gamma`.
    momentum : float
        :math:`\mu` in [0, 1): the velocity (动量) keeps a decaying sum of past gradients.
    dampening : float
        :math:`\tau`, scales the new gradient in the velocity (0 in the usual form).
    weight_decay : float
        L2 penalty :math:`\lambda`.
    nesterov : bool
        Look ahead: step with the gradient plus the new velocity (needs momentum > 0 and
        dampening 0, as in PyTorch).
    """

    #: the same step written as its formula (tested equal to ``_update``)
    reference = staticmethod(sgd_reference)
    hyper_names = ("momentum", "dampening", "nesterov")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = self._nonneg("momentum", momentum, upper=1.0)
        self.dampening = self._nonneg("dampening", dampening, upper=1.0, upper_included=True)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError(
                f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={self.momentum}, dampening={self.dampening}"
            )

    def _update(self, theta, g, state) -> None:
        tmp = state["scratch"]
        if self.momentum == 0.0:
            np.multiply(g, self.lr, out=tmp)
            theta -= tmp
            return
        if "velocity" not in state:
            b = state["velocity"] = np.array(g, dtype=theta.dtype, copy=True)
        else:
            b = state["velocity"]
            b *= self.momentum
            if self.dampening:
                np.multiply(g, 1.0 - self.dampening, out=tmp)
                b += tmp
            else:
                b += g
        if self.nesterov:
            np.multiply(b, self.momentum, out=tmp)
            tmp += g
            tmp *= self.lr
        else:
            np.multiply(b, self.lr, out=tmp)
        theta -= tmp


class Adagrad(Optimizer):
    r"""AdaGrad: each weight's step shrinks with the sum of its squared gradients.

    .. math::
        \tilde\gamma = \frac{\gamma}{1 + (t - 1)\eta}, \qquad
        s_t = s_{t-1} + g_t^2, \qquad
        \theta_t = \theta_{t-1} - \tilde\gamma \frac{g_t}{\sqrt{s_t} + \epsilon}

    with :math:`s_0` = ``initial_accumulator_value`` and :math:`\eta` = ``lr_decay``.
    Weights with large past gradients take small steps, rare ones large steps; since
    :math:`s_t` only grows, the steps eventually vanish (AdaDelta and RMSProp fix that).
    """

    #: the same step written as its formula (tested equal to ``_update``)
    reference = staticmethod(adagrad_reference)
    hyper_names = ("lr_decay", "eps", "initial_accumulator_value")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.lr_decay = self._nonneg("lr_decay", lr_decay)
        self.initial_accumulator_value = self._nonneg(
            "initial_accumulator_value", initial_accumulator_value
        )
        self.eps = self._nonneg("eps", eps)

    def _update(self, theta, g, state) -> None:
        tmp = state["scratch"]
        s = self._buffer(state, "sum", theta, self.initial_accumulator_value)
        np.multiply(g, g, out=tmp)
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.lr / (1.0 + (self.steps - 1) * self.lr_decay)
        theta -= tmp


class Adadelta(Optimizer):
    r"""AdaDelta: AdaGrad with decaying averages, and a step in the units of :math:`\theta`.

    .. math::
        v_t = \rho v_{t-1} + (1 - \rho) g_t^2, \qquad
        \Delta_t = \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t, \qquad
        u_t = \rho u_{t-1} + (1 - \rho) \Delta_t^2, \qquad
        \theta_t = \theta_{t-1} - \gamma \Delta_t

    (:math:`v_0 = u_0 = 0`). The ratio of two root-mean-squares replaces the learning
    rate, so ``lr`` = 1.0 is the original method; it starts slowly (:math:`u_0 = 0`).
    """

    #: the same step written as its formula (tested equal to ``_update``)
    reference = staticmethod(adadelta_reference)
    hyper_names = ("rho", "eps")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.rho = self._nonneg("rho", rho, upper=1.0, upper_included=True)
        self.eps = self._nonneg("eps", eps)

    def _update(self, theta, g, state) -> None:
        tmp = state["scratch"]
        v = self._buffer(state, "square_avg", theta)
        u = self._buffer(state, "acc_delta", theta)
        np.multiply(g, g, out=tmp)
        _decay_into(v, tmp, self.rho, tmp)
        delta = self._buffer(state, "delta", theta)
        np.add(u, self.eps, out=delta)
        np.add(v, self.eps, out=tmp)
        np.divide(delta, tmp, out=delta)
        np.sqrt(delta, out=delta)  # √(u+ε)/√(v+ε) = √((u+ε)/(v+ε))
        delta *= g
        np.multiply(delta, delta, out=tmp)
        _decay_into(u, tmp, self.rho, tmp)
        np.multiply(delta, self.lr, out=tmp)
        theta -= tmp


class RMSprop(Optimizer):
    r"""RMSProp: divide by a decaying root-mean-square of recent gradients.

    .. math::
        v_t = \alpha v_{t-1} + (1 - \alpha) g_t^2, \qquad
        \theta_t = \theta_{t-1} - \gamma \frac{g_t}{\sqrt{v_t} + \epsilon}

    With ``momentum`` :math:`\mu > 0` the scaled gradient feeds a velocity,
    :math:`b_t = \mu b_{t-1} + g_t / (\sqrt{v_t} + \epsilon)`,
    :math:`\theta_t = \theta_{t-1} - \gamma b_t`. With ``centered=True``,
    :math:`v_t` is replaced by :math:`v_t - \bar g_t^2`, :math:`\bar g_t = \alpha \bar
    g_{t-1} + (1 - \alpha) g_t` (an estimate of the gradient's variance).
    """

    #: the same step written as its formula (tested equal to ``_update``)
    reference = staticmethod(rmsprop_reference)
    hyper_names = ("alpha", "eps", "momentum", "centered")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.alpha = self._nonneg("alpha", alpha, upper=1.0, upper_included=True)
        self.eps = self._nonneg("eps", eps)
        self.momentum = self._nonneg("momentum", momentum, upper=1.0)
        self.centered = bool(centered)

    def _update(self, theta, g, state) -> None:
        tmp = state["scratch"]
        v = self._buffer(state, "square_avg", theta)
        np.multiply(g, g, out=tmp)
        _decay_into(v, tmp, self.alpha, tmp)
        if self.centered:
            g_avg = self._buffer(state, "grad_avg", theta)
            _decay_into(g_avg, g, self.alpha, tmp)
            np.multiply(g_avg, g_avg, out=tmp)
            np.subtract(v, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(v, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        if self.momentum > 0.0:
            b = self._buffer(state, "momentum_buffer", theta)
            b *= self.momentum
            b += tmp
            np.multiply(b, self.lr, out=tmp)
        else:
            tmp *= self.lr
        theta -= tmp


class Adam(Optimizer):
    r"""Adam: momentum on the gradient and RMSProp's scaling, both bias-corrected.

    .. math::
        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2,

        \hat m_t = \frac{m_t}{1 - \beta_1^t}, \qquad \hat v_t = \frac{v_t}{1 - \beta_2^t},
        \qquad
        \theta_t = \theta_{t-1} - \gamma \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    (:math:`m_0 = v_0 = 0`). Without the corrections the first steps would be tiny,
    because both averages start at zero.
    """

    #: the same step written as its formula (tested equal to ``_update``)
    reference = staticmethod(adam_reference)
    hyper_names = ("betas", "eps")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (β1, β2), got {betas!r}")
        self.betas = (
            self._nonneg("beta1", betas[0], upper=1.0),
            self._nonneg("beta2", betas[1], upper=1.0),
        )
        self.eps = self._nonneg("eps", eps)

    def _update(self, theta, g, state) -> None:
        beta1, beta2 = self.betas
        tmp = state["scratch"]
        m = self._buffer(state, "exp_avg", theta)
        v = self._buffer(state, "exp_avg_sq", theta)
        _decay_into(m, g, beta1, tmp)
        np.multiply(g, g, out=tmp)
        _decay_into(v, tmp, beta2, tmp)
        t = self.steps
        # γ m̂ / (√v̂ + ε) = (γ / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(1.0 - beta2**t)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr / (1.0 - beta1**t)
        theta -= tmp


class StepLR:
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    :math:`\gamma_e = \gamma_0 \cdot \text{gamma}^{\lfloor e / \text{step\_size} \rfloor}`
    after :math:`e` calls of :meth:`step`. Call ``step()`` once per epoch, or pass the
    schedule to ``fit(..., callbacks=[schedule])``: it steps at the end of each epoch.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise ValueError(
                f"StepLR: expected an edu_cnn optimiser, got {type(optimizer).__name__}"
            )
        positive_int(step_size, "step_size", "StepLR")
        if not isinstance(gamma, (int, float)) or not 0 < gamma:
            raise ValueError(f"StepLR: gamma must be a positive number, got {gamma!r}")
        self.optimizer = optimizer
        self.step_size = int(step_size)
        self.gamma = float(gamma)
        self.base_lr = optimizer.lr
        self.epoch = 0

    def step(self) -> None:
        """One epoch has passed: set the optimiser's learning rate for the next one."""
        self.epoch += 1
        self.optimizer.lr = self.base_lr * self.gamma ** (self.epoch // self.step_size)

    def get_last_lr(self) -> float:
        return self.optimizer.lr

    # as a training callback (edu_cnn.training.fit)
    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        self.step()
