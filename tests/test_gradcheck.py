"""Part A's check: central differences and relative errors. Right gradients
pass, wrong ones fail, the parameters are left untouched, and the table the
report shows is what Part A prints (the same numbers, in the same order)."""

import inspect

import pytest
import torch

from mlp_lab import config, gradcheck
from mlp_lab.backprop import MyNet, backpropagation
from mlp_lab.gradcheck import check_gradients, gradient_checks
from mlp_lab.models import default_dtype

DT = torch.float64


def tiny(seed=0):
    torch.manual_seed(seed)
    model = MyNet([3, 4, 2]).to(DT)
    x, y = torch.randn(5, 3, dtype=DT), torch.randn(5, 2, dtype=DT)
    return model, x, y


def test_the_defaults_are_the_configs():
    """Part A's cell calls check_gradients with its defaults: they are the
    step and the number of entries the book and the report state."""
    defaults = inspect.signature(check_gradients).parameters
    assert defaults["h"].default == config.FD_STEP
    assert defaults["entries"].default == config.CHECK_ENTRIES


def test_central_differences_match_on_every_entry():
    model, x, y = tiny()
    _, vs_fd = check_gradients(model, x, y, entries=1000)  # all 30 entries
    assert vs_fd < 1e-8


def test_the_parameters_are_restored_exactly():
    model, x, y = tiny()
    before = [p.detach().clone() for p in model.parameters()]
    check_gradients(model, x, y, h=0.1, entries=1000)  # a large, inexact h
    for p, b in zip(model.parameters(), before):
        assert torch.equal(p, b)
        assert p.grad is None and p.is_leaf and p.requires_grad


def test_the_relative_error_is_of_the_largest_entries(monkeypatch):
    """Gradients 1 % too large: max|a - b| / (max|a| + max|b|) = 0.01 / 2.01
    for every tensor, whatever its entries."""
    def scaled(model, y_true, y_pred):
        backpropagation(model, y_true, y_pred)
        for grads in (model.dL_dw, model.dL_db):
            for l in grads:
                grads[l] = grads[l] * 1.01
    monkeypatch.setattr(gradcheck, "backpropagation", scaled)
    vs_autograd, _ = check_gradients(*tiny())
    assert vs_autograd == pytest.approx(0.01 / 2.01, rel=1e-9)


def test_the_check_passes_backpropagation_and_catches_a_wrong_one(monkeypatch):
    model, x, y = tiny(seed=4)
    vs_autograd, vs_fd = check_gradients(model, x, y)
    assert vs_autograd < 1e-12 and vs_fd < 1e-7

    def wrong(model, y_true, y_pred):  # the output layer's gradient halved
        backpropagation(model, y_true, y_pred)
        model.dL_dw[2] = model.dL_dw[2] * 0.5
    monkeypatch.setattr(gradcheck, "backpropagation", wrong)
    vs_autograd, vs_fd = check_gradients(*tiny(seed=4))
    assert vs_autograd > 0.1 and vs_fd > 0.1


def test_one_wrong_entry_is_found_by_the_finite_differences(monkeypatch):
    """All entries checked, one bias entry off: only the finite differences
    and the autograd comparison of that tensor see it."""
    def off(model, y_true, y_pred):
        backpropagation(model, y_true, y_pred)
        model.dL_db[1] = model.dL_db[1].clone()
        model.dL_db[1][2] += 0.1
    monkeypatch.setattr(gradcheck, "backpropagation", off)
    model, x, y = tiny()
    _, vs_fd = check_gradients(model, x, y, entries=100)
    assert vs_fd > 1e-2


def test_the_step_checks_see_a_missing_gradient_and_a_detached_parameter(monkeypatch):
    """A gradient of zero leaves its parameter unchanged; a parameter that no
    longer requires grad is off the graph."""
    model, x, y = tiny()
    check_gradients(model, x, y)
    assert gradcheck.check_step(model) == (True, True)

    def zero_bias(model, y_true, y_pred):
        backpropagation(model, y_true, y_pred)
        model.dL_db[1] = torch.zeros_like(model.dL_db[1])
    monkeypatch.setattr(gradcheck, "backpropagation", zero_bias)
    model, x, y = tiny()
    check_gradients(model, x, y)
    assert gradcheck.check_step(model) == (False, True)

    model, x, y = tiny()
    check_gradients(model, x, y)
    model.fc["2"].weight.requires_grad_(False)  # as if detached by mistake
    assert gradcheck.check_step(model)[1] is False


def test_the_mnist_case_broadcasts_one_target_over_the_outputs(monkeypatch):
    """The (B, 1) target of the course's MNIST test: a backpropagation that
    ignores the broadcast (here: the target taken for output 0 only) fails."""
    torch.manual_seed(0)
    model, x = MyNet([6, 4, 3]).to(DT), torch.randn(5, 6, dtype=DT)
    y = torch.rand(5, 1, dtype=DT)
    assert max(check_gradients(model, x, y)) < 1e-6

    def first_output_only(model, y_true, y_pred):
        padded = torch.cat([y_true, y_pred[:, 1:]], dim=1)  # wrong: no broadcast
        backpropagation(model, padded, y_pred)
    monkeypatch.setattr(gradcheck, "backpropagation", first_output_only)
    assert min(check_gradients(model, x, y)) > 1e-3


def test_the_report_table_is_what_part_a_prints():
    """check_table runs Part A's cases the way its notebook does (float64 as
    the default dtype, one thread, the seed set once): the same rows, bit for
    bit, as gradient_checks called in that state."""
    table = gradcheck.check_table((12, 6, 2))
    assert list(table["network"]) == ["2-3-2", "2-3-2", "576-16-10", "12-6-2"]
    assert list(table["batch"]) == [1, 10, 5, 32]
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with default_dtype(DT):
            rows = gradient_checks(gradcheck.part_a_cases((12, 6, 2)))
    finally:
        torch.set_num_threads(previous)
    assert list(table["vs autograd"]) == [r[2] for r in rows]
    assert list(table["vs finite differences"]) == [r[3] for r in rows]
    assert (table["vs autograd"] < 1e-12).all()
    assert (table["vs finite differences"] < 1e-6).all()


def test_the_book_table_runs_tanh_and_relu_for_each_batch():
    table = gradcheck.four_checks_table((6, 4, 2))
    assert list(table["activation"]) == ["tanh", "tanh", "relu", "relu"] * 2
    assert (table["vs autograd"] < 1e-12).all()
    assert (table["vs finite diff."] < 1e-4).all()  # cs231n: fine near kinks
    assert table["SGD step changed weights"].all()
    assert table["leaves requiring grad"].all()
