"""The two trainers give bit-identical results; evaluation helpers.

The key test trains every setting of the assignment twice from the same seed
and data, once with ``torch.optim.SGD`` and once with the hand-written update,
and demands exact equality (``==`` on losses, ``torch.equal`` on parameters).
A negative control shows that this test can fail: an update that rounds
differently (plain ``p - lr * g``) drifts after a few steps.
"""

import ast
import importlib
import inspect
import math
import textwrap

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from mlp_lab import trainers
from mlp_lab.config import Setting
from mlp_lab.drift import textbook_step
from mlp_lab.models import make_model
from mlp_lab.trainers import accuracy, confusion_matrix, train, train_manual_update
from mlp_lab.training import optimizer

SIZES = (48, 16, 8, 2)
SEED = 265
EPOCHS = 3
SETTINGS = [(0.01, 0.0, 0.0), (0.01, 0.0, 0.01), (0.01, 0.85, 0.0),
            (0.01, 0.85, 0.01), (0.05, 0.85, 0.01)]
DTYPES = [torch.float64, torch.float32]


pytestmark = pytest.mark.usefixtures("one_thread")


def synthetic(dtype, n=600, batch=64, scale=1.0):
    """600 samples of 48 features; the label depends on the features."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 48, generator=g, dtype=dtype) * scale
    y = (x[:, :24].sum(1) > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=False)


def run_sgd(dtype, lr, momentum, weight_decay, epochs=EPOCHS, loader=None):
    model = make_model(SIZES, SEED, dtype)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                          weight_decay=weight_decay)
    losses = train(epochs, opt, model, nn.CrossEntropyLoss(),
                   loader or synthetic(dtype))
    return losses, model


def run_manual(dtype, lr, momentum, weight_decay, epochs=EPOCHS, loader=None):
    model = make_model(SIZES, SEED, dtype)
    losses = train_manual_update(epochs, model, nn.CrossEntropyLoss(),
                                 loader or synthetic(dtype), lr, momentum,
                                 weight_decay)
    return losses, model


def test_the_optimizer_takes_the_single_tensor_path_and_equals_the_manual_update(
        monkeypatch):
    """The optimizer experiments train with: its steps run PyTorch's
    single-tensor SGD, never the multi-tensor or fused one, and its training
    is bit-identical to the hand-written update."""
    sgd_module = importlib.import_module("torch.optim.sgd")
    calls = []

    def record(name):
        real = getattr(sgd_module, name)

        def wrapper(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)
        monkeypatch.setattr(sgd_module, name, wrapper)

    for name in ("_single_tensor_sgd", "_multi_tensor_sgd", "_fused_sgd"):
        record(name)
    model = make_model(SIZES, SEED, torch.float64)
    opt = optimizer(model, Setting(0.05, 0.9, 0.01))
    assert opt.defaults["foreach"] is False  # pinned, also where CUDA would differ
    pinned = train(2, opt, model, nn.CrossEntropyLoss(), synthetic(torch.float64))
    assert calls and set(calls) == {"_single_tensor_sgd"}
    manual, manual_model = run_manual(torch.float64, 0.05, 0.9, 0.01, epochs=2)
    assert pinned == manual
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(),
                                                 manual_model.parameters()))


# ---------------------------------------------------------------- equality

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("lr,momentum,weight_decay", SETTINGS)
def test_both_trainers_are_bit_identical(dtype, lr, momentum, weight_decay):
    loss_a, model_a = run_sgd(dtype, lr, momentum, weight_decay)
    loss_b, model_b = run_manual(dtype, lr, momentum, weight_decay)
    assert loss_a == loss_b
    params_a, params_b = list(model_a.parameters()), list(model_b.parameters())
    assert len(params_a) == len(params_b) == 6
    for a, b in zip(params_a, params_b):
        assert a.dtype == b.dtype == dtype
        assert torch.equal(a, b)
    # Not vacuous: training moved the weights and lowered the loss.
    initial = make_model(SIZES, SEED, dtype)
    assert not torch.equal(initial.net[1].weight, model_a.net[1].weight)
    assert loss_a[-1] < loss_a[0]


def test_settings_actually_differ():
    """Momentum and weight decay change the outcome (they are really applied)."""
    finals = {s: run_manual(torch.float64, *s)[0][-1] for s in SETTINGS}
    assert len(set(finals.values())) == len(SETTINGS)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("lr, momentum, weight_decay", SETTINGS)
def test_negative_control_the_textbook_update_drifts(dtype, lr, momentum,
                                                      weight_decay, monkeypatch):
    """``drift.textbook_step`` (``p - lr * g``: each product rounded before
    its sum) is the same SGD step as ``sgd_step`` (``add_(g, alpha=-lr)``, one
    rounding), so the parameters agree to rounding level; but after a few steps
    they are no longer bit-identical. The equality test above would catch such
    an update, and the book's drift measures exactly this."""
    _, reference = run_sgd(dtype, lr, momentum, weight_decay)
    monkeypatch.setattr(trainers, "sgd_step", textbook_step)
    _, textbook = run_manual(dtype, lr, momentum, weight_decay)
    pairs = list(zip(reference.parameters(), textbook.parameters()))
    assert not all(torch.equal(a, b) for a, b in pairs)
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    assert all(torch.allclose(a, b, rtol=0, atol=tol) for a, b in pairs)


# ---------------------------------------------------------------- contract

