"""Centered finite differences: right gradients pass, wrong ones fail, the
parameters are left untouched and sampling is reproducible."""

import pytest
import torch
from torch import nn

from mlp_lab.backprop import MyNet, backpropagation, course_loss, named_gradients
from mlp_lab.gradcheck import choose_entries, gradcheck

DT = torch.float64


def tiny_problem(seed=0):
    torch.manual_seed(seed)
    model = MyNet([3, 4, 2]).to(DT)
    x = torch.randn(5, 3, dtype=DT)
    y = torch.randn(5, 2, dtype=DT)
    return model, (lambda: course_loss(model(x), y)), x, y


def test_full_check_with_autograd_on_tiny_net():
    model, loss_fn, _, _ = tiny_problem()
    table = gradcheck(model, loss_fn)
    assert list(table["parameter"]) == [n for n, _ in model.named_parameters()]
    assert list(table["entries_checked"]) == [p.numel() for p in model.parameters()]
    assert (table["max_rel_error"] < 1e-7).all()
    # the columns are those of the gradients: |autograd| and |numeric| agree
    grads = torch.autograd.grad(loss_fn(), list(model.parameters()))
    expected = [g.abs().max().item() for g in grads]
    assert table["max_abs_analytic"].tolist() == expected
    assert table["max_abs_numeric"].tolist() == pytest.approx(expected, rel=1e-7)
    assert (table["max_abs_error"] <= 1e-9 * max(expected)).all()


def test_full_check_of_backpropagation():
    model, loss_fn, x, y = tiny_problem(seed=4)
    backpropagation(model, y, model(x))
    table = gradcheck(model, loss_fn, named_gradients(model.dL_dw, model.dL_db))
    assert (table["max_rel_error"] < 1e-7).all()


def test_scaled_gradient_is_caught():
    model, loss_fn, _, _ = tiny_problem()
    grads = dict(zip([n for n, _ in model.named_parameters()],
                     torch.autograd.grad(loss_fn(), list(model.parameters()))))
    grads["fc.2.weight"] = grads["fc.2.weight"] * 1.01
    table = gradcheck(model, loss_fn, grads).set_index("parameter")
    # 0.01 / 2.01 ~ 5e-3 on every entry of the scaled tensor only.
    assert table.loc["fc.2.weight", "max_rel_error"] > 1e-3
    assert table.drop("fc.2.weight")["max_rel_error"].max() < 1e-7


def test_one_wrong_entry_is_caught():
    model, loss_fn, _, _ = tiny_problem()
    grads = dict(zip([n for n, _ in model.named_parameters()],
                     torch.autograd.grad(loss_fn(), list(model.parameters()))))
    grads["fc.1.bias"] = grads["fc.1.bias"].clone()
    grads["fc.1.bias"][2] += 0.1
    table = gradcheck(model, loss_fn, grads).set_index("parameter")
    assert table.loc["fc.1.bias", "max_rel_error"] > 1e-2
    assert table.drop("fc.1.bias")["max_rel_error"].max() < 1e-7


def test_parameters_restored_exactly():
    model, loss_fn, _, _ = tiny_problem()
    before = [p.detach().clone() for p in model.parameters()]
    gradcheck(model, loss_fn, h=0.1)  # a large, inexact h: restoring must not add
    for p, b in zip(model.parameters(), before):
        assert torch.equal(p, b)
        assert p.grad is None and p.is_leaf and p.requires_grad


def test_sampling_is_seeded():
    model = MyNet([20, 10, 2]).to(DT)
    a = choose_entries(model, k=5, seed=7)
    b = choose_entries(model, k=5, seed=7)
    c = choose_entries(model, k=5, seed=8)
    assert all(torch.equal(a[n], b[n]) for n in a)
    assert not all(torch.equal(a[n], c[n]) for n in a)
    assert [len(v) for v in a.values()] == [5, 5, 5, 2]  # fc.2.bias: all 2
    assert all(len(set(v.tolist())) == len(v) for v in a.values())


def test_sampled_check_on_the_part_b_mlp():
    """Any nn.Module and loss: (768, 128, 32, 2) ReLU MLP with cross-entropy,
    k entries sampled per tensor, reproducibly."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(768, 128), nn.ReLU(), nn.Linear(128, 32),
                          nn.ReLU(), nn.Linear(32, 2)).to(DT)
    x = torch.randn(16, 768, dtype=DT)
    t = torch.randint(0, 2, (16,))

    def loss_fn():
        return nn.functional.cross_entropy(model(x), t)

    table = gradcheck(model, loss_fn, k=20, seed=0)
    assert list(table["entries_checked"]) == [20, 20, 20, 20, 20, 2]
    assert (table["max_rel_error"] < 1e-4).all()  # cs231n: fine near ReLU kinks
    again = gradcheck(model, loss_fn, k=20, seed=0)
    assert table.equals(again)


def test_the_check_table_says_where_its_worst_error_falls():
    """The detail columns the report's explanation reads: the |gradient| of
    the entry with the worst relative error, and the largest absolute error
    of any checked entry, which bounds that entry's: |a - n| = rel (|a| + |n|)
    with n close to a."""
    from mlp_lab.gradcheck import DETAIL, check_table

    table = check_table((6, 4, 2))
    assert set(DETAIL) <= set(table.columns)
    for _, row in table.iterrows():
        at_worst = row["vs finite diff."] * 2 * row["gradient at worst"]
        assert 0 < row["gradient at worst"]
        assert at_worst <= row["absolute error"] * 1.001
    # the ReLU loss is piecewise quadratic in each parameter: its centred
    # differences carry rounding only
    relu = table[table["activation"] == "relu"]["absolute error"]
    assert (relu < 1e-9).all(), relu
