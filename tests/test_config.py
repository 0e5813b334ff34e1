"""Config: defaults reproduce the assignment; TOML overrides; every invalid input
raises ConfigError naming the field."""

import dataclasses

import pytest

from mlp_lab.config import (EXECUTION_FIELDS, LOSSES, Config, ConfigError, Setting,
                            config_from_dict, load_config)


def write(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- defaults

def test_defaults_reproduce_the_assignment(monkeypatch):
    monkeypatch.delenv("MLP_LAB_CONFIG", raising=False)
    cfg = load_config()
    assert cfg == Config()
    table = [(0.01, 0, 0), (0.01, 0, 0.01), (0.01, 0.85, 0), (0.01, 0.85, 0.01),
             (0.05, 0.85, 0.01)]
    assert [(s.lr, s.momentum, s.weight_decay) for s in cfg.settings] == table
    assert cfg.epochs == 30 and cfg.batch_size == 256 and cfg.seed == 265
    assert cfg.train_fraction == 0.9 and cfg.split_seed == 42
    assert cfg.dtype == "float64" and cfg.loss == "cross_entropy"
    assert cfg.sizes == (768, 128, 32, 2) and cfg.sizes[0] == 3 * cfg.image_size ** 2
    assert cfg.image_size == 16 and cfg.limit_per_class == 0
    assert cfg.classes == ("automobile", "cat")
    assert cfg.class_names == ("car", "cat")


def test_to_dict_and_data_dict_are_plain():
    cfg = Config()
    d = cfg.to_dict()
    assert d["settings"][4] == {"lr": 0.05, "momentum": 0.85, "weight_decay": 0.01}
    # where the trainings run is not part of what they compute
    assert not set(EXECUTION_FIELDS) & set(d)
    assert set(d) | set(EXECUTION_FIELDS) == {f.name for f in dataclasses.fields(
        Config)}
    assert Config(workers=3, scheduler="tcp://h:1").to_dict() == d
    assert set(cfg.data_dict()) == {"classes", "image_size", "train_fraction",
                                    "split_seed", "limit_per_class"}


@pytest.mark.parametrize("text, problem", [
    ("workers = -1", "-1 is negative"),
    ("workers = 1.5", "1.5 is not a whole number"),
    ('workers = "all"', "'all' is not a whole number"),
    ("scheduler = 8786", "8786 is not a string"),
])
def test_bad_execution_fields_name_the_field(tmp_path, text, problem):
    field = text.split(" ")[0]
    with pytest.raises(ConfigError, match=f"'{field}': {problem}"):
        load_config(write(tmp_path, text))


# ---------------------------------------------------------------- overrides

# One valid, non-default TOML line per field (image_size and sizes go together).
# "loss" has one valid value, the default: it has its own test below.
OVERRIDES = {
    "name": ('name = "tiny"', "tiny"),
    "classes": ('classes = ["bird", "airplane"]', ("bird", "airplane")),
    "class_names": ('class_names = ["auto", "kitty"]', ("auto", "kitty")),
    "image_size": ("image_size = 4\nsizes = [48, 8, 2]", 4),
    "train_fraction": ("train_fraction = 0.75", 0.75),
    "split_seed": ("split_seed = 7", 7),
    "limit_per_class": ("limit_per_class = 10", 10),
    "sizes": ("sizes = [768, 64, 2]", (768, 64, 2)),
    "epochs": ("epochs = 3", 3),
    "batch_size": ("batch_size = 17", 17),
    "seed": ("seed = 1", 1),
    "dtype": ('dtype = "float32"', "float32"),
    "data_dir": ('data_dir = "/somewhere"', "/somewhere"),
    "workers": ("workers = 3", 3),
    "scheduler": ('scheduler = "tcp://127.0.0.1:8786"', "tcp://127.0.0.1:8786"),
    "settings": ("[[settings]]\nlr = 0.2", (Setting(0.2, 0.0, 0.0),)),
}


def test_every_field_has_an_override_case():
    assert set(OVERRIDES) | {"loss"} == {f.name for f in dataclasses.fields(Config)}


@pytest.mark.parametrize("field", sorted(OVERRIDES))
def test_toml_overrides_one_field(tmp_path, field):
    line, expected = OVERRIDES[field]
    assert expected != getattr(Config(), field)  # an override, not the default
    cfg = load_config(write(tmp_path, line))
    assert getattr(cfg, field) == expected
    # Every other field keeps its default (image_size brings its sizes along).
    together = {"image_size": {"sizes"}, "classes": {"class_names"}}.get(field, set())
    for f in dataclasses.fields(Config):
        if f.name != field and f.name not in together:
            assert getattr(cfg, f.name) == getattr(Config(), f.name), f.name


def test_loss_has_one_valid_value_which_is_read_and_checked(tmp_path):
    assert LOSSES == ("cross_entropy",) == (Config().loss,)
    assert load_config(write(tmp_path, 'loss = "cross_entropy"')).loss == \
        "cross_entropy"
    for other in ("mse", "CrossEntropy", ""):
        with pytest.raises(ConfigError, match="'loss'"):
            load_config(write(tmp_path, f'loss = "{other}"'))


def test_classes_override_derives_display_names(tmp_path):
    cfg = load_config(write(tmp_path, 'classes = ["cat", "automobile"]'))
    assert cfg.class_names == ("cat", "car")


def test_config_path_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MLP_LAB_CONFIG", str(write(tmp_path, "epochs = 4")))
    assert load_config().epochs == 4
    # An explicit path wins over the environment.
    assert load_config(write(tmp_path, "epochs = 5", "other.toml")).epochs == 5


def test_empty_environment_variable_means_defaults(monkeypatch):
    monkeypatch.setenv("MLP_LAB_CONFIG", "")
    assert load_config() == Config()


def test_settings_tables(tmp_path):
    text = """
epochs = 2
[[settings]]
lr = 0.1
[[settings]]
lr = 0.05
momentum = 0.9
[[settings]]
lr = 0.02
momentum = 0.5
weight_decay = 0.001
"""
    cfg = load_config(write(tmp_path, text))
    assert cfg.settings == (Setting(0.1), Setting(0.05, 0.9, 0.0),
                            Setting(0.02, 0.5, 0.001))
    assert cfg.epochs == 2
    assert isinstance(cfg.settings, tuple)


# ---------------------------------------------------------------- invalid input

INVALID = [
    # (TOML text, text the message must contain)
    ("bogus = 1", "bogus"),
    ("[[settings]]\nlr = 0.1\nnesterov = true", "settings[0].nesterov"),
    ("[[settings]]\nlr = 0.1\n[[settings]]\nlr = 0.1\nbeta = 2",
     "settings[1].beta"),
    ("[[settings]]\nmomentum = 0.5", "settings[0].lr"),
    ("[[settings]]\nlr = 0", "settings[0].lr"),
    ("[[settings]]\nlr = -0.01", "settings[0].lr"),
    ('[[settings]]\nlr = "fast"', "settings[0].lr"),
    ("[[settings]]\nlr = nan", "settings[0].lr"),
    ("[[settings]]\nlr = 0.1\nmomentum = -0.1", "settings[0].momentum"),
    ("[[settings]]\nlr = 0.1\nmomentum = 1", "settings[0].momentum"),
    ("[[settings]]\nlr = 0.1\nmomentum = 1.5", "settings[0].momentum"),
    ("[[settings]]\nlr = 0.1\nweight_decay = -0.01", "settings[0].weight_decay"),
    ("settings = []", "settings"),
    ("settings = 3", "settings"),
    ("epochs = 0", "epochs"),
    ("epochs = -3", "epochs"),
    ("epochs = 2.5", "epochs"),
    ("batch_size = 0", "batch_size"),
    ("image_size = 0", "image_size"),
    ("train_fraction = 0", "train_fraction"),
    ("train_fraction = 1", "train_fraction"),
    ("train_fraction = 1.5", "train_fraction"),
    ("train_fraction = -0.1", "train_fraction"),
    ("limit_per_class = -1", "limit_per_class"),
    ('classes = ["automobile", "unicorn"]', "classes"),
    ('classes = ["cat", "cat"]', "classes"),
    ('classes = ["cat"]', "classes"),
    ('class_names = ["car", ""]', "class_names"),
    ("image_size = 32", "sizes"),
    ("sizes = [768, 128, 3]", "sizes"),
    ("sizes = [768]", "sizes"),
    ("sizes = [768, 0, 2]", "sizes"),
    ('dtype = "float16"', "dtype"),
    ('loss = "mse"', "loss"),
]


@pytest.mark.parametrize("text,field", INVALID)
def test_invalid_value_names_the_field(tmp_path, text, field):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    message = str(err.value)
    assert field in message
    assert "Fix:" in message


def test_unknown_key_message_lists_known_keys(tmp_path):
    with pytest.raises(ConfigError, match="'epoch'.*unknown key.*epochs"):
        load_config(write(tmp_path, "epoch = 3"))


def test_mismatched_sizes_message_gives_the_right_width(tmp_path):
    with pytest.raises(ConfigError, match="3072"):
        load_config(write(tmp_path, "image_size = 32"))


def test_invalid_toml_syntax_names_the_file(tmp_path):
    path = write(tmp_path, "epochs = = 3")
    with pytest.raises(ConfigError, match="not valid TOML") as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_missing_file_names_the_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="does not exist") as err:
        load_config(path)
    assert str(path) in str(err.value)


