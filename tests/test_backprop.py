"""backpropagation against autograd (float64), on MyNet, with ReLU, and on an
independent implementation of the course's contract; and the book's four
checks (mlp_lab.gradcheck)."""

import pytest
import torch
from torch import nn

from mlp_lab.backprop import MyNet, backpropagation
from mlp_lab.gradcheck import four_checks, relu


def relative_error(a, b) -> float:
    """max|a - b| / (max|a| + max|b|), as Part A's check compares gradients."""
    return ((a - b).abs().max() / (a.abs().max() + b.abs().max())).item()


DT = torch.float64


def make(sizes, activation="tanh", batch=1, seed=0):
    """A float64 MyNet and one batch; ReLU targets positive so outputs matter."""
    torch.manual_seed(seed)
    model = MyNet(sizes).to(DT)
    model = relu(model) if activation == "relu" else model
    x = torch.randn(batch, sizes[0], dtype=DT)
    y = torch.rand(batch, sizes[-1], dtype=DT) + 0.5
    return model, x, y


def autograd_gradients(model, x, y):
    """Autograd's dL/dW[l], dL/db[l] of L = sum (y - model(x))^2."""
    layers = [model.fc[str(l)] for l in range(1, len(model.fc) + 1)]
    params = [p for m in layers for p in (m.weight, m.bias)]
    grads = torch.autograd.grad(((y - model(x)) ** 2).sum(), params)
    return ({l: grads[2 * l - 2] for l in range(1, len(layers) + 1)},
            {l: grads[2 * l - 1] for l in range(1, len(layers) + 1)})


@pytest.mark.parametrize("batch", [1, 32])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("sizes", [[2, 3, 2], [768, 128, 32, 2]])
def test_matches_autograd(sizes, activation, batch):
    model, x, y = make(sizes, activation, batch, seed=3)
    dw, db = autograd_gradients(model, x, y)
    backpropagation(model, y, model(x))
    for l in range(1, len(sizes)):
        W, b = model.fc[str(l)].weight, model.fc[str(l)].bias
        assert model.dL_dw[l].shape == W.shape
        assert model.dL_db[l].shape == b.shape
        assert relative_error(model.dL_dw[l], dw[l]) < 1e-10
        assert relative_error(model.dL_db[l], db[l]) < 1e-10
    # A case where every gradient is zero would pass vacuously.
    assert model.dL_dw[1].abs().max() > 0


def test_four_dim_input_is_flattened():
    model, _, y = make([12, 5, 3], batch=4)
    x = torch.randn(4, 3, 2, 2, dtype=DT)
    dw, db = autograd_gradients(model, x, y)
    backpropagation(model, y, model(x))
    assert relative_error(model.dL_dw[1], dw[1]) < 1e-12


class ListNet(nn.Module):
    """The contract written differently: lists, not dicts; mixed activations
    (sigmoid, softplus, identity output); bias=True set explicitly."""

    def __init__(self, widths):
        super().__init__()
        pairs = list(zip(widths[:-1], widths[1:]))
        self.fc = nn.ModuleDict()
        for i, (n_in, n_out) in enumerate(pairs, start=1):
            self.fc[str(i)] = nn.Linear(n_in, n_out, bias=True)
        sig = torch.sigmoid
        self.f = [None, sig, nn.functional.softplus, lambda z: z]
        self.df = [None, lambda z: sig(z) * (1 - sig(z)), sig, torch.ones_like]
        self.a = [None] * 4
        self.z = [None] * 4
        self.dL_dw = [None] * 4
        self.dL_db = [None] * 4

    def forward(self, x):
        self.a[0] = x.reshape(x.shape[0], -1)
        for i in (1, 2, 3):
            self.z[i] = self.a[i - 1] @ self.fc[str(i)].weight.T + self.fc[str(i)].bias
            self.a[i] = self.f[i](self.z[i])
        return self.a[3]


@pytest.mark.parametrize("batch", [1, 7])
def test_independent_implementation_of_the_contract(batch):
    torch.manual_seed(1)
    model = ListNet([6, 5, 4, 3]).to(DT)
    x = torch.randn(batch, 6, dtype=DT)
    y = torch.randn(batch, 3, dtype=DT)
    dw, db = autograd_gradients(model, x, y)
    backpropagation(model, y, model(x))
    for l in (1, 2, 3):
        assert relative_error(model.dL_dw[l], dw[l]) < 1e-12
        assert relative_error(model.dL_db[l], db[l]) < 1e-12


def test_the_class_keeps_the_courses_contract():
    """n_l, L, fc keyed "1".."L" with weights (n_l[l], n_l[l-1]), f and df
    per layer (tanh and its derivative), dL_dw and dL_db None until filled."""
    model = MyNet([4, 3, 2])
    assert model.n_l == [4, 3, 2] and model.L == 2
    assert list(model.fc) == ["1", "2"] and model.fc["1"].weight.shape == (3, 4)
    z = torch.linspace(-3, 3, 7, dtype=DT)
    assert torch.equal(model.f[1](z), torch.tanh(z))
    assert torch.allclose(model.df[2](z), 1 - torch.tanh(z) ** 2, rtol=1e-12)
    assert model.dL_dw == {1: None, 2: None} and model.dL_db == {1: None, 2: None}


