"""The PyTorch bridge (appendix A1): same logits and same gradients as PyTorch, both ways.

These run wherever torch is installed (CI installs a CPU build); without torch only the
message test runs.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from edu_cnn import CrossEntropyLoss, manual_seed
from edu_cnn.models import lenet5, mlp
from edu_cnn.torch_bridge import load_torch_state_dict, to_torch, torch_state_dict


def test_without_torch_the_message_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(ImportError, match="pip install torch"):
        torch_state_dict(mlp([2, 3]))


torch = pytest.importorskip("torch", reason="torch is not installed (CI installs a CPU build)")


def _lenet(seed: int = 0):
    manual_seed(seed)
    return lenet5()


def _digits(n: int = 8, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, size=n)


def test_state_dict_has_pytorchs_keys_and_layouts():
    model = _lenet()
    reference = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(400, 120),
        torch.nn.ReLU(),
        torch.nn.Linear(120, 84),
        torch.nn.ReLU(),
        torch.nn.Linear(84, 10),
    )
    ours = torch_state_dict(model)
    theirs = reference.state_dict()
    assert list(ours) == list(theirs)
    assert all(ours[k].shape == theirs[k].shape for k in ours)
    reference.load_state_dict(ours)  # strict: would raise on any difference


def test_state_dict_is_a_copy():
    model = _lenet()
    state = torch_state_dict(model)
    state["0.weight"] += 1.0
    assert not np.allclose(model.named_parameters()["0.weight"].data, state["0.weight"].numpy())


def test_same_logits_in_both_libraries():
    model = _lenet()
    net = to_torch(model).eval()
    model.eval()
    x, _ = _digits()
    ours = model.forward(x)
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    assert np.abs(ours - theirs).max() < 1e-5 * max(1.0, np.abs(theirs).max())


def test_same_gradients_as_autograd():
    """Every hand-derived backward of the course against PyTorch's autograd, on one batch."""
    model = _lenet()
    net = to_torch(model)
    x, labels = _digits(16)
    loss_fn = CrossEntropyLoss()
    loss = loss_fn(model.forward(x), labels)
    model.backward(loss_fn.backward())

    torch_loss = torch.nn.functional.cross_entropy(
        net(torch.from_numpy(x)), torch.from_numpy(labels)
    )
    torch_loss.backward()
    assert abs(loss - torch_loss.item()) < 1e-5
    grads = dict(net.named_parameters())
    for name, parameter in model.named_parameters().items():
        theirs = grads[name].grad.numpy()
        scale = np.abs(theirs).max()
        assert np.abs(parameter.grad - theirs).max() <= 1e-4 * scale, name


def test_a_model_trained_in_pytorch_loads_back():
    net = to_torch(_lenet(3))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x, labels = _digits(32, seed=5)
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(
            net(torch.from_numpy(x)), torch.from_numpy(labels)
        ).backward()
        opt.step()
    model = lenet5()
    load_torch_state_dict(model, net.state_dict())
    model.eval()
    with torch.no_grad():
        theirs = net.eval()(torch.from_numpy(x)).numpy()
    assert np.abs(model.forward(x) - theirs).max() < 1e-5 * max(1.0, np.abs(theirs).max())


def test_mismatched_architectures_are_named():
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 4))
    with pytest.raises(ValueError, match=r"missing from the state_dict: \['4.bias', '4.weight'\]"):
        load_torch_state_dict(mlp([2, 3, 5, 4]), net.state_dict())
    with pytest.raises(
        ValueError,
        match=r"'2.weight' has shape \(4, 3\) in the state_dict but "
        r"\(5, 3\)",
    ):
        load_torch_state_dict(mlp([2, 3, 5]), net.state_dict())


def test_non_finite_weights_are_refused():
    net = torch.nn.Sequential(torch.nn.Linear(2, 3))
    with torch.no_grad():
        net[0].bias[1] = float("nan")
    with pytest.raises(ValueError, match="'0.bias' holds NaN"):
        load_torch_state_dict(mlp([2, 3]), net.state_dict())
