"""In the browser: the page's LiteRT.js latency beside LiteRT Python's, same files, same run.

The page (mobilenet/web, served by mobilenet.web.server) runs in headless Chromium, at
its own thread count (LiteRT.js' default: the browser's navigator.hardwareConcurrency);
LiteRT Python (ai_edge_litert's Interpreter with XNNPACK) runs the same files with the
same number of threads. Each side times RUNS inferences of each file after WARMUP
untimed ones, the files taken in turn in blocks of BLOCK (as mobilenet.measure.latency does), so
that a passing disturbance of the machine falls on all of them alike: in the page with
performance.now() around LiteRT.js' run() and the reading of its output, in Python
around invoke(). The two sides run one after the other, never at once.

The files: the default run's int8 and float32 exports (runs/mobilenet_v1_0.50_160/) when
both exist, else an int8 and a float32 export of a freshly built MobileNet V1 0.5-160
(10 classes, random weights: they do not change the time); Google's
mobilenet_v1_0.5_160_quant.tflite is timed beside them when ../shared has it.
"""

import importlib.metadata
import os
import tempfile

import numpy as np

from benchmarks import headless_chromium
from mobilenet import names
from mobilenet.converting import conversion
from mobilenet.measure import latency
from mobilenet.model import network as model_lib
from mobilenet.web import server as web_server

RUNS = 200
WARMUP = 20
BLOCK = latency.BLOCK  # files taken in turn, as mobilenet.measure.latency does
OFFICIAL = os.path.join("..", "shared", "models", "mobilenet_v1_official", "mobilenet_v1_0.5_160_quant.tflite")
ALPHA, RESOLUTION = 0.5, 160


def model_files(directory):
    """({name: path}, a sentence saying which files they are)."""
    workdir = names.default_workdir(ALPHA, RESOLUTION)
    default = {q: os.path.join(workdir, names.tflite_name(ALPHA, RESOLUTION, q)) for q in ("int8", "float32")}
    if all(os.path.isfile(path) for path in default.values()):
        files = {f"ours, {q} ({os.path.basename(path)})": path for q, path in default.items()}
        source = f"the default run's exports in {workdir}"
    else:
        model = model_lib.mobilenet_v1(ALPHA, RESOLUTION, num_classes=10)
        calibration = conversion.random_calibration_images(RESOLUTION)
        files = {}
        for quantization in ("int8", "float32"):
            content = conversion.convert_classifier(
                model, quantization, [f"class {i}" for i in range(10)], name="MobileNet V1 0.5-160, random weights",
                description="For timing only.", calibration_images=calibration,
            )
            path = os.path.join(directory, names.tflite_name(ALPHA, RESOLUTION, quantization))
            with open(path, "wb") as file:
                file.write(content)
            files[f"MobileNet V1 0.5-160, {quantization} (random weights)"] = path
        source = (f"no default run in {workdir}, so an int8 (uint8 in and out) and a float32 export of a freshly built "
                  "MobileNet V1 0.5-160 with random weights (10 classes), made by `mobilenet.converting.conversion.convert_classifier`")
    if os.path.isfile(OFFICIAL):
        files["Google's mobilenet_v1_0.5_160_quant.tflite"] = OFFICIAL
    return files, source


def browser_latency(files):
    """({name: latencies in ms}, the page's thread count, the browser's version)."""
    from playwright.sync_api import sync_playwright

    executable = headless_chromium.find_chromium()
    if not executable:
        raise RuntimeError("no Chromium: apt-get install chromium (or set MOBILENET_CHROMIUM)")
    servers = {name: web_server.serve(path) for name, path in files.items()}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=list(headless_chromium.FLAGS))
            pages = {}
            for name, server in servers.items():
                page = browser.new_page()
                page.set_default_timeout(300_000)
                page.goto(server.url)
                summary = page.evaluate("modelReady")
                page.evaluate("(warmup) => timeInference({runs: 1, warmup})", WARMUP)
                pages[name] = page
            times = {name: [] for name in pages}
            order = list(pages)
            for turn in range(-(-RUNS // BLOCK)):
                for name in order[turn % len(order):] + order[: turn % len(order)]:  # who goes first rotates
                    runs = min(BLOCK, RUNS - len(times[name]))
                    result = pages[name].evaluate("(runs) => timeInference({runs, warmup: 3})", runs)
                    times[name] += result["latenciesMs"]
            version = browser.version
            browser.close()
    finally:
        for server in servers.values():
            server.close()
    return times, summary["threads"], summary["runtime"], version


def run():
    with tempfile.TemporaryDirectory() as directory:
        files, source = model_files(directory)
        browser, threads, runtime, chromium = browser_latency(files)
        contents = {name: open(path, "rb").read() for name, path in files.items()}
        python = latency.compare_in_fresh_process(contents, (threads,), warmup=WARMUP, runs=RUNS)
    litert_version = importlib.metadata.version("ai-edge-litert")
    lines = [
        "## In the browser: LiteRT.js against LiteRT Python",
        "",
        f"The page of `python -m mobilenet web` in headless Chromium {chromium} ({runtime}, WebAssembly with XNNPACK, "
        f"{threads} thread{'s' * (threads > 1)}: the page's default, one per core the browser reports), beside "
        f"LiteRT Python (ai-edge-litert {litert_version}, XNNPACK) with the same {threads} thread{'s' * (threads > 1)}, "
        f"on {source}. Batch 1, median (p90) in ms of {RUNS} runs after {WARMUP} warm-up ones, the files timed in turn "
        f"in blocks of {BLOCK}; in the page `performance.now()` around LiteRT.js' `run()` and the reading of its output, "
        "in Python around `invoke()`; made by `benchmarks/web_latency.py`:",
        "",
        "| File | Browser (LiteRT.js) | LiteRT Python | Browser / Python |",
        "|---|---|---|---|",
    ]
    for name in files:
        page = np.array(browser[name])
        native = python[name][threads]
        lines.append(
            f"| {name} | {np.median(page):.3f} ({np.percentile(page, 90):.3f}) | "
            f"{native['median_ms']:.3f} ({native['p90_ms']:.3f}) | **{np.median(page) / native['median_ms']:.2f}x** |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
