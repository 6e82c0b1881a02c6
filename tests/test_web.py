"""The page of mobilenet/web in headless Chromium, against LiteRT Python.

One browser for the module, one page per model. The page (LiteRT.js) and
`mobilenet predict`'s path (TFLiteClassifier fed by input_pipeline.preprocess_for_eval)
must see the same pixels, pick the same top-1 class and give the same scores within one
quantisation step (uint8 scores) or 1e-4 (float32 scores), for a tiny trained model
exported as int8 (uint8 in and out) and as float32, and for Google's published
mobilenet_v1_0.5_160_quant.tflite. Bad files must give a visible error and a rejected
promise.

Needs Chromium (Debian's `chromium`, or MOBILENET_CHROMIUM naming a Chrome or Chromium
binary) and LiteRT.js (`npm ci`); without them the tests skip, and fail under CI=1.
`MOBILENET_WRITE_SCREENSHOT=1` makes the parrot test write docs/web_page.png.
"""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
import tensorflow_datasets as tfds

from benchmarks import headless_chromium
from mobilenet.data import input_pipeline, photo_files
from mobilenet.converting import conversion
from mobilenet.exporting import release
from mobilenet.flatbuffer import metadata
from mobilenet.measure import litert
from mobilenet.model import preprocessing
from mobilenet.model import network as model_lib
from mobilenet.training import loop as training
from mobilenet.web import server as web_server

from helpers import REPO, tiny_config, write_image_folder

OFFICIAL = "models/mobilenet_v1_official/mobilenet_v1_0.5_160_quant.tflite"
VALIDATION_IMAGES = 50
FLOAT_TOLERANCE = 1e-4


def _missing(reason):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run the browser tests")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    executable = headless_chromium.find_chromium()
    if not executable or not os.path.isfile(executable):
        _missing(f"no Chromium ({executable or 'none on PATH'}): apt-get install chromium, or set MOBILENET_CHROMIUM")
    try:
        web_server.find_node_modules()
    except ValueError as error:
        _missing(str(error))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -r requirements-test.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(headless_chromium.FLAGS))
        yield browser
        browser.close()


def open_page(browser, server, files=None, query=""):
    """A page of `server`, with /files/<name> answered from `files` ({name: path or bytes})."""
    page = browser.new_page(viewport={"width": 1000, "height": 660})
    page.set_default_timeout(60_000)
    files = files or {}

    def answer(route):
        name = urllib.parse.urlsplit(route.request.url).path[len("/files/"):]
        content = files.get(name)
        if content is None:
            route.fulfill(status=404, body="no such file")
        elif isinstance(content, bytes):
            route.fulfill(body=content, content_type="application/octet-stream")
        else:
            route.fulfill(path=str(content))

    page.route(lambda url: urllib.parse.urlsplit(url).path.startswith("/files/"), answer)
    page.goto(server.url + query)
    return page


def classify_all(page, names):
    """The page's classify() of each /files/<name>, one after the other, with the
    model input pixels of each (preprocess(), as a uint8 array)."""
    results = page.evaluate(
        """async (names) => {
          const base64 = (bytes) => {
            let text = '';
            for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
            return btoa(text);
          };
          const out = [];
          for (const name of names) {
            const url = '/files/' + name;
            out.push({...await classify(url), pixels: base64(Uint8Array.from(await preprocess(url)))});
          }
          return out;
        }""",
        names,
    )
    for result in results:
        result["pixels"] = np.frombuffer(base64.b64decode(result["pixels"]), np.uint8)
    return results


def python_reference(classifier, path):
    """What `python -m mobilenet predict` computes: the model input pixels (of the picture as a
    viewer shows it) and the scores."""
    pixels = input_pipeline.preprocess_for_eval(photo_files.read(str(path)), classifier.resolution,
                                                classifier.preprocessing.crop_fraction).numpy()
    return pixels, classifier(pixels)


