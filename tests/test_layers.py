"""The house holds: imports point down the stages docs/ARCHITECTURE.md lists, no module name
repeats, and every `mobilenet.` name written anywhere in the repository exists."""

import ast
import collections
import importlib
import re
import subprocess

from helpers import REPO

PACKAGE = REPO / "mobilenet"
# Modules named after a command or a recipe: each command and each recipe has one of each.
NAMED_AFTER_OTHERS = ("commands", "configs")


def stages():
    """The stages in docs/ARCHITECTURE.md's "Layers" list, lowest first: "" for the modules of
    mobilenet/ itself, else a subpackage's name."""
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text()
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\d+\. `mobilenet/([a-z_]*)/?(?:\*\.py)?`", section, flags=re.MULTILINE)
    assert listed, "docs/ARCHITECTURE.md's Layers section lists no stage"
    return listed


def module_name(path):
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module):
    """A module's stage: its subpackage, or "" for mobilenet's own modules."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else ""


def imported_modules(path):
    """The mobilenet modules `path` imports, at any depth of its code (inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importing module's package
                package = module_name(path).split(".")[: -node.level or None]
                base = ".".join(package + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _is_module(candidate) else base)
    return {name for name in found if name == "mobilenet" or name.startswith("mobilenet.")}


def _is_module(name):
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def library_modules():
    return sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)


def test_every_import_points_down_the_stages_of_the_architecture_document():
    order = stages()
    rank = {stage: index for index, stage in enumerate(order)}
    present = {stage_of(module_name(path)) for path in library_modules()}
    assert present <= set(rank), f"stages missing from docs/ARCHITECTURE.md's Layers: {sorted(present - set(rank))}"
    upward = []
    for path in library_modules():
        importer = module_name(path)
        for imported in imported_modules(path):
            if rank[stage_of(imported)] > rank[stage_of(importer)]:
                upward.append(f"{importer} imports {imported} ({stage_of(imported) or 'mobilenet'} is above "
                              f"{stage_of(importer) or 'mobilenet'})")
    assert not upward, "\n".join(upward)


def test_no_module_imports_another_in_a_cycle():
    graph = {module_name(path): imported_modules(path) for path in library_modules()}
    visiting, done, cycles = [], set(), []

    def visit(module):
        if module in done:
            return
        if module in visiting:
            cycles.append(" -> ".join(visiting[visiting.index(module):] + [module]))
            return
        visiting.append(module)
        for imported in sorted(graph.get(module, ())):
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert not cycles, "\n".join(cycles)


def test_no_two_library_modules_share_a_file_name():
    by_name = collections.defaultdict(list)
    for path in library_modules():
        relative = path.relative_to(PACKAGE)
        if path.name in ("__init__.py", "__main__.py"):
            continue
        by_name[path.name].append(str(relative))
    shared = {name: where for name, where in by_name.items()
              if len([place for place in where if not place.startswith(NAMED_AFTER_OTHERS)]) >= 1 and len(where) > 1}
    assert not shared, shared


# A dotted name such as `mobilenet.errors.ParameterError`, or a path such as
# `mobilenet/flatbuffer/graph.py`, as written in a file; not a part of another dotted
# name (keras.applications.mobilenet) or of a path elsewhere.
MENTION = re.compile(r"(?<![\w./-])mobilenet([./][A-Za-z_][A-Za-z0-9_]*)+")


def resolves(mention):
    """Whether a dotted mention (`mobilenet.errors.ParameterError`) names a module or an attribute
    of one, or a slashed one (`mobilenet/flatbuffer/graph.py`) a path."""
    if "/" in mention:
        path = REPO / mention
        return path.exists() or path.with_suffix(".py").exists()
    parts = mention.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_every_mobilenet_name_written_in_the_repository_exists():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    missing = []
    for name in tracked:
        path = REPO / name
        if path.suffix in (".png", ".jpg", ".json") or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for match in MENTION.finditer(line):
                mention = match.group(0).rstrip(".")
                if not resolves(mention):
                    missing.append(f"{name}:{number}: {mention}")
    assert not missing, "\n".join(missing)
