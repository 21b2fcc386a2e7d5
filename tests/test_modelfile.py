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
    return Sequential(
        Flatten(),
        Linear(12, 5),
        LeakyReLU(0.2),
        Dropout(0.3),
        Linear(5, 4),
        Tanh(),
        Linear(4, 3),
        Softmax(dim=1),
        input_shape=(3, 2, 2),
    )


def batch(shape=(6, 3, 2, 2), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


@pytest.fixture
def saved(tmp_path):
    model = small_model()
    path = save(
        model,
        tmp_path / "small.educnn",
        mean=0.1307,
        std=0.3081,
        class_names=["a", "b", "c"],
        metadata={"accuracy": 0.5, "epochs": 2},
    )
    return model, path


def rewrite(
    path: pathlib.Path,
    *,
    header=None,
    weights=None,
    raw_npz: bytes | None = None,
    raw_header: str | None = None,
) -> None:
    """Rewrite a model file with a changed header and/or weights (a tampering stranger);
    ``raw_header`` / ``raw_npz`` replace a member with these exact contents."""
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
        archive.writestr("model.json", json.dumps(old_header) if raw_header is None else raw_header)
        archive.writestr("weights.npz", npz_bytes)


# -- round trips --------------------------------------------------------------------------------
def test_round_trip_is_bit_identical(saved):
    model, path = saved
    loaded = load(path)
    model.eval()
    x = batch()
    assert np.array_equal(model(x), loaded(x))
    assert loaded.training is False
    for (k1, p1), (k2, p2) in zip(
        model.named_parameters().items(), loaded.named_parameters().items(), strict=True
    ):
        assert k1 == k2 and p1.data.dtype == p2.data.dtype and np.array_equal(p1.data, p2.data)


def test_loaded_model_carries_the_contract(saved):
    _, path = saved
    loaded = load(path)
    assert loaded.input_shape == (3, 2, 2)
    assert loaded.preprocessing == modelfile.Preprocessing(0.1307, 0.3081)
    assert loaded.class_names == ["a", "b", "c"]
    assert loaded.metadata == {"accuracy": 0.5, "epochs": 2}
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Flatten",
        "Linear",
        "LeakyReLU",
        "Dropout",
        "Linear",
        "Tanh",
        "Linear",
        "Softmax",
    ]
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
    rewrite(path, raw_header="{not json")
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
    with pytest.raises(
        ModelFileError,
        match=r"unknown layer type 'os.system' at layer 0; "
        r"this edu_cnn knows .*Linear",
    ):
        load(path)


def test_bad_layer_arguments(saved):
    _, path = saved
    rewrite(path, header=lambda h: h["architecture"]["layers"][1]["config"].update(in_features=-3))
    with pytest.raises(ModelFileError, match=r"layer 1 \(Linear\) cannot be built .*in_features"):
        load(path)


def test_a_file_cannot_ask_for_huge_layers(saved):
    _, path = saved
    rewrite(
        path,
        header=lambda h: h["architecture"]["layers"][1]["config"].update(
            in_features=10**6, out_features=10**6
        ),
    )
    with pytest.raises(
        ModelFileError,
        match=r"layer 1 \(Linear\) has size arguments that "
        r"allocate up to 1,000,000,000,000 numbers, but "
        r"the file lists 65 weights for it",
    ):
        load(path)


