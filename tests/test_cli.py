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


def draw(kind: str, size: int, box: tuple[int, int, int, int], width: int,
         ink=(0, 0, 0), paper=(255, 255, 255)) -> Image.Image:
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
    paths = {"model": modelfile.save(model, folder / "digits.educnn", mean=MEAN, std=STD,
                                     class_names=CLASSES, metadata={"note": "templates"})}
    draw("zero", 120, (70, 40, 105, 100), 6, ink=(20, 20, 120)).save(folder / "zero.png")
    draw("one", 90, (5, 10, 25, 50), 5).save(folder / "one.jpg", quality=90)
    draw("seven", 64, (30, 20, 55, 60), 4).save(folder / "seven.png")
    Image.new("L", (28, 28), 255).save(folder / "blank.png")
    (folder / "notes.txt").write_text("not an image")
    init.manual_seed(0)
    paths["lenet"] = modelfile.save(lenet5(), folder / "lenet.educnn", mean=MEAN, std=STD)
    paths["unpool"] = modelfile.save(Sequential(MaxUnpool2d(2), input_shape=(1, 4, 4)),
                                     folder / "unpool.educnn")
    paths["folder"] = folder
    return paths


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edu_cnn", *map(str, args)],
                          capture_output=True, text=True, timeout=60, check=False)


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


@pytest.mark.parametrize("args", [(), ("classify", "m", "x.png"), ("predict", "model.educnn"),
                                  ("predict", "m", "x.png", "--top", "0")])
def test_usage_errors_exit_with_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "usage: python -m edu_cnn" in result.stderr


def test_predict_prints_the_class_of_each_digit(files):
    folder = files["folder"]
    result = run("predict", files["model"], folder / "zero.png", folder / "one.jpg",
                 folder / "seven.png")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split(": ")[0] for line in lines] == [str(folder / f) for f in
                                                       ("zero.png", "one.jpg", "seven.png")]
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
    one_line_error(run("predict", files["model"], folder / "notes.txt"),
                   "is not an image PIL can read")
    one_line_error(run("predict", files["model"], folder / "blank.png"), "is blank")


def test_predict_goes_on_after_a_bad_image_but_exits_1(files):
    folder = files["folder"]
    result = run("predict", files["model"], folder / "notes.txt", folder / "zero.png")
    assert result.returncode == 1
    assert result.stdout.startswith(f"{folder / 'zero.png'}: zero")
    assert "notes.txt" in result.stderr and "Traceback" not in result.stderr


def test_predict_missing_or_wrong_model(files):
    folder = files["folder"]
    one_line_error(run("predict", folder / "nothing.educnn", folder / "zero.png"),
                   "no such model file")
    one_line_error(run("predict", folder / "zero.png", folder / "zero.png"),
                   "not a complete zip archive")
    one_line_error(run("info", folder / "notes.txt"), "not an edu-cnn model file")


def test_predict_refuses_a_model_that_does_not_take_digits(files):
    one_line_error(run("predict", files["unpool"], files["folder"] / "zero.png"),
                   "this command prepares 28×28 grey digits, but the model expects input (1, 4, 4)")


def test_export_writes_a_checked_onnx_file(files):
    out = files["folder"] / "lenet.onnx"
    result = run("export", files["lenet"], out)
    assert result.returncode == 0, result.stderr
    assert "12 nodes, opset 17, passes onnx.checker" in result.stdout
    onnx.checker.check_model(onnx.load(str(out)))
    x = np.random.default_rng(5).normal(size=(2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(out, x), modelfile.load(files["lenet"])(x),
                               rtol=1e-5, atol=1e-5)


def test_export_needs_an_input_shape_when_the_file_has_none(files):
    folder = files["folder"]
    no_shape = modelfile.save(Sequential(Linear(4, 2)), folder / "no-shape.educnn")
    one_line_error(run("export", no_shape, folder / "no-shape.onnx"),
                   "stores no input shape; give one, e.g. --input-shape 1,28,28")
    result = run("export", no_shape, folder / "no-shape.onnx", "--input-shape", "4")
    assert result.returncode == 0, result.stderr
    assert "1 node, opset 17" in result.stdout
    bad = run("export", no_shape, folder / "x.onnx", "--input-shape", "4,x")
    assert bad.returncode == 2 and "positive integers separated by commas" in bad.stderr


def test_export_errors(files):
    folder = files["folder"]
    one_line_error(run("export", files["unpool"], folder / "unpool.onnx"),
                   "MaxUnpool2d cannot be exported")
    one_line_error(run("export", files["lenet"], folder / "no" / "such" / "dir.onnx"),
                   "does not exist")
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