def test_no_grad_fields_and_no_graph():
    model, x, y = make([5, 4, 3], batch=6)
    y_pred = model(x)  # forward in grad mode: a[l], z[l] carry a graph
    assert y_pred.requires_grad
    backpropagation(model, y, y_pred)
    for p in model.parameters():
        assert p.grad is None
    for g in list(model.dL_dw.values()) + list(model.dL_db.values()):
        assert not g.requires_grad and g.grad_fn is None


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_course_four_checks(activation):
    model, x, y = make([8, 6, 4, 2], activation, batch=5, seed=2)
    checks = four_checks(model, x, y, entries=100)  # every entry of each tensor
    assert checks["vs autograd"] < 1e-10                     # 1. autograd
    tol = 1e-7 if activation == "tanh" else 1e-4             # ReLU kinks
    assert checks["vs finite diff."] < tol                   # 2. finite diff.
    assert checks["SGD step changed weights"] is True        # 3. SGD step
    assert checks["leaves requiring grad"] is True           # 4. leaves
    for p in model.parameters():  # still trainable after the checks' SGD step
        assert p.is_leaf and p.requires_grad


def test_course_checks_detect_a_wrong_backprop(monkeypatch):
    """Check 1 and 2 must be able to fail: halve the output-layer gradient."""
    import mlp_lab.gradcheck as gc

    def wrong(model, y_true, y_pred):
        backpropagation(model, y_true, y_pred)
        model.dL_dw[2] = model.dL_dw[2] * 0.5

    monkeypatch.setattr(gc, "backpropagation", wrong)
    model, x, y = make([3, 4, 2], batch=2)
    checks = gc.four_checks(model, x, y)
    assert checks["vs autograd"] > 0.1 and checks["vs finite diff."] > 0.1


def test_course_checks_detect_a_step_that_changes_nothing():
    """Check 3 must be able to fail: with targets equal to the outputs every
    gradient is zero, so the SGD step leaves the weights as they were."""
    model, x, _ = make([3, 4, 2], batch=2)
    checks = four_checks(model, x, model(x).detach())
    assert checks["SGD step changed weights"] is False
    assert checks["leaves requiring grad"] is True


# ---------------------------------------------------------------- broadcast targets

def harness_gradients(model, x, y):
    """dL/dW, dL/db of the course harness's own loss, by autograd:
    ``nn.MSELoss(reduction="none")(y_pred, y).sum()``, which broadcasts y
    against y_pred (and warns that the shapes differ)."""
    model.zero_grad()
    with pytest.warns(UserWarning, match="target size"):
        nn.MSELoss(reduction="none")(model(x), y).sum().backward()
    layers = [model.fc[str(l)] for l in range(1, model.L + 1)]
    return {l: (m.weight.grad.clone(), m.bias.grad.clone())
            for l, m in enumerate(layers, 1)}


@pytest.mark.parametrize("target", [(4, 1), (1, 1), (10,), (1, 10)], ids=str)
def test_a_broadcast_target_gets_the_gradient_of_the_broadcast_loss(target):
    """The MNIST cell's case is (1, 1) against (1, 10); each shape against
    autograd on the harness's loss, in float64, to round-off."""
    model, x, _ = make([6, 5, 10], batch=4, seed=2)
    y = torch.randn(*target, dtype=DT)
    expected = harness_gradients(model, x, y)
    backpropagation(model, y, model(x))
    for l, (dw, db) in expected.items():
        assert model.dL_dw[l].shape == dw.shape and model.dL_db[l].shape == db.shape
        assert torch.allclose(model.dL_dw[l], dw, rtol=1e-12, atol=1e-12)
        assert torch.allclose(model.dL_db[l], db, rtol=1e-12, atol=1e-12)


def test_the_course_mnist_cell_shapes():
    """One image at a time, target torch.Tensor([[label]]) of shape (1, 1),
    against an output of shape (1, 10): the cell that used to fail."""
    torch.manual_seed(0)
    model = MyNet([24 * 24, 16, 10]).to(DT)
    x, y = torch.randn(1, 1, 24, 24, dtype=DT), torch.tensor([[7.0]], dtype=DT)
    expected = harness_gradients(model, x, y)
    backpropagation(model, y, model(x))
    assert all(relative_error(model.dL_dw[l], expected[l][0]) < 1e-12
               for l in expected)


@pytest.mark.parametrize("target", [(4, 3), (10, 4), (4 * 10,)], ids=str)
def test_a_target_that_cannot_broadcast_fails_as_torch_does(target):
    model, x, _ = make([6, 5, 10], batch=4)
    with pytest.raises(RuntimeError, match="must match the size"):
        backpropagation(model, torch.zeros(target, dtype=DT), model(x))