def test_a_file_cannot_pass_a_generator_or_nest_forever(saved):
    _, path = saved
    rewrite(path, header=lambda h: h["architecture"]["layers"][1]["config"].update(rng=5))
    with pytest.raises(ModelFileError, match=r"layer 1 \(Linear\) sets 'rng'"):
        load(path)
    rewrite(path, raw_header="[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match="nested too deeply"):
        load(path)


def test_weights_that_would_unpack_too_far_are_refused(saved):
    """A zip bomb as weights.npz: 20 MB of zeros in 20 KB, against a 1 MB budget."""
    _, path = saved
    with zipfile.ZipFile(path) as archive:
        json_bytes = archive.read("model.json")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model.json", json_bytes)
        archive.writestr("weights.npz", bytes(20 << 20))
    assert path.stat().st_size < 100_000
    with pytest.raises(
        ModelFileError,
        match=r"weights.npz claims 20,971,520 bytes, more than "
        r"the 2,097,152 this model may hold",
    ):
        load(path, budget=modelfile.Budget(max_weight_bytes=1 << 20))


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
    with pytest.raises(
        ModelFileError, match=r"weight 1.bias has shape \(6,\) but model.json says \(5,\)"
    ):
        load(path)


def test_consistent_file_whose_weights_do_not_fit_the_layer(saved):
    """A file whose JSON and checksums agree but whose weight does not fit the layer."""
    _, path = saved
    wrong = np.zeros(6, np.float32)

    def header(h):
        h["weights"]["1.bias"] = {
            "shape": [6],
            "dtype": wrong.dtype.str,
            "sha256": modelfile._array_digest(wrong),
        }

    rewrite(path, header=header, weights=lambda a: a.update({"1.bias": wrong}))
    with pytest.raises(
        ModelFileError, match=r"weight 1.bias has shape \(6,\) but Linear.*needs \(5,\)"
    ):
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
    alone = io.BytesIO()  # chapter 8's attack: the pickle alone, the other weights gone
    np.savez(alone, **{"1.weight": evil})
    rewrite(path, raw_npz=alone.getvalue())
    with pytest.raises(ModelFileError, match="pickled Python object.*refused"):
        load(path)
    assert not trap.exists()


# -- bad saves ----------------------------------------------------------------------------------
def test_saving_an_unregistered_layer_type(tmp_path):
    class Custom(Layer):
        pass

    with pytest.raises(
        ModelFileError, match=r"save: layer 1 is a Custom, which model files cannot name"
    ):
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


# -- hostile files (issue 17) -------------------------------------------------------------------
def _peak_rss_mb_of(code: str, timeout: float = 60) -> tuple[float, str]:
    """Run ``code`` in a fresh Python; its peak resident memory (MB) and its stdout."""
    import subprocess
    import sys

    # VmHWM, the peak RSS of this process image: getrusage's ru_maxrss survives execve on
    # Linux, so it would report the (large) pytest process that forked the child.
    probe = (
        code + "\nfor line in open('/proc/self/status'):\n"
        "    if line.startswith('VmHWM:'):\n        print('RSS', int(line.split()[1]) / 1024)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stderr
    rss = float(result.stdout.strip().splitlines()[-1].split()[1])
    return rss, result.stdout


def _raw_file(path: pathlib.Path, header: dict, npz_bytes: bytes = b"") -> pathlib.Path:
    if not npz_bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w"):
            pass
        npz_bytes = buffer.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model.json", json.dumps(header))
        archive.writestr("weights.npz", npz_bytes)
    return path


def _huge_linear_header(listed_side: int) -> dict:
    side = 11585  # 3 × Linear(11585²): 402 M numbers, 4.65 GB before the fix
    layers = [
        {"type": "Linear", "config": {"in_features": side, "out_features": side, "bias": False}}
        for _ in range(3)
    ]
    weights = {
        f"{i}.weight": {"shape": [listed_side, listed_side], "dtype": "<f4", "sha256": "0" * 64}
        for i in range(3)
    }
    return {
        "format": "edu-cnn-model",
        "format_version": 1,
        "architecture": {"type": "Sequential", "config": {}, "layers": layers},
        "input_shape": [side],
        "preprocessing": None,
        "class_names": None,
        "metadata": {},
        "weights": weights,
    }


@pytest.mark.parametrize("listed_side", [1, 11585])
def test_a_500_byte_file_listing_huge_layers_is_refused_before_allocation(tmp_path, listed_side):
    path = _raw_file(tmp_path / "huge.educnn", _huge_linear_header(listed_side))
    assert path.stat().st_size < 1000
    expected = (
        "has size arguments that allocate up to 134,212,225 numbers"
        if listed_side == 1
        else "the weights listed in model.json take 1,610,546,700 bytes, more than the budget"
    )
    with pytest.raises(ModelFileError, match=expected):
        load(path)
    rss, out = _peak_rss_mb_of(
        "from edu_cnn import modelfile\n"
        f"try:\n    modelfile.load({str(path)!r})\nexcept modelfile.ModelFileError:\n"
        "    print('refused')"
    )
    assert "refused" in out
    print(
        f"peak RSS loading a {path.stat().st_size}-byte file listing 3 × Linear(11585²): "
        f"{rss:.0f} MB"
    )
    assert rss < 250  # the import of numpy & co is ~60 MB; 3 × 537 MB were allocated before


def test_a_zip_bomb_model_file_is_refused_with_bounded_memory(tmp_path):
    """weights.npz inflating to 200 MB (a few hundred KB compressed), default budget of 1 GiB
    for the weights but the listing says 5 numbers: refused while reading the header."""
    arrays = {"1.weight": np.zeros((5, 12), np.float32)}
    model = Sequential(Linear(12, 5, bias=False))
    path = save(model, tmp_path / "m.educnn")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as npz:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f4", "fortran_order": False, "shape": (50_000_000,)}
        )
        npz.writestr("0.weight.npy", header.getvalue() + bytes(200_000_000))
    rewrite(path, raw_npz=bomb.getvalue())
    assert path.stat().st_size < 2_000_000
    del arrays
    rss, out = _peak_rss_mb_of(
        "from edu_cnn import modelfile\n"
        f"try:\n    modelfile.load({str(path)!r})\nexcept modelfile.ModelFileError as e:\n"
        "    print('refused', e)"
    )
    assert "has shape (50000000,) but model.json says (5, 12)" in out, out
    print(
        f"peak RSS loading a {path.stat().st_size:,}-byte zip bomb (200 MB inflated): {rss:.0f} MB"
    )
    assert rss < 150  # the header of the array is read, never its 200 MB


def test_an_npy_header_claiming_a_trillion_numbers(saved):
    _, path = saved
    evil = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        evil, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)}
    )

    def header(h):
        h["weights"]["1.bias"]["shape"] = [10**12]

    with zipfile.ZipFile(path) as archive:
        npz = zipfile.ZipFile(io.BytesIO(archive.read("weights.npz")))
        members = {info.filename: npz.read(info) for info in npz.infolist()}
    members["1.bias.npy"] = evil.getvalue()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name, data in members.items():
            out.writestr(name, data)
    rewrite(path, raw_npz=buffer.getvalue())
    with pytest.raises(
        ModelFileError,
        match=r"weight 1.bias has shape "
        r"\(1000000000000,\) but model.json says",
    ):
        load(path)
    rewrite(path, header=header)
    with pytest.raises(ModelFileError, match="more than the budget"):
        load(path)


