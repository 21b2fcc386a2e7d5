"""``python -m edu_cnn``: run as a student would, in a subprocess, on files the test draws."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from PIL import Image, ImageDraw

from edu_cnn import init, modelfile
from edu_cnn.activations import softmax
from edu_cnn.linear import Flatten, Linear
from edu_cnn.models import lenet5
from edu_cnn.onnx_export import run_onnx
from edu_cnn.pooling import MaxUnpool2d
from edu_cnn.preprocess import load_image, to_model_input
from edu_cnn.sequential import Sequential

MEAN, STD = 0.1307, 0.3081
CLASSES = ["zero", "one", "seven"]


def draw(
    kind: str,
    size: int,
    box: tuple[int, int, int, int],
    width: int,
    ink=(0, 0, 0),
    paper=(255, 255, 255),
) -> Image.Image:
    """A dark digit on light paper, like a photo of a handwritten one."""
    image = Image.new("RGB", (size, size), paper)
    pen = ImageDraw.Draw(image)
    left, top, right, bottom = box
    if kind == "zero":
        pen.ellipse(box, outline=ink, width=width)
    elif kind == "one":
        middle = (left + right) // 2
        pen.line([(middle, top), (middle, bottom)], fill=ink, width=width)
    else:  # seven: a bar on top and a stroke down to the lower left
        pen.line([(left, top), (right, top)], fill=ink, width=width)
        pen.line([(right, top), (left + (right - left) // 3, bottom)], fill=ink, width=width)
    return image


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A template-matching model (one weight row per class, made from large centred digits)
    and test digits drawn smaller, off-centre and in colour – only the MNIST-style
    pre-processing and the stored mean / std make them match."""
    folder = tmp_path_factory.mktemp("cli")
    rows = []
    for kind in CLASSES:
        template = to_model_input(np.asarray(draw(kind, 200, (60, 30, 140, 170), 14)), MEAN, STD)
        rows.append(template.ravel() / np.linalg.norm(template))
    model = Sequential(Flatten(), Linear(784, len(CLASSES)), input_shape=(1, 28, 28))
    model.load_state_dict({"1.weight": 40 * np.stack(rows), "1.bias": np.zeros(len(CLASSES))})
    paths = {
        "model": modelfile.save(
            model,
            folder / "digits.educnn",
            mean=MEAN,
            std=STD,
            class_names=CLASSES,
            metadata={"note": "templates"},
        )
    }
    draw("zero", 120, (70, 40, 105, 100), 6, ink=(20, 20, 120)).save(folder / "zero.png")
    draw("one", 90, (5, 10, 25, 50), 5).save(folder / "one.jpg", quality=90)
    draw("seven", 64, (30, 20, 55, 60), 4).save(folder / "seven.png")
    Image.new("L", (28, 28), 255).save(folder / "blank.png")
    (folder / "notes.txt").write_text("not an image")
    init.manual_seed(0)
    paths["lenet"] = modelfile.save(lenet5(), folder / "lenet.educnn", mean=MEAN, std=STD)
    paths["unpool"] = modelfile.save(
        Sequential(MaxUnpool2d(2), input_shape=(1, 4, 4)), folder / "unpool.educnn"
    )
    paths["folder"] = folder
    return paths


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edu_cnn", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess, pattern: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert pattern in lines[0], lines[0]


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("predict", "export", "info", "serve"):
        assert command in result.stdout
    assert "Exit codes" in result.stdout
    sub = run("predict", "--help")
    assert sub.returncode == 0 and "mean / std stored in the model file" in sub.stdout


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("classify", "m", "x.png"),
        ("predict", "model.educnn"),
        ("predict", "m", "x.png", "--top", "0"),
    ],
)
def test_usage_errors_exit_with_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "usage: python -m edu_cnn" in result.stderr


def test_predict_prints_the_class_of_each_digit(files):
    folder = files["folder"]
    result = run(
        "predict", files["model"], folder / "zero.png", folder / "one.jpg", folder / "seven.png"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        str(folder / f) for f in ("zero.png", "one.jpg", "seven.png")
    ]
    assert [line.split(": ")[1].split()[0] for line in lines] == CLASSES