def check_parity(page, tflite_path, images, tolerance):
    """Compares the page with LiteRT Python on `images` ({name: path}); returns the page's results."""
    content = open(tflite_path, "rb").read()
    classifier = litert.TFLiteClassifier(content)
    info = metadata.read_metadata(content)
    labels = info["display_names"] or info["labels"]  # the page shows readable names where the file has them
    names = sorted(images)
    results = dict(zip(names, classify_all(page, names)))
    problems = []
    for name in names:
        pixels, expected = python_reference(classifier, images[name])
        got = results[name]
        differ = int(np.sum(got["pixels"] != pixels.reshape(-1)))
        if differ:
            problems.append(f"{name}: {differ} of the page's model input pixels differ from preprocess_for_eval's")
        scores = np.array(got["scores"])
        top1 = int(np.argsort(-expected, kind="stable")[0])  # ties to the lower index, as the page
        if got["results"][0]["index"] != top1:
            problems.append(f"{name}: top-1 {got['results'][0]['index']} in the browser, {top1} in Python")
        difference = float(np.abs(scores - expected).max())
        if difference > tolerance:
            problems.append(f"{name}: scores differ by {difference:.6g} (tolerance {tolerance:.6g})")
        shown = [(r["index"], r["label"]) for r in got["results"]]
        if shown != [(i, labels[i]) for i, _ in shown]:
            problems.append(f"{name}: labels {shown} are not the metadata's")
    assert not problems, (
        f"{len(problems)} differences on {len(names)} images (JPEG pixels differ unless input_pipeline decodes JPEGs "
        "with the accurate IDCT, dct_method='INTEGER_ACCURATE', as browsers do):\n" + "\n".join(problems)
    )
    return results


def score_tolerance(tflite_path):
    """One quantisation step for uint8 scores, FLOAT_TOLERANCE for float32 ones."""
    classifier = litert.TFLiteClassifier(open(tflite_path, "rb").read())
    scale, _ = classifier.output["quantization"]
    return scale * 1.000001 if scale else FLOAT_TOLERANCE


def shared_images(shared):
    return {path.name: path for path in sorted((shared / "images").iterdir()) if path.suffix in (".jpg", ".bmp", ".png")}


def with_exif_orientation(jpeg, orientation):
    """`jpeg` with an EXIF APP1 segment saying `orientation` (6: turn 90° clockwise to
    show). Browsers turn the pixels upright by it, and the page and `predict` see it upright too."""
    tiff = b"MM\0*" + (8).to_bytes(4, "big") + (1).to_bytes(2, "big")
    tiff += (0x0112).to_bytes(2, "big") + (3).to_bytes(2, "big") + (1).to_bytes(4, "big")
    tiff += orientation.to_bytes(2, "big") + b"\0\0" + (0).to_bytes(4, "big")
    segment = b"Exif\0\0" + tiff
    return jpeg[:2] + b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment + jpeg[2:]