def _patch_method(
    data: bytes, member: bytes, method: int | None = None, flags: int | None = None
) -> bytes:
    """Change a member's compression method / flag bits in both zip headers."""
    data = bytearray(data)
    for signature, flag_at, method_at, name_at in (
        (b"PK\x03\x04", 6, 8, 30),
        (b"PK\x01\x02", 8, 10, 46),
    ):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if data[start + name_at : start + name_at + len(member)] == member:
                if method is not None:
                    data[start + method_at : start + method_at + 2] = method.to_bytes(2, "little")
                if flags is not None:
                    data[start + flag_at : start + flag_at + 2] = flags.to_bytes(2, "little")
            start += 4
    return bytes(data)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"method": 93}, "uses compression method 93"),
        ({"flags": 1}, "is encrypted"),
    ],
)
def test_zip_method_93_and_encrypted_members(saved, change, message):
    _, path = saved
    path.write_bytes(_patch_method(path.read_bytes(), b"model.json", **change))
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_duplicate_model_json_members_are_refused(saved):
    _, path = saved
    with zipfile.ZipFile(path) as archive:
        first = archive.read("model.json")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns "Duplicate name"
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("model.json", first.replace(b'"a"', b'"z"'))
    with pytest.raises(
        ModelFileError,
        match=r"holds the member\(s\) \['model.json'\] more "
        r"than once",
    ):
        load(path)