def test_manual_update_uses_no_torch_optim(monkeypatch):
    for fn in (trainers.train_manual_update, trainers.sgd_step):
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        body = tree.body[0].body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            del body[0]  # the docstring may name torch.optim; the code may not
        assert "optim" not in ast.unparse(tree), fn.__name__

    def forbidden(*args, **kwargs):
        raise AssertionError("torch.optim was used")

    expected, _ = run_sgd(torch.float64, 0.01, 0.85, 0.01, epochs=2)
    sgd_module = importlib.import_module("torch.optim.sgd")
    monkeypatch.setattr(torch.optim.Optimizer, "__init__", forbidden)
    for name in ("sgd", "_single_tensor_sgd", "_multi_tensor_sgd", "_fused_sgd"):
        monkeypatch.setattr(sgd_module, name, forbidden)
    with pytest.raises(AssertionError, match="torch.optim was used"):
        torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)  # the trap works
    losses, _ = run_manual(torch.float64, 0.01, 0.85, 0.01, epochs=2)
    assert losses == expected


class GradCheckingLoader:
    """Yields the batches of ``loader``; before each next batch (after a step)
    records whether every parameter's gradient is None."""

    def __init__(self, loader, model):
        self.loader, self.model, self.checks = loader, model, []

    def __len__(self):  # a DataLoader's number of batches
        return len(self.loader)

    def _check(self):
        self.checks.append(all(p.grad is None for p in self.model.parameters()))

    def __iter__(self):
        first = True
        for batch in self.loader:
            if not first:
                self._check()
            first = False
            yield batch
        self._check()


@pytest.mark.parametrize("momentum,weight_decay", [(0.0, 0.0), (0.85, 0.01)])
def test_gradients_are_none_after_every_manual_step(momentum, weight_decay):
    model = make_model(SIZES, SEED, torch.float64)
    loader = GradCheckingLoader(synthetic(torch.float64), model)
    train_manual_update(2, model, nn.CrossEntropyLoss(), loader, 0.01, momentum,
                        weight_decay)
    assert len(loader.checks) == 2 * 10  # 600 / 64 -> 10 batches per epoch
    assert all(loader.checks)


@pytest.mark.parametrize("trainer", ["sgd", "manual"])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_returns_one_python_float_per_epoch(trainer, dtype):
    run = run_sgd if trainer == "sgd" else run_manual
    losses, _ = run(dtype, 0.01, 0.0, 0.0, epochs=4)
    assert isinstance(losses, list) and len(losses) == 4
    assert all(type(v) is float and math.isfinite(v) for v in losses)


def test_epoch_loss_is_the_mean_of_the_batch_losses():
    loader = synthetic(torch.float64)
    model = make_model(SIZES, SEED, torch.float64)
    loss_fn = nn.CrossEntropyLoss()
    batch_losses = []
    probe = make_model(SIZES, SEED, torch.float64)
    for x, y in loader:  # the same steps, recording every batch loss
        loss = loss_fn(probe(x), y)
        batch_losses.append(loss.item())
        loss.backward()
        trainers.sgd_step(list(probe.parameters()), [None] * 6, 0.01, 0.0, 0.0)
        probe.zero_grad()
    losses = train_manual_update(1, model, loss_fn, loader, 0.01)
    assert losses[0] == pytest.approx(sum(batch_losses) / len(batch_losses),
                                      rel=1e-12)


@pytest.mark.parametrize("trainer", ["sgd", "manual"])
def test_a_diverged_training_runs_every_epoch_and_says_so_in_its_losses(trainer):
    """The trainers do not watch their losses: one that overflows trains on,
    and the caller reads the divergence from the losses they return."""
    # lr = 1e6 on inputs of scale 10 overflows float32 in the first epoch.
    # (float64 does not overflow here: its loss reaches ~1e118, stays finite.)
    run = run_sgd if trainer == "sgd" else run_manual
    loader = synthetic(torch.float32, scale=10.0)
    losses, _ = run(torch.float32, 1e6, 0.0, 0.0, epochs=5, loader=loader)
    assert len(losses) == 5
    assert not math.isfinite(losses[0]) and not math.isfinite(losses[-1])


# ---------------------------------------------------------------- evaluation

def known_model():
    """Linear 2 -> 2 with identity weights: the prediction is argmax(x)."""
    model = nn.Linear(2, 2).double()
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    return model


def known_loader():
    x = torch.tensor([[1., 0.], [1., 0.], [0., 1.], [1., 0.], [0., 1.],
                      [2., 1.], [0., 3.]], dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0, 0, 0, 0])
    # predictions:  0  0  1  0  1  0  1
    return [(x[i:i + 3], y[i:i + 3]) for i in range(0, 7, 3)]


def test_accuracy_on_known_predictions():
    assert accuracy(known_model(), known_loader()) == pytest.approx(4 / 7)


def test_confusion_matrix_rows_true_columns_predicted():
    cm = confusion_matrix(known_model(), known_loader())
    assert cm.dtype == torch.int64
    # true 0: predicted 0 three times (rows 0, 3, 5), 1 twice (rows 4, 6);
    # true 1: predicted 0 once (row 1), 1 once (row 2).
    assert cm.tolist() == [[3, 2], [1, 1]]
    assert cm.sum().item() == 7
    assert torch.trace(cm).item() / 7 == accuracy(known_model(), known_loader())


def test_confusion_matrix_is_not_its_transpose():
    """Rows are true classes: a count of (predicted, true) would differ."""
    cm = confusion_matrix(known_model(), known_loader())
    assert cm.tolist() != cm.T.tolist()
    y = torch.cat([y for _, y in known_loader()])
    assert cm.sum(dim=1).tolist() == torch.bincount(y, minlength=2).tolist()