# --- The models ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny model trained for one epoch on coloured noise, exported int8 and float32,
    and its validation images (48, enough for parity with the shared photos)."""
    root = tmp_path_factory.mktemp("web")
    folder = write_image_folder(root / "folder", per_split=(("train", 8), ("val", 16)))
    workdir = root / "run"
    training.train(tiny_config(f"folder:{folder}", epochs=1), str(workdir))
    files = {}
    for quantization in ("int8", "float32"):
        files[quantization] = release.export(
            str(workdir), quantization=quantization, evaluate=False, threads=(), representative_samples=8
        ).tflite
    validation = {f"{path.parent.name}-{path.name}": path for path in sorted((folder / "val").glob("*/*"))}
    return {"workdir": workdir, "validation": validation, **files}


@pytest.fixture(scope="module")
def imagenette_images(shared, tmp_path_factory):
    """The first VALIDATION_IMAGES Imagenette validation images, as the JPEG files the dataset holds."""
    directory = tmp_path_factory.mktemp("imagenette")
    dataset = tfds.load("imagenette/160px-v2", split="validation", data_dir=str(shared / "tensorflow_datasets"),
                        download=False, decoders={"image": tfds.decode.SkipDecoding()})
    images = {}
    for i, example in enumerate(dataset.take(VALIDATION_IMAGES).as_numpy_iterator()):
        path = directory / f"validation-{i:02d}.jpg"
        path.write_bytes(example["image"])
        images[path.name] = path
    return images


# --- The server ----------------------------------------------------------------------


def test_server_serves_the_exact_file_and_runtime_with_isolation_headers(shared):
    model = shared / OFFICIAL
    try:
        server = web_server.serve(model)
    except ValueError as error:
        _missing(str(error))
    with server:
        with urllib.request.urlopen(server.url + "model.tflite") as response:
            assert response.read() == model.read_bytes()
            assert response.headers["Content-Type"] == "application/octet-stream"
            assert "mobilenet_v1_0.5_160_quant.tflite" in response.headers["Content-Disposition"]
        # What the page crops a file by that does not say (Google's): the library's own default.
        with urllib.request.urlopen(server.url + "preprocessing.json") as response:
            assert json.load(response)["crop_fraction"] == preprocessing.CROP_FRACTION
        expected = {"": "text/html", "app.js": "text/javascript",
                    "node_modules/@litertjs/core/dist/index.js": "text/javascript",
                    "node_modules/@litertjs/core/wasm/litert_wasm_threaded_internal.wasm": "application/wasm"}
        for path, content_type in expected.items():
            with urllib.request.urlopen(server.url + path) as response:
                assert response.headers["Content-Type"].split(";")[0] == content_type
                assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
                assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
        for path in ("../README.md", "%2e%2e/README.md", "node_modules/@litertjs/../../package.json", "web_server.py"):
            with pytest.raises(urllib.error.HTTPError, match="404"):
                urllib.request.urlopen(server.url + path)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(server.url, timeout=5)  # closed


def test_server_names_the_parameter_at_fault(tmp_path, shared):
    with pytest.raises(ValueError, match=r"^tflite .*missing.tflite: no such file"):
        web_server.serve(tmp_path / "missing.tflite")
    with pytest.raises(ValueError, match=r"^node_modules .*npm ci"):
        web_server.serve(shared / OFFICIAL, node_modules=str(tmp_path))
    with pytest.raises(ValueError, match=r"^port "):
        web_server.serve(shared / OFFICIAL, port=70000)


def _sigint_as_on_a_terminal():
    """A shell that runs the tests in the background (`make test &`) leaves SIGINT ignored, and a
    child inherits that: the server would never see the Ctrl-C this test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_web_command_serves_until_interrupted(shared):
    """`python -m mobilenet web`: one line saying where, the page there, exit 0 on Ctrl-C."""
    model = shared / OFFICIAL
    process = subprocess.Popen([sys.executable, "-m", "mobilenet", "web", "--tflite", str(model), "--port", "0"],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_sigint_as_on_a_terminal)
    try:
        line = process.stdout.readline()  # waits for the server to be up
        url = re.search(r" at (http://127\.0\.0\.1:\d+/) ", line)
        assert url, line + process.stderr.read()
        with urllib.request.urlopen(url.group(1) + "model.tflite") as response:
            assert response.read() == model.read_bytes()
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0 and stdout == "" and stderr == "", stderr


# --- Parity with LiteRT Python --------------------------------------------------------


@pytest.mark.slow  # a browser
def test_official_model_matches_litert_python_and_the_parrot_is_a_macaw(browser, shared, imagenette_images, tmp_path):
    model = shared / OFFICIAL
    photos = shared_images(shared)
    rotated = tmp_path / "owl-exif-rotated.jpg"
    rotated.write_bytes(with_exif_orientation(photos["owl.jpg"].read_bytes(), 6))
    photos[rotated.name] = rotated
    with web_server.serve(model) as server:
        page = open_page(browser, server, {**photos, **imagenette_images})
        summary = page.evaluate("modelReady")
        assert summary["labelsFile"] == "imagenet_labels.txt" and summary["labels"] == 1001
        assert summary["crossOriginIsolated"] and summary["threads"] >= 1
        assert summary["threads"] <= page.evaluate("navigator.hardwareConcurrency")  # LiteRT.js' default: one a core
        check_parity(page, model, {**photos, **imagenette_images}, score_tolerance(model))
        parrot = page.evaluate("classify('/files/parrot.jpg')")
        assert parrot["results"][0]["label"] == "macaw"
        assert parrot["latencyMs"] > 0
        # What the page shows: the metadata's class names, the latency, the thread count.
        assert page.locator("#results tbody tr").first.locator("td").first.inner_text() == "macaw"
        assert "imagenet_labels.txt" in page.locator("#model-info").inner_text()
        assert f"{summary['threads']} thread" in page.locator("#latency").inner_text()
        assert page.locator("#error").is_hidden()
        if os.environ.get("MOBILENET_WRITE_SCREENSHOT") == "1":
            page.screenshot(path=str(REPO / "docs" / "web_page.png"), full_page=True)
        page.close()