def test_a_sequential_nested_450_deep(saved):
    _, path = saved

    def deepen(h):
        spec = h["architecture"]
        for _ in range(450):
            spec = {"type": "Sequential", "config": {}, "layers": [spec]}
        h["architecture"] = spec
        h["weights"] = {"0." * 450 + k: v for k, v in h["weights"].items()}

    rewrite(path, header=deepen)
    with pytest.raises(ModelFileError, match="nests containers more than 32 deep"):
        load(path)


def test_nan_weights_and_slopes_are_refused_naming_the_layer(saved, tmp_path):
    model, path = saved
    model.layers[4].bias.data[1] = np.nan
    with pytest.raises(ModelFileError, match=r"save: weight 4.bias of layer 4 \(Linear.*NaN"):
        save(model, tmp_path / "nan.educnn")
    assert not (tmp_path / "nan.educnn").exists()

    def poison(arrays):
        arrays["4.bias"] = arrays["4.bias"].copy()
        arrays["4.bias"][0] = np.inf

    def fix_digest(h):
        inf_bias = np.asarray(_poisoned["4.bias"])
        h["weights"]["4.bias"]["sha256"] = modelfile._array_digest(inf_bias)

    with zipfile.ZipFile(path) as archive, np.load(io.BytesIO(archive.read("weights.npz"))) as npz:
        _poisoned = {k: npz[k] for k in npz.files}
    poison(_poisoned)
    rewrite(path, header=fix_digest, weights=poison)  # the digest recomputed: only finiteness
    with pytest.raises(
        ModelFileError,
        match=r"weight 4.bias of layer 4 \(Linear\(5\W+4\)\) "
        r"holds 1 NaN or infinite value",
    ):
        load(path)
    for slope in ("NaN", "Infinity", "1e999"):
        text = json.dumps({"negative_slope": 12345.0}).replace("12345.0", slope)
        good = save(small_model(), tmp_path / "slope.educnn")
        rewrite(good, header=lambda h: h["architecture"]["layers"][2].update(config="@"))
        with zipfile.ZipFile(good) as archive:
            raw = archive.read("model.json").decode().replace('"config": "@"', f'"config": {text}')
        rewrite(good, raw_header=raw)
        with pytest.raises(ModelFileError, match="model.json is not valid JSON"):
            load(good)


def test_a_strided_padded_conv_saves_and_loads(tmp_path):
    """Conv2d(512, 1024, 5, stride=2, padding=2) has 13.1 M parameters, not 209 M."""
    from edu_cnn.conv import Conv2d

    conv = Conv2d(512, 1024, 5, stride=2, padding=2)
    conv.weight.data[...] = 0.0  # compresses fast; the shapes are what counts
    path = save(Sequential(conv, input_shape=(512, 8, 8)), tmp_path / "big.educnn")
    loaded = load(path)
    assert loaded.num_parameters() == 13_108_224
    assert loaded.layers[0].stride == (2, 2)


def test_an_input_shape_the_layers_cannot_take_is_refused_at_load(saved, tmp_path):
    from edu_cnn.models import lenet5

    path = save(lenet5(), tmp_path / "lenet.educnn", input_shape=(1, 28, 28))
    for shape in ([4, 14, 14], [784], [3, 28, 28]):
        rewrite(path, header=lambda h, s=shape: h.update(input_shape=s))
        with pytest.raises(
            ModelFileError,
            match=rf"the input shape \({shape[0]},.*does not fit "
            rf"the layers: layer \d+",
        ):
            load(path)
    with pytest.raises(ModelFileError, match="save .*does not fit the layers"):
        save(lenet5(), tmp_path / "bad.educnn", input_shape=(3, 28, 28))


