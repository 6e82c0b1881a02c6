"""The package as users get it: the README's Python API, the wheel, quiet commands."""

import ast
import importlib
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from mobilenet.__main__ import COMMANDS

from helpers import REPO, run_script

OFFICIAL = "models/mobilenet_v1_official"


def readme_python_block():
    readme = (REPO / "README.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    return block


@pytest.mark.slow  # end to end
def test_readme_python_block_runs_as_pasted(tmp_path, monkeypatch, capsys):
    """The block, as a notebook user would paste it, in an empty directory: it makes its own folder."""
    monkeypatch.chdir(tmp_path)
    exec(compile(readme_python_block(), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "kept epoch" in printed
    assert "quantization must be one of int8, float16, dynamic, float32, got 'int4'" in printed
    assert (tmp_path / "runs" / "shapes" / "mobilenet_v1_0.25_64_int8.tflite").exists()
    assert (tmp_path / "runs" / "shapes" / "mobilenet_v1_0.25_64_int8.report.json").exists()


def test_wheel_declares_dependencies_and_commands_and_installs_outside_the_repository(tmp_path):
    source = tmp_path / "source"  # a copy: building in the checkout would leave build/ there
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source)
    shutil.copytree(REPO / "mobilenet", source / "mobilenet", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    build = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "wheels"),
                            str(source)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (tmp_path / "wheels").glob("mobilenet_tflite-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        info = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        metadata = archive.read(info).decode()
        entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
        packaged = set(archive.namelist())
    required = re.findall(r"^Requires-Dist: ([\w.-]+)", metadata, re.MULTILINE)
    assert {"tensorflow", "keras", "tensorflow-datasets", "ai-edge-litert", "ml-collections"} <= set(required)
    for command in COMMANDS:
        assert f"mobilenet-{command} = mobilenet.commands.{command}:run" in entry_points
    assert {"mobilenet/configs/default.py", "mobilenet/commands/cli.py", "mobilenet/web/page/index.html"} <= packaged

    site = tmp_path / "site"
    install = subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site))
    where = subprocess.run([sys.executable, "-c", "import mobilenet; print(mobilenet.__file__)"], cwd=outside,
                           env=env, capture_output=True, text=True)
    assert where.stdout.strip() == str(site / "mobilenet" / "__init__.py"), where.stderr
    for command in ("train", "predict"):
        result = subprocess.run([str(site / "bin" / f"mobilenet-{command}"), "--help"], cwd=outside, env=env,
                                capture_output=True, text=True)
        assert result.returncode == 0 and "flags:" in result.stdout, result.stderr[-2000:]


def test_one_entry_point_lists_and_runs_every_command():
    listing = run_script("-m", "mobilenet", "--help")
    assert listing.returncode == 0, listing.stderr[-2000:]
    for command in COMMANDS:
        summary = importlib.import_module(f"mobilenet.commands.{command}").__doc__.strip().splitlines()[0]
        assert re.search(rf"^  {command} +{re.escape(summary)}$", listing.stdout, re.MULTILINE), (command, listing.stdout)
    help_text = run_script("-m", "mobilenet", "costs", "--help")
    assert help_text.returncode == 0 and "--alpha" in help_text.stdout
    unknown = run_script("-m", "mobilenet", "fit")
    assert unknown.returncode == 1 and unknown.stderr.strip() == (
        "python -m mobilenet: error: no command 'fit'; the commands are " + ", ".join(COMMANDS))


def test_predict_prints_only_its_predictions(shared):
    images = [str(shared / "images" / name) for name in ("parrot.jpg", "hot_dog.jpg")]
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    result = run_script("-m", "mobilenet", "predict", "--tflite", str(shared / OFFICIAL / "mobilenet_v1_0.5_160_quant.tflite"),
                        "--labels", str(shared / OFFICIAL / "imagenet_labels.txt"), "--top_k", "3", *images, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{images[0]}: macaw ") and lines[1].startswith(f"{images[1]}: hotdog")
    assert all(re.fullmatch(r".+: (.+ \d\.\d{3}, ){2}.+ \d\.\d{3}", line) for line in lines), lines


def test_the_library_names_parameters_not_flags():
    """Outside mobilenet/commands/, no error message names a --flag and nothing reads flags."""
    for path in (REPO / "mobilenet").rglob("*.py"):
        if "commands" in path.relative_to(REPO).parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
                assert not any(name in ("absl.flags", "absl.app", "flags", "app") for name in names), path
            if isinstance(node, ast.Raise):
                for text in (n.value for n in ast.walk(node) if isinstance(n, ast.Constant)):
                    assert not (isinstance(text, str) and re.search(r"--[a-z]", text)), (path, text)


def test_the_readme_report_is_the_one_docs_benchmarks_measured():
    """The README's sample report and docs/BENCHMARKS.md's default-model row give the same figures."""
    readme = (REPO / "README.md").read_text()
    report = re.search(r"```\n(?:Wrote \S+\n)?(mobilenet_v1_\S+_int8\.tflite): int8, ([\d.]+) MB.*?TFLite top-1 ([\d.]+) top-5 ([\d.]+); "
                       r"Keras top-1 ([\d.]+)", readme, re.DOTALL)
    assert report, "no make tflite report in the README"
    name, size, top1, top5, keras_top1 = report.groups()
    benchmarks = (REPO / "docs" / "BENCHMARKS.md").read_text()
    row = re.search(rf"^\| {re.escape(name)} \| ([\d.]+) MB \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", benchmarks, re.MULTILINE)
    assert row, f"no row for {name} in docs/BENCHMARKS.md"
    assert row.groups() == (size, keras_top1, top1, top5)


def test_a_saved_model_loads_in_a_user_s_own_script_with_one_call(tiny_run):
    """A fresh process that imports only mobilenet: one call loads best.keras, and it predicts."""
    script = ("import sys, numpy, mobilenet\n"
              "model = mobilenet.load_model(sys.argv[1])\n"
              "print(model.name, model.predict(numpy.zeros((1, 32, 32, 3), 'uint8'), verbose=0).shape)\n")
    result = run_script("-c", script, str(tiny_run[0] / "best.keras"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["mobilenet_v1_0.25_32", "(1,", "3)"]