@pytest.mark.slow  # a browser
@pytest.mark.parametrize("quantization", ["int8", "float32"])
def test_tiny_model_matches_litert_python(browser, shared, tiny, quantization):
    model = tiny[quantization]
    images = {**shared_images(shared), **tiny["validation"]}
    assert len(images) >= 50
    with web_server.serve(model) as server:
        page = open_page(browser, server, images)
        summary = page.evaluate("modelReady")
        expected_input = "uint8" if quantization == "int8" else "float32"
        assert (summary["inputType"], summary["resolution"], summary["labels"]) == (expected_input, 32, 3)
        results = check_parity(page, model, images, score_tolerance(model))
        assert {r["results"][0]["label"] for r in results.values()} <= {"red", "green", "blue"}
        page.close()


@pytest.mark.slow  # a browser
def test_a_file_without_metadata_shows_class_indices(browser, tiny):
    model = model_lib.load_model(str(tiny["workdir"] / "best.keras"))
    bare = conversion.convert(model, "float32")
    with web_server.serve(tiny["float32"]) as server:
        page = open_page(browser, server, {"bare.tflite": bare, "red.jpg": next(iter(tiny["validation"].values()))},
                         query="?model=/files/bare.tflite")
        summary = page.evaluate("modelReady")
        assert summary["labels"] == 0 and summary["labelsFile"] is None
        result = page.evaluate("classify('/files/red.jpg')")
        assert [r["label"] for r in result["results"]] == [str(r["index"]) for r in result["results"]]
        assert "class indices shown" in page.locator("#model-info").inner_text()
        page.close()


# --- Bad input ------------------------------------------------------------------------


@pytest.mark.slow  # a browser
def test_bad_files_give_a_visible_error_and_a_rejected_promise(browser, shared):
    model = shared / OFFICIAL
    content = model.read_bytes()
    files = {"notes.tflite": b"These are not the weights you are looking for.\n" * 20,
             "truncated.tflite": content[: len(content) // 2],
             "broken.jpg": b"\xff\xd8\xff\xe0 not really a JPEG",
             "parrot.jpg": shared / "images" / "parrot.jpg"}
    error = "(async (promise) => { try { await promise; return null; } catch (e) { return e.message; } })"
    with web_server.serve(model) as server:
        page = open_page(browser, server, files, query="?model=/files/notes.tflite")
        message = page.evaluate(f"{error}(modelReady)")
        assert message and "not a TFLite model" in message
        assert page.locator("#error").is_visible() and "not a TFLite model" in page.locator("#error").inner_text()
        assert "No model loaded" in page.locator("#model-status").inner_text()  # not a blank page
        message = page.evaluate(f"{error}(classify('/files/parrot.jpg'))")  # no model: rejected too
        assert message and "not a TFLite model" in message

        message = page.evaluate(f"{error}(loadModel('/files/truncated.tflite'))")
        assert message and "not a complete TFLite model" in message
        assert "not a complete TFLite model" in page.locator("#error").inner_text()

        page.evaluate("loadModel('/model.tflite')")
        assert page.locator("#error").is_hidden()
        message = page.evaluate(f"{error}(classify('/files/broken.jpg'))")
        assert message and "broken.jpg is not a readable image" in message
        assert page.locator("#error").is_visible() and "broken.jpg" in page.locator("#error").inner_text()
        # The page still works after the errors.
        assert page.evaluate("classify('/files/parrot.jpg')")["results"][0]["label"] == "macaw"
        assert page.locator("#error").is_hidden()
        page.close()