def test_an_upsample_that_would_cost_gigabytes_per_prediction(tmp_path):
    from edu_cnn.pooling import Upsample

    model = Sequential(Upsample(scale_factor=1000), input_shape=(1, 28, 28))
    with pytest.raises(
        ModelFileError,
        match=r"turns one sample of \(1, 28, 28\) into "
        r"\(1, 28000, 28000\) = 784,000,000 numbers",
    ):
        save(model, tmp_path / "up.educnn")
    budget = modelfile.Budget(max_activation_numbers=10**9)
    path = save(model, tmp_path / "up.educnn", budget=budget)
    with pytest.raises(ModelFileError, match="raise max_activation_numbers"):
        load(path)
    assert load(path, budget=budget).input_shape == (1, 28, 28)


def test_a_fifo_and_dev_zero_are_refused_at_once(tmp_path):
    import time

    fifo = tmp_path / "pipe.educnn"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(ModelFileError, match=r"is a pipe \(FIFO\), not a model file"):
        load(fifo)
    with pytest.raises(ModelFileError, match="is a device, not a model file"):
        load("/dev/zero")
    with pytest.raises(ModelFileError, match="is a folder, not a model file"):
        load(tmp_path)
    assert time.monotonic() - start < 1.0


def test_a_killed_save_leaves_nothing_after_the_next_save(saved):
    import subprocess
    import sys

    model, path = saved
    code = (
        "import os, signal\nfrom edu_cnn import modelfile\n"
        f"m = modelfile.load({str(path)!r})\n"
        "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"modelfile.save(m, {str(path)!r})\n"
    )
    result = subprocess.run([sys.executable, "-c", code], timeout=60, check=False)
    assert result.returncode == -9
    leftovers = [p for p in path.parent.iterdir() if p != path]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".small.educnn.")
    assert leftovers[0].name.endswith(".tmp") and leftovers[0].stat().st_size > 0
    save(model, path)
    assert list(path.parent.iterdir()) == [path]
    assert load(path).num_parameters() == model.num_parameters()


def test_re_saving_keeps_the_file_mode(saved):
    model, path = saved
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # a new file: like open() makes it
    for mode in (0o644, 0o640):
        path.chmod(mode)
        save(model, path)
        assert path.stat().st_mode & 0o777 == mode


def test_load_checks_a_sha256_published_elsewhere(saved):
    import hashlib

    _, path = saved
    published = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load(path, sha256=published).class_names == ["a", "b", "c"]
    assert load(path, sha256=published.upper()).class_names == ["a", "b", "c"]

    def tamper(arrays):  # +50 on a bias, the inner checksum recomputed: loads without sha256
        arrays["6.bias"] = arrays["6.bias"] + np.float32(50)
        _tampered.update(arrays)

    _tampered: dict = {}
    with zipfile.ZipFile(path) as archive, np.load(io.BytesIO(archive.read("weights.npz"))) as npz:
        tamper({k: npz[k] for k in npz.files})
    rewrite(
        path,
        weights=lambda a: a.update(_tampered),
        header=lambda h: h["weights"]["6.bias"].update(
            sha256=modelfile._array_digest(_tampered["6.bias"])
        ),
    )
    assert load(path).layers[6].bias.data[0] > 40
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(
        ModelFileError, match=f"SHA-256 mismatch – expected {published}, the file has {actual}"
    ):
        load(path, sha256=published)
    with pytest.raises(ModelFileError, match="must be 64 hex digits"):
        load(path, sha256="abc")


def test_load_messages_name_the_file_not_save(saved):
    _, path = saved
    rewrite(path, header=lambda h: h.update(preprocessing={"mean": 0.1}))
    with pytest.raises(
        ModelFileError,
        match=r"small.educnn: model.json is damaged: "
        r"preprocessing should be",
    ) as error:
        load(path)
    assert str(error.value) != "'std'"
    rewrite(path, header=lambda h: h.update(preprocessing=None, input_shape=[0, 2]))
    with pytest.raises(ModelFileError, match="input_shape must be") as error:
        load(path)
    assert "save:" not in str(error.value)