def test_predict_json_matches_the_python_api(files):
    folder = files["folder"]
    result = run("predict", "--json", files["model"], folder / "seven.png")
    assert result.returncode == 0, result.stderr
    (answer,) = json.loads(result.stdout)
    model = modelfile.load(files["model"])
    x = to_model_input(load_image(folder / "seven.png"), MEAN, STD)
    expected = softmax(model(x), axis=1)[0]
    assert answer["class"] == "seven"
    assert list(answer["probabilities"]) == CLASSES
    np.testing.assert_allclose(list(answer["probabilities"].values()), expected, atol=1e-4)


def test_predict_missing_image_and_non_image(files):
    folder = files["folder"]
    one_line_error(run("predict", files["model"], folder / "missing.png"), "no such file")
    one_line_error(
        run("predict", files["model"], folder / "notes.txt"), "is not an image PIL can read"
    )
    one_line_error(run("predict", files["model"], folder / "blank.png"), "is blank")


def test_predict_goes_on_after_a_bad_image_but_exits_1(files):
    folder = files["folder"]
    result = run("predict", files["model"], folder / "notes.txt", folder / "zero.png")
    assert result.returncode == 1
    assert result.stdout.startswith(f"{folder / 'zero.png'}: zero")
    assert "notes.txt" in result.stderr and "Traceback" not in result.stderr


def test_predict_missing_or_wrong_model(files):
    folder = files["folder"]
    one_line_error(
        run("predict", folder / "nothing.educnn", folder / "zero.png"), "no such model file"
    )
    one_line_error(
        run("predict", folder / "zero.png", folder / "zero.png"), "not a complete zip archive"
    )
    one_line_error(run("info", folder / "notes.txt"), "not an edu-cnn model file")


def test_predict_refuses_a_model_that_does_not_take_digits(files):
    one_line_error(
        run("predict", files["unpool"], files["folder"] / "zero.png"),
        "this command prepares 28×28 grey digits, but the model expects input (1, 4, 4)",
    )


