"""Model files: bit-identical round trips, atomic saves, and every kind of bad file refused."""

from __future__ import annotations

import io
import json
import os
import pathlib
import zipfile

import numpy as np
import pytest

from edu_cnn import init, modelfile
from edu_cnn.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from edu_cnn.dropout import Dropout
from edu_cnn.layer import Layer
from edu_cnn.linear import Flatten, Linear
from edu_cnn.modelfile import ModelFileError, load, read_header, save
from edu_cnn.sequential import Sequential


def small_model() -> Sequential:
    init.manual_seed(3)
    return Sequential(Flatten(), Linear(12, 5), LeakyReLU(0.2), Dropout(0.3), Linear(5, 4),
                      Tanh(), Linear(4, 3), Softmax(dim=1), input_shape=(3, 2, 2))


def batch(shape=(6, 3, 2, 2), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


@pytest.fixture
def saved(tmp_path):
    model = small_model()
    path = save(model, tmp_path / "small.educnn", mean=0.1307, std=0.3081,
                class_names=["a", "b", "c"], metadata={"accuracy": 0.5, "epochs": 2})
    return model, path


def rewrite(path: pathlib.Path, *, header=None, weights=None, raw_npz: bytes | None = None) -> None:
    """Rewrite a model file with a changed header and/or weights (a tampering stranger)."""
    with zipfile.ZipFile(path) as archive:
        old_header = json.loads(archive.read("model.json"))
        npz_bytes = archive.read("weights.npz")
    if header is not None:
        old_header = header(old_header) or old_header
    if weights is not None:
        with np.load(io.BytesIO(npz_bytes)) as npz:
            arrays = {k: npz[k] for k in npz.files}
        weights(arrays)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        npz_bytes = buffer.getvalue()
    if raw_npz is not None:
        npz_bytes = raw_npz
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model.json", json.dumps(old_header))
        archive.writestr("weights.npz", npz_bytes)


# -- round trips --------------------------------------------------------------------------------
def test_round_trip_is_bit_identical(saved):
    model, path = saved
    loaded = load(path)
    model.eval()
    x = batch()
    assert np.array_equal(model(x), loaded(x))
    assert loaded.training is False
    for (k1, p1), (k2, p2) in zip(model.named_parameters().items(),
                                  loaded.named_parameters().items()):
        assert k1 == k2 and p1.data.dtype == p2.data.dtype and np.array_equal(p1.data, p2.data)


def test_loaded_model_carries_the_contract(saved):
    _, path = saved
    loaded = load(path)
    assert loaded.input_shape == (3, 2, 2)
    assert loaded.preprocessing == modelfile.Preprocessing(0.1307, 0.3081)
    assert loaded.class_names == ["a", "b", "c"]
    assert loaded.metadata == {"accuracy": 0.5, "epochs": 2}
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Flatten", "Linear", "LeakyReLU", "Dropout", "Linear", "Tanh", "Linear", "Softmax"]
    assert loaded.layers[2].negative_slope == pytest.approx(0.2)
    assert loaded.layers[3].p == pytest.approx(0.3)


def test_saving_a_loaded_model_keeps_everything_and_the_bytes(saved, tmp_path):
    _, path = saved
    again = save(load(path), tmp_path / "again.educnn")
    assert again.read_bytes() == path.read_bytes()  # fixed timestamps: reproducible files


def test_weights_are_an_ordinary_npz_with_pytorch_names(saved):
    model, path = saved
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["model.json", "weights.npz"]
        with np.load(io.BytesIO(archive.read("weights.npz")), allow_pickle=False) as npz:
            assert sorted(npz.files) == sorted(model.named_parameters())
            assert np.array_equal(npz["1.weight"], model.layers[1].weight.data)


def test_nested_float64_and_per_channel_statistics(tmp_path):
    init.manual_seed(1)
    model = Sequential(Linear(4, 3), Sequential(ReLU(), Linear(3, 2)), Sigmoid()).astype(np.float64)
    save(model, tmp_path / "m.educnn", mean=[0.1, 0.2], std=(1.0, 2.0), input_shape=(4,))
    loaded = load(tmp_path / "m.educnn")
    x = np.random.default_rng(2).normal(size=(5, 4))
    assert loaded.layers[1].layers[1].weight.data.dtype == np.float64
    assert np.array_equal(model(x), loaded(x))
    assert loaded.preprocessing.mean == (0.1, 0.2)
    pre = loaded.preprocessing.apply(np.ones((1, 2, 1, 1)))
    assert np.allclose(pre.ravel(), [0.9, 0.4])


def test_lenet_round_trip(tmp_path):
    from edu_cnn.models import lenet5

    model = lenet5()
    save(model, tmp_path / "lenet.educnn", mean=0.1307, std=0.3081)
    x = batch((3, 1, 28, 28))
    assert np.array_equal(model.eval()(x), load(tmp_path / "lenet.educnn")(x))


def test_loading_does_not_consume_the_global_generator(saved):
    _, path = saved
    init.manual_seed(7)
    expected = np.random.default_rng(7).random()
    load(path)
    assert init.default_rng().random() == expected


# -- atomic saves -------------------------------------------------------------------------------
def test_a_crash_half_way_through_a_save_leaves_the_old_file(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()
    real = modelfile._zip_member
    calls = []

    def write_then_crash(archive, name, data):
        calls.append(name)
        if len(calls) == 2:  # model.json is written, the weights are not: the power fails
            archive.fp.write(data[: len(data) // 2])
            raise OSError("simulated crash while writing the weights")
        real(archive, name, data)

    monkeypatch.setattr(modelfile, "_zip_member", write_then_crash)
    model.layers[1].weight.data += 1.0
    with pytest.raises(OSError, match="simulated crash"):
        save(model, path)
    assert path.read_bytes() == before
    assert load(path).metadata["epochs"] == 2
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_a_failed_fsync_leaves_the_old_file(saved, monkeypatch):
    _, path = saved
    before = path.read_bytes()

    def failing_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(modelfile.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        save(small_model(), path, metadata={"new": True})
    assert path.read_bytes() == before
    assert list(path.parent.iterdir()) == [path]


# -- bad files ----------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load(tmp_path / "nothing.educnn")


def test_not_a_model_file(tmp_path):
    path = tmp_path / "digit.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(ModelFileError, match="not a complete zip archive"):
        load(path)


def test_a_zip_without_model_json(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ModelFileError, match="it has no model.json"):
        load(path)


def test_truncated_file(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        load(path)


def test_corrupted_bytes_fail_the_zip_crc(saved):
    _, path = saved
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("weights.npz")
    data = bytearray(path.read_bytes())
    # flip a byte inside the compressed weights (past the 30-byte local header and name)
    position = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[position] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupted"):
        load(path)


def test_invalid_json(saved):
    _, path = saved
    with zipfile.ZipFile(path) as archive:
        npz_bytes = archive.read("weights.npz")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model.json", "{not json")
        archive.writestr("weights.npz", npz_bytes)
    with pytest.raises(ModelFileError, match="model.json is not valid JSON"):
        load(path)


def test_wrong_format_version(saved):
    _, path = saved
    rewrite(path, header=lambda h: h.update(format_version=99))
    with pytest.raises(ModelFileError, match="unsupported format version 99"):
        load(path)
    with pytest.raises(ModelFileError, match="unsupported format version 99"):
        read_header(path)


def test_wrong_format_name(saved):
    _, path = saved
    rewrite(path, header=lambda h: h.update(format="keras"))
    with pytest.raises(ModelFileError, match="format is 'keras'"):
        load(path)


def test_unknown_layer_type_is_refused(saved):
    _, path = saved
    rewrite(path, header=lambda h: h["architecture"]["layers"][0].update(type="os.system"))
    with pytest.raises(ModelFileError, match=r"unknown layer type 'os.system' at layer 0; "
                                             r"this edu_cnn knows .*Linear"):
        load(path)


def test_bad_layer_arguments(saved):
    _, path = saved
    rewrite(path, header=lambda h: h["architecture"]["layers"][1]["config"].update(in_features=-3))
    with pytest.raises(ModelFileError, match=r"layer 1 \(Linear\) cannot be built .*in_features"):
        load(path)


def test_a_file_cannot_ask_for_huge_layers(saved):
    _, path = saved
    rewrite(path, header=lambda h: h["architecture"]["layers"][1]["config"].update(
        in_features=10**6, out_features=10**6))
    with pytest.raises(ModelFileError, match=r"layer 1 \(Linear\) asks for arrays of up to "
                                             r"1,000,000,000,000 numbers"):
        load(path)


def test_a_file_cannot_pass_a_generator_or_nest_forever(saved):
    _, path = saved
    rewrite(path, header=lambda h: h["architecture"]["layers"][1]["config"].update(rng=5))
    with pytest.raises(ModelFileError, match=r"layer 1 \(Linear\) sets 'rng'"):
        load(path)
    with zipfile.ZipFile(path) as archive:
        npz_bytes = archive.read("weights.npz")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model.json", "[" * 100_000 + "]" * 100_000)
        archive.writestr("weights.npz", npz_bytes)
    with pytest.raises(ModelFileError, match="nested too deeply"):
        load(path)


def test_weights_that_would_unpack_too_far_are_refused(saved, monkeypatch):
    _, path = saved
    monkeypatch.setattr(modelfile, "MAX_UNPACKED_WEIGHT_BYTES", 1000)
    with pytest.raises(ModelFileError, match=r"weights.npz would unpack to [\d,]+ bytes, more "
                                             r"than the 1,000"):
        load(path)


def test_checksum_mismatch(saved):
    _, path = saved

    def tamper(arrays):
        arrays["1.weight"] = arrays["1.weight"] + np.float32(0.5)

    rewrite(path, weights=tamper)
    with pytest.raises(ModelFileError, match="checksum mismatch for weight 1.weight"):
        load(path)


def test_weights_of_the_wrong_shape(saved):
    _, path = saved
    rewrite(path, weights=lambda a: a.update({"1.bias": np.zeros(6, np.float32)}))
    with pytest.raises(ModelFileError, match=r"weight 1.bias has shape \(6,\) but model.json says \(5,\)"):
        load(path)


def test_consistent_file_whose_weights_do_not_fit_the_layer(saved):
    """A file whose JSON and checksums agree but whose weight does not fit the layer."""
    _, path = saved
    wrong = np.zeros(6, np.float32)

    def header(h):
        h["weights"]["1.bias"] = {"shape": [6], "dtype": wrong.dtype.str,
                                  "sha256": modelfile._array_digest(wrong)}

    rewrite(path, header=header, weights=lambda a: a.update({"1.bias": wrong}))
    with pytest.raises(ModelFileError, match=r"weight 1.bias has shape \(6,\) but Linear.*needs \(5,\)"):
        load(path)


def test_missing_and_extra_weights(saved):
    _, path = saved
    rewrite(path, weights=lambda a: (a.pop("1.bias"), a.update(extra=np.zeros(1, np.float32))))
    with pytest.raises(ModelFileError, match=r"missing \['1.bias'\]; unexpected \['extra'\]"):
        load(path)


class _Trap:
    """Un-pickling this would create a file: proof that code ran."""

    def __init__(self, target: pathlib.Path) -> None:
        self.target = target

    def __reduce__(self):
        return pathlib.Path.touch, (self.target,)


def test_pickled_object_arrays_are_refused_and_never_run(saved, tmp_path):
    _, path = saved
    trap = tmp_path / "pwned"
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as archive, np.load(io.BytesIO(archive.read("weights.npz"))) as npz:
        arrays = {k: npz[k] for k in npz.files}
    evil = np.empty(1, dtype=object)
    evil[0] = _Trap(trap)
    arrays["1.weight"] = evil
    np.savez(buffer, **arrays)  # np.savez pickles object arrays
    rewrite(path, raw_npz=buffer.getvalue())
    with pytest.raises(ModelFileError, match="pickled Python object.*refused"):
        load(path)
    assert not trap.exists()


# -- bad saves ----------------------------------------------------------------------------------
def test_saving_an_unregistered_layer_type(tmp_path):
    class Custom(Layer):
        pass

    with pytest.raises(ModelFileError, match=r"save: layer 1 is a Custom, which model files cannot name"):
        save(Sequential(Linear(2, 2), Custom()), tmp_path / "m.educnn")
    assert not (tmp_path / "m.educnn").exists()


def test_registered_custom_layer_round_trips(tmp_path):
    class Scale(Layer):
        def __init__(self, factor: float = 2.0) -> None:
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

        def config(self):
            return {"factor": self.factor}

    modelfile.register_layer(Scale)
    try:
        save(Sequential(Linear(2, 2), Scale(3.0)), tmp_path / "m.educnn")
        assert load(tmp_path / "m.educnn").layers[1].factor == 3.0
    finally:
        modelfile._extra_types.pop("Scale")


def test_save_argument_errors(tmp_path):
    model = small_model()
    with pytest.raises(ModelFileError, match="give both mean and std"):
        save(model, tmp_path / "m.educnn", mean=0.5)
    with pytest.raises(ModelFileError, match="std must be positive"):
        save(model, tmp_path / "m.educnn", mean=0.5, std=0.0)
    with pytest.raises(ModelFileError, match="class_names must be a list of strings"):
        save(model, tmp_path / "m.educnn", class_names="abc")
    with pytest.raises(ModelFileError, match="metadata must be plain JSON"):
        save(model, tmp_path / "m.educnn", metadata={"f": object()})
    with pytest.raises(ModelFileError, match="input_shape must be a tuple of positive ints"):
        save(model, tmp_path / "m.educnn", input_shape=(0, 28))
    with pytest.raises(ModelFileError, match="folder .* does not exist"):
        save(model, tmp_path / "nowhere" / "m.educnn")
    assert os.listdir(tmp_path) == []
