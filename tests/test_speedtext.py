"""The sentences of the appendix about the recorded benchmarks (no torch)."""

from mlp_lab.book import speedtext as S

STEP = {"bound": 2.0, "products": 2.2, "forward": 1.0, "backward": 3.0,
        "sgd": 4.0, "manual": 3.5}
BENCH = {"n_settings": 5, "epochs": 30, "mlp_lab_s": 44.7, "speedup": 1.56,
         "reference_s": 69.7, "reference_data_s": 10.5, "reference_train_s": 59.2,
         "train_s": 43.8, "bound_s": 23.2, "train_over_bound": 1.89,
         "float32_s": 27.0, "float32_speedup": 2.58, "repeats": 3,
         "machine": {"cpu": "AMD EPYC", "cores_usable": 2, "torch": "2.14.1"},
         "anatomy": {"float64": STEP, "float32": {"bound": 0.5, "sgd": 2.0}}}


def test_anatomy_sentence_splits_the_time_beyond_the_bound():
    text = S.anatomy_sentence(BENCH, "float64")
    # beyond = 4 - 2 = 2: passes 3 - 2 = 1 (50%), step 4 - 3 = 1 (50%)
    assert text.startswith("In float64, the bound's products alone take 1.10×")
    assert "forward and backward take 1.50× the bound" in text
    assert "50% is spent in the forward and backward" in text
    assert "products 10% slower than hot" in text and "50% in the optimizer" in text
    faster = dict(BENCH, anatomy={"float64": dict(STEP, products=1.9)})
    assert "slower than hot" not in S.anatomy_sentence(faster, "float64")


def test_speedup_bound_and_dtype_sentences_report_the_measurements():
    assert S.speedup_sentence(BENCH) == (
        "With the data cache warm, mlp_lab ran the 5 settings (both trainers, 30 "
        "epochs) in 44.7 s, 1.56× faster than the course-style pipeline (69.7 s, "
        "of which 10.5 s went to reading and transforming the images one by one "
        "and 59.2 s to training).")
    assert "1.89× the 23.2 s" in S.bound_sentence(BENCH)
    text = S.dtype_sentence(BENCH)
    assert "27.0 s, 1.66× faster than in float64 and 2.58× faster" in text
    assert text.endswith("the step's time beyond the bound 1.3× faster.")
    # bound 2.0 / 0.5; step 4 / 2; beyond (4 - 2) / (2 - 0.5)
    assert "products get 4.0× faster, a step of the torch.optim.SGD trainer 2.0× "\
           "faster, and the step's time beyond the bound 1.3× faster" in text


def test_book_time_names_the_total_and_the_slowest_chapter():
    t = {"chapters": [{"chapter": "index.qmd", "seconds": 1.5},
                      {"chapter": "book/backprop.qmd", "seconds": 3.9}],
         "total_s": 5.4}
    assert S.book_time_sentence(t) == (
        "Executing the book's 2 chapters, each in a fresh Python kernel with the "
        "results record in place, took 5.4 s (the slowest, book/backprop.qmd, "
        "3.9 s); a render pays this once per format.")


def test_missing_records_give_a_note_not_an_error():
    for fn in (S.speedup_sentence, S.bound_sentence, S.dtype_sentence,
               S.book_time_sentence, S.machine_sentence):
        assert fn(None) == S.NOT_RECORDED
    assert S.anatomy_sentence(None, "float64") == S.NOT_RECORDED