def test_missing_file_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MLP_LAB_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match="gone.toml"):
        load_config()


def test_direct_construction_is_validated_too():
    with pytest.raises(ConfigError, match="epochs"):
        Config(epochs=0)
    with pytest.raises(ConfigError, match=r"settings\[1\]\.momentum"):
        Config(settings=(Setting(0.1), Setting(0.1, momentum=1.0)))


def test_config_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().epochs = 3


# ------------------------------------------- types, seeds and derived names

def test_wrongly_typed_train_fraction_names_the_field():
    with pytest.raises(ConfigError, match="train_fraction"):
        config_from_dict({"train_fraction": "0.9"})


def test_direct_construction_derives_class_names():
    assert Config(classes=("cat", "automobile")).class_names == ("cat", "car")


@pytest.mark.parametrize("field", ["seed", "split_seed"])
def test_non_integer_seed_is_rejected(field):
    with pytest.raises(ConfigError, match=field):
        config_from_dict({field: "x"})


@pytest.mark.parametrize("raw, field", [({"sizes": 48}, "sizes"),
                                        ({"classes": "cat"}, "classes"),
                                        ({"epochs": 2.5}, "epochs"),
                                        ({"name": 3}, "name")])
def test_wrongly_typed_fields_are_named(raw, field):
    with pytest.raises(ConfigError, match=f"'{field}'"):
        config_from_dict(raw)


def test_one_label_per_setting():
    from mlp_lab.config import setting_label
    s = Setting(0.01, 0.85, 0.01)
    assert setting_label(s) == "lr=0.01, momentum=0.85, weight_decay=0.01"
    assert setting_label(Setting(0.05), sep="\n") == \
        "lr=0.05\nmomentum=0\nweight_decay=0"