def test_export_writes_a_checked_onnx_file(files):
    out = files["folder"] / "lenet.onnx"
    result = run("export", files["lenet"], out)
    assert result.returncode == 0, result.stderr
    assert "12 nodes, opset 17, passes onnx.checker" in result.stdout
    onnx.checker.check_model(onnx.load(str(out)))
    x = np.random.default_rng(5).normal(size=(2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(
        run_onnx(out, x), modelfile.load(files["lenet"])(x), rtol=1e-5, atol=1e-5
    )


def test_export_needs_an_input_shape_when_the_file_has_none(files):
    folder = files["folder"]
    no_shape = modelfile.save(Sequential(Linear(4, 2)), folder / "no-shape.educnn")
    one_line_error(
        run("export", no_shape, folder / "no-shape.onnx"),
        "stores no input shape; give one, e.g. --input-shape 1,28,28",
    )
    result = run("export", no_shape, folder / "no-shape.onnx", "--input-shape", "4")
    assert result.returncode == 0, result.stderr
    assert "1 node, opset 17" in result.stdout
    bad = run("export", no_shape, folder / "x.onnx", "--input-shape", "4,x")
    assert bad.returncode == 2 and "positive integers separated by commas" in bad.stderr


def test_export_errors(files):
    folder = files["folder"]
    one_line_error(
        run("export", files["unpool"], folder / "unpool.onnx"), "MaxUnpool2d cannot be exported"
    )
    one_line_error(
        run("export", files["lenet"], folder / "no" / "such" / "dir.onnx"), "does not exist"
    )
    assert not (folder / "unpool.onnx").exists()


def test_info_shows_the_contract_and_the_summary(files):
    result = run("info", files["lenet"])
    assert result.returncode == 0, result.stderr
    assert "format version 1" in result.stdout
    assert "input shape  : (N, 1, 28, 28)" in result.stdout
    assert "(x − 0.1307) / 0.3081" in result.stdout
    assert "Total parameters: 61,706" in result.stdout
    info = run("info", files["model"]).stdout
    assert "classes      : zero, one, seven" in info and "note         : templates" in info


def test_the_service_answers_over_http(files):
    """The same classification from a small HTTP service (in-process, any free port)."""
    import threading
    import urllib.error
    import urllib.request

    from edu_cnn.cli import make_server

    server = make_server(modelfile.load(files["model"]), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(url + "/", timeout=10) as response:
            description = json.load(response)
        assert description["class_names"] == CLASSES
        assert description["preprocessing"]["mean"] == MEAN
        body = (files["folder"] / "one.jpg").read_bytes()
        with urllib.request.urlopen(url + "/predict", data=body, timeout=10) as response:
            answer = json.load(response)
        assert answer["class"] == "one"
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(url + "/predict", data=b"not an image", timeout=10)
        assert error.value.code == 400
        assert "not an image PIL can read" in json.load(error.value)["error"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# -- hostile input (issue 17) --------------------------------------------------------------------
# In-process (``main(argv)`` with captured output): the same code path as the subprocess,
# without paying numpy's import for every command on a shared machine.
@pytest.fixture
def cli(capsys):
    from edu_cnn.cli import main

    def call(*args) -> subprocess.CompletedProcess:
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit:
            code = exit.code
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return call


def test_a_port_out_of_range_is_a_usage_error(cli):
    result = run("serve", "model.educnn", "--port", "99999")  # a real process: its exit code
    assert result.returncode == 2 and "a port is a number from 0 to 65535" in result.stderr
    assert cli("info", "m.educnn", "--sha256", "abc").returncode == 2


def _peak_rss_of_cli(*args) -> tuple[subprocess.CompletedProcess, float]:
    """Run the command line in a child; its peak RSS (VmHWM: getrusage's ru_maxrss would
    carry over the forking pytest process's through execve)."""
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['edu_cnn', *{[str(a) for a in args]!r}]\n"
        "try:\n    runpy.run_module('edu_cnn', run_name='__main__')\n"
        "except SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print('RSS', int(hwm.split()[1]) / 1024, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    *lines, rss = result.stderr.strip().splitlines()
    result.stderr = "\n".join(lines) + "\n"
    return result, float(rss.split()[1])


def test_a_bomb_image_is_one_line_and_the_next_image_is_still_read(files):
    import struct
    import zlib

    folder = files["folder"]
    side = 12_000  # 144 M pixels: between PIL's warning (89 M) and its error (178 M)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(bytes(side + 1)) for _ in range(side)) + packer.flush()

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    (folder / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )
    result, rss = _peak_rss_of_cli(
        "predict", files["model"], folder / "bomb.png", folder / "zero.png"
    )
    print(
        f"predict: {(folder / 'bomb.png').stat().st_size:,}-byte PNG bomb (144 M pixels) "
        f"refused, peak RSS {rss:.0f} MB"
    )
    assert result.returncode == 1
    assert result.stdout.startswith(f"{folder / 'zero.png'}: zero")
    one_line_error(result, "is 12000×12000 = 144,000,000 pixels, more than the 16,000,000")
    assert rss < 300  # decoding it cost 4.6 GB before


def test_exif_rotated_16_bit_and_float_digits_read_like_the_upright_8_bit_one(files, cli):
    folder = files["folder"]
    upright = Image.open(folder / "seven.png").convert("L")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the pixels are stored turned
    upright.rotate(90, expand=True).save(folder / "seven-exif.jpg", exif=exif, quality=95)
    sixteen = np.asarray(upright).astype(np.uint16) * 257
    Image.fromarray(sixteen).save(folder / "seven-16bit.png")
    Image.fromarray(np.asarray(upright, np.float32) / 255, mode="F").save(folder / "seven.tif")
    assert Image.open(folder / "seven-16bit.png").mode.startswith("I")
    result = cli(
        "predict",
        "--json",
        files["model"],
        folder / "seven.png",
        folder / "seven-exif.jpg",
        folder / "seven-16bit.png",
        folder / "seven.tif",
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert [a["class"] for a in answers] == ["seven"] * 4
    reference = list(answers[0]["probabilities"].values())
    for answer in answers[1:]:
        np.testing.assert_allclose(list(answer["probabilities"].values()), reference, atol=0.05)


def test_nan_weights_a_fifo_and_dev_zero_are_one_line_errors(files, tmp_path, cli):
    import os

    good = modelfile.load(files["model"])
    path = modelfile.save(good, tmp_path / "nan.educnn")
    with ZipfileRewrite(path) as arrays:
        arrays["1.bias"][0] = np.nan
    one_line_error(
        cli("predict", path, files["folder"] / "zero.png"), "weight 1.bias of layer 1 (Linear"
    )
    os.mkfifo(tmp_path / "fifo.educnn")
    one_line_error(cli("info", tmp_path / "fifo.educnn"), "is a pipe (FIFO), not a model file")
    one_line_error(cli("info", "/dev/zero"), "is a device, not a model file")
    one_line_error(cli("info", tmp_path), "is a folder, not a model file")


class ZipfileRewrite:
    """``with ZipfileRewrite(path) as arrays:`` edit the weights; checksums are recomputed
    (a tamperer's edit: only the finiteness check can catch it)."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        import io
        import zipfile

        with zipfile.ZipFile(self.path) as archive:
            self.header = json.loads(archive.read("model.json"))
            with np.load(io.BytesIO(archive.read("weights.npz"))) as npz:
                self.arrays = {k: npz[k].copy() for k in npz.files}
        return self.arrays

    def __exit__(self, *exc):
        import io
        import zipfile

        for name, array in self.arrays.items():
            self.header["weights"][name]["sha256"] = modelfile._array_digest(array)
        buffer = io.BytesIO()
        np.savez(buffer, **self.arrays)
        with zipfile.ZipFile(self.path, "w") as archive:
            archive.writestr("model.json", json.dumps(self.header))
            archive.writestr("weights.npz", buffer.getvalue())


def test_models_that_cannot_answer_are_one_line_errors(files, tmp_path, cli):
    from edu_cnn.activations import Softmax
    from edu_cnn.conv import Conv2d

    folder = files["folder"]
    init.manual_seed(0)
    cases = {
        "softmax0": (
            Sequential(Flatten(), Linear(784, 3), Softmax(dim=0), input_shape=(1, 28, 28)),
            "normalises over axis 0",
        ),
        "softmax7": (
            Sequential(Flatten(), Linear(784, 3), Softmax(dim=7), input_shape=(1, 28, 28)),
            "normalises over axis 7",
        ),
        "map": (
            Sequential(Conv2d(1, 3, 28), input_shape=(1, 28, 28)),
            "output for one sample has shape (3, 1, 1)",
        ),
    }
    for name, (model, message) in cases.items():
        path = modelfile.save(model, tmp_path / f"{name}.educnn")
        one_line_error(cli("predict", path, folder / "zero.png"), message)
    for shape in ("4,14,14", "784", "3,28,28"):
        path = modelfile.save(lenet5(), tmp_path / "lenet.educnn")
        with ZipfileRewrite(path):
            pass
        import io
        import zipfile

        with zipfile.ZipFile(path) as archive:
            header = json.loads(archive.read("model.json"))
            npz = archive.read("weights.npz")
        header["input_shape"] = [int(v) for v in shape.split(",")]
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("model.json", json.dumps(header))
            archive.writestr("weights.npz", npz)
        del io
        one_line_error(cli("predict", path, folder / "zero.png"), "does not fit the layers")


def test_control_characters_are_escaped_when_printed(files, tmp_path, cli):
    model = modelfile.load(files["model"])
    evil = "\x1b[2J\x1b]0;owned\x07"
    path = modelfile.save(
        model,
        tmp_path / "evil.educnn",
        class_names=[evil, "one", "seven"],
        metadata={"author\x1b[31m": "x\u202ey\nz"},
    )
    info = cli("info", path)
    assert info.returncode == 0, info.stderr
    assert "\x1b" not in info.stdout and "\u202e" not in info.stdout and "\x07" not in info.stdout
    assert (
        "\\x1b[2J" in info.stdout and "\\u202e" in info.stdout and "x\\u202ey\\x0az" in info.stdout
    )
    predict = cli("predict", path, files["folder"] / "zero.png")
    assert predict.returncode == 0 and "\x1b" not in predict.stdout
    assert "\\x1b[2J" in predict.stdout
    as_json = cli("predict", "--json", path, files["folder"] / "zero.png")
    assert "\x1b" not in as_json.stdout
    assert json.loads(as_json.stdout)[0]["class"] == evil


def test_sha256_published_elsewhere(files, cli):
    import hashlib

    digest = hashlib.sha256(files["model"].read_bytes()).hexdigest()
    ok = cli("info", files["model"], "--sha256", digest)
    assert ok.returncode == 0, ok.stderr
    wrong = "0" * 64
    for command in ("info", "predict", "export", "serve"):
        extra = {
            "predict": [files["folder"] / "zero.png"],
            "export": [files["folder"] / "never.onnx"],
        }.get(command, [])
        one_line_error(
            cli(command, files["model"], *extra, "--sha256", wrong),
            f"SHA-256 mismatch – expected {wrong}, the file has {digest}",
        )
    assert not (files["folder"] / "never.onnx").exists()


def test_export_refuses_a_non_finite_model_and_keeps_the_file_mode(files, tmp_path, cli):
    out = tmp_path / "lenet.onnx"
    assert cli("export", files["lenet"], out).returncode == 0
    out.chmod(0o644)
    assert cli("export", files["lenet"], out).returncode == 0
    assert out.stat().st_mode & 0o777 == 0o644
    big = Sequential(Linear(4, 2), input_shape=(4,))
    big.load_state_dict(
        {"0.weight": np.full((2, 4), 3e38, np.float32), "0.bias": np.zeros(2, np.float32)}
    )
    path = modelfile.save(big, tmp_path / "overflow.educnn")
    one_line_error(
        cli("export", path, tmp_path / "overflow.onnx"),
        "output on 4 random inputs is not finite; not exported",
    )
    assert not (tmp_path / "overflow.onnx").exists()


def test_the_budget_can_be_raised_from_the_command_line(tmp_path, files, cli):
    from edu_cnn.pooling import Upsample

    model = Sequential(Upsample(scale_factor=40), input_shape=(1, 28, 28))
    path = modelfile.save(
        model, tmp_path / "up.educnn", budget=modelfile.Budget(max_activation_numbers=10**7)
    )
    one_line_error(
        cli("info", path, "--max-activations", "1000000"),
        "more than the budget's 1,000,000 (raise max_activation_numbers",
    )
    assert cli("info", path).returncode == 0  # 1.25 M numbers: within the default


def test_the_readme_command_block_runs_as_written(tmp_path):
    """Paste the README's block in order (in a folder that looks like the repository):
    `make model` in the fast setting, then every command; only the port is a free one."""
    import os
    import re
    import socket
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use a trained model from the command line", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    assert "make model" in block and "examples/three.png" in block
    for name in (
        "Makefile",
        "scripts",
        "examples",
        "requirements.txt",
        "requirements-test.txt",
        "pyproject.toml",
    ):
        (tmp_path / name).symlink_to(root / name)
    # "after make lab's set-up": the repository's .venv, seen through a folder of links
    # with a set-up stamp of its own (fresh), so make never re-runs the set-up from here
    venv = tmp_path / ".venv"
    venv.mkdir()
    for entry in (root / ".venv").iterdir():
        if entry.name != ".installed":
            (venv / entry.name).symlink_to(entry)
    (venv / ".installed").touch()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = "set -e\n" + block.replace("8000", str(port))
    env = {**os.environ, "EDU_CNN_FAST": "1", "EDU_CNN_OFFLINE": "1"}
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"wrote lenet5\.educnn: LeNet-5", out)
    assert "input shape  : (N, 1, 28, 28)" in out and "Total parameters: 61,706" in out
    assert "examples/three.png: 3  (3: " in out and "examples/seven.jpg: 7  (7: " in out
    assert '"image": "examples/three.png"' in out and '"class": "3"' in out
    assert "wrote lenet5.onnx: 12 nodes, opset 17, passes onnx.checker" in out
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["class"] == "3"
    assert (tmp_path / "lenet5.educnn").is_file() and (tmp_path / "lenet5.onnx").is_file()
