"""TFLite Model Metadata for the image-classifier .tflite: write it, read it back.

The metadata is what lets MediaPipe's ImageClassifier (and the older TFLite Task
Library) run the model with no extra configuration: it names the input an RGB image
and the output class scores, and packs the labels so results carry category names.
The file layout is the one tflite_support's MetadataPopulator writes:

* a `ModelMetadata` flatbuffer (schema `metadata_schema.fbs`, file identifier "M001")
  stored in one of the model's buffers, referenced from `Model.metadata` under the
  name "TFLITE_METADATA";
* the associated files (here only `labels.txt`, one label per line) in an
  uncompressed zip appended to the end of the .tflite. The zip's offsets count from
  the start of the whole file, and MediaPipe reads the entries in place, so they must
  be stored, not deflated.

TFLite metadata has no field for the central crop a model is evaluated on, so the model's
preprocessing (mobilenet.model.preprocessing: input side, crop fraction, the scaling the
network applies) goes, as JSON, into a `Model.metadata` entry of its own, PREPROCESSING_NAME;
runtimes skip entries they do not know.

Why the metadata table is written with `flatbuffers.Builder` by hand: tflite-support
0.4.4 (last release 2023) pins protobuf<4, which TensorFlow 2.21 cannot live with, and
its schema code predates fields the current converter writes. MediaPipe ships a
generated `metadata_schema_py_generated.py`, but only inside a large wheel (OpenCV,
matplotlib, native libraries) whose package import is not side-effect free, and its
metadata writer needs a native module the wheel lacks. The subset of the schema an
image classifier needs is ten small tables, so this module encodes it directly with the
`flatbuffers` package TensorFlow already depends on. The model itself is edited through
the generated TFLite schema that ai-edge-litert ships (`ModelT` object API), which is
current with the converter. Field slot numbers below are those of metadata_schema.fbs.
"""

import io
import json
import zipfile

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as tfl
from flatbuffers.number_types import Float32Flags, Int8Flags
from flatbuffers.table import Table

from mobilenet import names

__all__ = ["add_metadata", "read_metadata", "read_preprocessing", "carry_packed_files"]

METADATA_NAME = "TFLITE_METADATA"  # the Model.metadata entry readers look for
PREPROCESSING_NAME = "mobilenet_preprocessing"  # ours: the model's preprocessing as JSON
LABELS_FILE = names.LABELS
# Readable names beside the labels (WordNet ids' "cassette player"), as tflite_support writes
# them: a second labels file with a locale, which MediaPipe returns as display_name when its
# display_names_locale (default "en") matches.
DISPLAY_NAMES_LOCALE = "en"
DISPLAY_NAMES_FILE = f"labels_{DISPLAY_NAMES_LOCALE}.txt"
_MODEL_IDENTIFIER = b"TFL3"
_METADATA_IDENTIFIER = b"M001"
# Every table, field and enum value written here exists since metadata schema 1.0.0;
# nothing added later (tokenizers, tensor groups, AssociatedFile.version...) is used.
# tflite_support computes the same "1.0.0" for its image-classifier writer.
_MIN_PARSER_VERSION = "1.0.0"

# Enum values of metadata_schema.fbs. Union type enums count NONE as 0.
_COLOR_SPACE_RGB = 1
_CONTENT_FEATURE_PROPERTIES = 1
_CONTENT_IMAGE_PROPERTIES = 2
_PROCESS_UNIT_NORMALIZATION = 1
_FILE_TENSOR_AXIS_LABELS = 2

# Field slots of metadata_schema.fbs used here (a union field takes two slots:
# its type, then its value).
_MODEL_NAME, _MODEL_DESCRIPTION, _MODEL_VERSION, _MODEL_SUBGRAPHS = 0, 1, 2, 3
_MODEL_AUTHOR, _MODEL_LICENSE, _MODEL_MIN_PARSER_VERSION = 4, 5, 7
_SUBGRAPH_INPUTS, _SUBGRAPH_OUTPUTS = 2, 3
_TENSOR_NAME, _TENSOR_DESCRIPTION, _TENSOR_CONTENT = 0, 1, 3
_TENSOR_PROCESS_UNITS, _TENSOR_STATS, _TENSOR_FILES = 4, 5, 6
_CONTENT_TYPE, _CONTENT_PROPERTIES = 0, 1
_IMAGE_COLOR_SPACE = 0
_PROCESS_UNIT_TYPE, _PROCESS_UNIT_OPTIONS = 0, 1
_NORM_MEAN, _NORM_STD = 0, 1
_STATS_MAX, _STATS_MIN = 0, 1
_FILE_NAME, _FILE_DESCRIPTION, _FILE_TYPE, _FILE_LOCALE = 0, 1, 2, 3


def add_metadata(
    model: bytes,
    *,
    name: str,
    description: str,
    labels: list[str],
    version: str = "",
    author: str = "",
    license: str = "",  # noqa: A002 - the schema's field name
    input_mean: float = 0.0,
    input_std: float = 1.0,
    preprocessing: dict | None = None,
    display_names: list[str] | None = None,
) -> bytes:
    """Returns `model` (a .tflite image classifier) with image-classifier metadata.

    The model must have one input, an RGB image [1, H, W, 3], and one output, the
    class scores [1, len(labels)]. `input_mean`/`input_std` describe the
    normalisation a runtime applies to pixels (0..255) before feeding a float32
    input: (pixel - mean) / std. Our models normalise inside, so the default
    0 and 1 (identity) is right for them; MediaPipe requires the normalisation
    entry for float32 inputs and ignores it for uint8 ones. `display_names`, one a label,
    go in a second labels file with DISPLAY_NAMES_LOCALE. `preprocessing` (a
    Preprocessing's JSON) is stored beside, under PREPROCESSING_NAME. Any metadata and
    packed files the model already carries are replaced.
    """
    _check_tflite(model)
    if not labels:
        raise ValueError("labels must not be empty")
    if any("\n" in label or "\r" in label for label in labels):
        raise ValueError("labels must not contain line breaks")
    if not input_std > 0:
        raise ValueError(f"input_std must be positive, got {input_std}")
    if display_names is not None and (len(display_names) != len(labels)
                                      or any("\n" in name or "\r" in name for name in display_names)):
        raise ValueError("display_names must be one line for each label")

    tflite = tfl.ModelT.InitFromPackedBuf(model, 0)
    graph = tflite.subgraphs[0]
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ValueError(
            f"expected a model with 1 input and 1 output, got "
            f"{len(graph.inputs)} and {len(graph.outputs)}"
        )
    image = graph.tensors[graph.inputs[0]]
    scores = graph.tensors[graph.outputs[0]]
    shape = [] if scores.shape is None else [int(n) for n in scores.shape]
    if not shape or shape[-1] != len(labels):
        raise ValueError(f"{len(labels)} labels for an output of shape {shape}")

    metadata = _metadata_flatbuffer(
        name=name,
        description=description,
        version=version,
        author=author,
        license=license,
        mean=input_mean,
        std=input_std,
        input_stats=_input_stats(image.type, input_mean, input_std),
        output_stats=_output_stats(scores.type),
        display_names=display_names is not None,
    )
    _inline_buffers(tflite, model)
    _set_metadata_buffer(tflite, METADATA_NAME, metadata)
    if preprocessing is not None:
        _set_metadata_buffer(tflite, PREPROCESSING_NAME, json.dumps(preprocessing, sort_keys=True).encode())
    builder = flatbuffers.Builder(len(model) + len(metadata) + 1024)
    builder.Finish(tflite.Pack(builder), file_identifier=_MODEL_IDENTIFIER)

    out = io.BytesIO()
    out.write(builder.Output())
    # Mode "a" on a non-zip stream appends a zip whose offsets are absolute in the
    # stream; ZipFile's default compression is ZIP_STORED, as MediaPipe requires.
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr(LABELS_FILE, "".join(f"{label}\n" for label in labels))
        if display_names is not None:
            archive.writestr(DISPLAY_NAMES_FILE, "".join(f"{name}\n" for name in display_names))
    return out.getvalue()


def read_metadata(model: bytes) -> dict:
    """Reads back the metadata of a .tflite written by `add_metadata`.

    Returns a dict with "name", "description", "version", "author", "license",
    "min_parser_version" (strings, "" when absent), "input_mean" and "input_std"
    (floats; lists for per-channel values; None without normalisation), "labels"
    (from the packed labels file; [] without one), "display_names" (from the labels file
    with a locale, DISPLAY_NAMES_FILE; [] without one), "associated_files" (the names
    packed in the model's zip) and "preprocessing" (the dict stored under
    PREPROCESSING_NAME; None without one).
    """
    _check_tflite(model)
    data = _metadata_entry(model, METADATA_NAME, _METADATA_IDENTIFIER)
    root = Table(data, flatbuffers.encode.Get(flatbuffers.packer.uoffset, data, 0))

    mean = std = None
    labels_file = None
    subgraph = _tables(root, _MODEL_SUBGRAPHS)[0]
    image = _tables(subgraph, _SUBGRAPH_INPUTS)[0]
    for unit in _tables(image, _TENSOR_PROCESS_UNITS):
        if _byte(unit, _PROCESS_UNIT_TYPE) == _PROCESS_UNIT_NORMALIZATION:
            options = _table(unit, _PROCESS_UNIT_OPTIONS)
            mean, std = _floats(options, _NORM_MEAN), _floats(options, _NORM_STD)
            break
    scores = _tables(subgraph, _SUBGRAPH_OUTPUTS)[0]
    display_file = None
    for file in _tables(scores, _TENSOR_FILES):
        if _byte(file, _FILE_TYPE) != _FILE_TENSOR_AXIS_LABELS:
            continue
        if _string(file, _FILE_LOCALE):
            display_file = display_file or _string(file, _FILE_NAME)
        else:
            labels_file = labels_file or _string(file, _FILE_NAME)

    packed = _packed_files(model)
    labels = packed.get(labels_file, b"").decode("utf-8").splitlines()
    display_names = packed.get(display_file, b"").decode("utf-8").splitlines()
    return {
        "name": _string(root, _MODEL_NAME),
        "description": _string(root, _MODEL_DESCRIPTION),
        "version": _string(root, _MODEL_VERSION),
        "author": _string(root, _MODEL_AUTHOR),
        "license": _string(root, _MODEL_LICENSE),
        "min_parser_version": _string(root, _MODEL_MIN_PARSER_VERSION),
        "input_mean": _scalar_or_list(mean),
        "input_std": _scalar_or_list(std),
        "labels": labels,
        "display_names": display_names,
        "associated_files": sorted(packed),
        "preprocessing": read_preprocessing(model),
    }


def read_preprocessing(model: bytes) -> dict | None:
    """The preprocessing stored under PREPROCESSING_NAME, or None (files made elsewhere)."""
    _check_tflite(model)
    try:
        return json.loads(_metadata_entry(model, PREPROCESSING_NAME))
    except ValueError:  # no such entry (json.JSONDecodeError is a ValueError too)
        return None


# --- Writing -----------------------------------------------------------------------


def _check_tflite(model: bytes) -> None:
    if len(model) < 8 or bytes(model[4:8]) != _MODEL_IDENTIFIER:
        raise ValueError("not a TFLite model (no 'TFL3' flatbuffer file identifier)")


def _input_stats(tensor_type: int, mean: float, std: float) -> tuple[float, float]:
    """(min, max) of the input tensor, as tflite_support's writer states them."""
    if tensor_type == tfl.TensorType.UINT8:
        return 0.0, 255.0
    return (0.0 - mean) / std, (255.0 - mean) / std


def _output_stats(tensor_type: int) -> tuple[float, float]:
    """(min, max) of the scores: quantised uint8 or float probabilities."""
    return (0.0, 255.0) if tensor_type == tfl.TensorType.UINT8 else (0.0, 1.0)


def _metadata_flatbuffer(
    *,
    name: str,
    description: str,
    version: str,
    author: str,
    license: str,  # noqa: A002
    mean: float,
    std: float,
    input_stats: tuple[float, float],
    output_stats: tuple[float, float],
    display_names: bool = False,
) -> bytes:
    """Encodes the ModelMetadata table. Flatbuffers are built bottom-up: every
    string, vector and child table is written before the table pointing to it."""
    b = flatbuffers.Builder(1024)

    def string(text: str) -> int | None:
        return b.CreateString(text) if text else None

    def floats(*values: float) -> int:
        return b.CreateNumpyVector(np.array(values, dtype=np.float32))

    def stats(min_max: tuple[float, float]) -> int:
        low, high = min_max
        return _write_table(b, {_STATS_MAX: floats(high), _STATS_MIN: floats(low)})

    # Input tensor "image": an RGB image, its normalisation and value range.
    image_properties = _write_table(b, {}, {_IMAGE_COLOR_SPACE: _COLOR_SPACE_RGB})
    image_content = _write_table(
        b,
        {_CONTENT_PROPERTIES: image_properties},
        {_CONTENT_TYPE: _CONTENT_IMAGE_PROPERTIES},
    )
    normalization = _write_table(b, {_NORM_MEAN: floats(mean), _NORM_STD: floats(std)})
    process_unit = _write_table(
        b,
        {_PROCESS_UNIT_OPTIONS: normalization},
        {_PROCESS_UNIT_TYPE: _PROCESS_UNIT_NORMALIZATION},
    )
    image = _write_table(
        b,
        {
            _TENSOR_NAME: string("image"),
            _TENSOR_DESCRIPTION: string("Input image to be classified."),
            _TENSOR_CONTENT: image_content,
            _TENSOR_PROCESS_UNITS: _write_vector(b, [process_unit]),
            _TENSOR_STATS: stats(input_stats),
        },
    )

    # Output tensor "probability": one score per label of the packed labels file.
    feature_properties = _write_table(b, {})
    scores_content = _write_table(
        b,
        {_CONTENT_PROPERTIES: feature_properties},
        {_CONTENT_TYPE: _CONTENT_FEATURE_PROPERTIES},
    )
    labels_file = _write_table(
        b,
        {
            _FILE_NAME: string(LABELS_FILE),
            _FILE_DESCRIPTION: string("Labels for categories that the model can recognize."),
        },
        {_FILE_TYPE: _FILE_TENSOR_AXIS_LABELS},
    )
    display_files = [_write_table(
        b,
        {
            _FILE_NAME: string(DISPLAY_NAMES_FILE),
            _FILE_DESCRIPTION: string("Readable names of the categories, in the order of the labels."),
            _FILE_LOCALE: string(DISPLAY_NAMES_LOCALE),
        },
        {_FILE_TYPE: _FILE_TENSOR_AXIS_LABELS},
    )] if display_names else []
    scores = _write_table(
        b,
        {
            _TENSOR_NAME: string("probability"),
            _TENSOR_DESCRIPTION: string("Probabilities of the labels respectively."),
            _TENSOR_CONTENT: scores_content,
            _TENSOR_STATS: stats(output_stats),
            _TENSOR_FILES: _write_vector(b, [labels_file, *display_files]),
        },
    )

    subgraph = _write_table(
        b,
        {
            _SUBGRAPH_INPUTS: _write_vector(b, [image]),
            _SUBGRAPH_OUTPUTS: _write_vector(b, [scores]),
        },
    )
    root = _write_table(
        b,
        {
            _MODEL_NAME: string(name),
            _MODEL_DESCRIPTION: string(description),
            _MODEL_VERSION: string(version),
            _MODEL_SUBGRAPHS: _write_vector(b, [subgraph]),
            _MODEL_AUTHOR: string(author),
            _MODEL_LICENSE: string(license),
            _MODEL_MIN_PARSER_VERSION: string(_MIN_PARSER_VERSION),
        },
    )
    b.Finish(root, file_identifier=_METADATA_IDENTIFIER)
    return bytes(b.Output())


def _write_table(
    b: flatbuffers.Builder, refs: dict[int, int | None], bytes_: dict[int, int] | None = None
) -> int:
    """Writes a table of reference fields (strings, vectors, tables; None = absent)
    and byte-sized enum fields, each keyed by slot; returns its offset."""
    bytes_ = bytes_ or {}
    b.StartObject(max([*refs, *bytes_], default=-1) + 1)
    for slot, offset in refs.items():
        if offset is not None:
            b.PrependUOffsetTRelativeSlot(slot, offset, 0)
    for slot, value in bytes_.items():
        b.PrependInt8Slot(slot, value, 0)
    return b.EndObject()


def _write_vector(b: flatbuffers.Builder, offsets: list[int]) -> int:
    """Writes a vector of tables (or strings)."""
    b.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        b.PrependUOffsetTRelative(offset)
    return b.EndVector()


def _inline_buffers(tflite: tfl.ModelT, model: bytes) -> None:
    """Buffers kept outside the flatbuffer (offset > 1, a converter option for big models)
    hold positions in the old file: inline them before repacking."""
    for buffer in tflite.buffers:
        if buffer.offset > 1:
            buffer.data = np.frombuffer(model, np.uint8, buffer.size, buffer.offset)
            buffer.offset = buffer.size = 0


def _set_metadata_buffer(tflite: tfl.ModelT, name: str, content: bytes) -> None:
    """Stores `content` in a buffer that the Model.metadata entry `name` points to,
    replacing an earlier one of that name."""
    data = tfl.BufferT()
    data.data = np.frombuffer(content, dtype=np.uint8)
    entries = tflite.metadata or []
    for entry in entries:
        if entry.name.decode() == name:
            tflite.buffers[entry.buffer] = data
            return
    entry = tfl.MetadataT()
    entry.name = name.encode()  # as a packed file's entries read back
    entry.buffer = len(tflite.buffers)
    tflite.buffers.append(data)
    tflite.metadata = [*entries, entry]


def carry_packed_files(rewritten: bytes, original: bytes) -> bytes:
    """`rewritten` (`original`'s flatbuffer packed anew: its memory planned, its buffers
    aligned) with `original`'s packed files (labels.txt) appended again: packing a
    flatbuffer drops what follows it. Its Model.metadata entries must be `original`'s."""
    _check_tflite(rewritten)
    packed = _packed_files(original)
    if not packed:
        return rewritten
    if _packed_files(rewritten):
        raise ValueError("the rewritten model already carries packed files")
    out = io.BytesIO()
    out.write(rewritten)
    with zipfile.ZipFile(out, "a") as archive:
        for name, data in packed.items():
            archive.writestr(name, data)
    return out.getvalue()


# --- Reading -----------------------------------------------------------------------


def _metadata_entry(model: bytes, name: str, identifier: bytes | None = None) -> bytes:
    """The bytes of the model's Model.metadata entry `name`; ValueError without one, or
    when they lack the flatbuffer file `identifier` expected."""
    tflite = tfl.Model.GetRootAs(model, 0)
    for i in range(tflite.MetadataLength()):
        entry = tflite.Metadata(i)
        if entry.Name().decode() == name:
            buffer = tflite.Buffers(entry.Buffer())
            if buffer.Offset() > 1:
                data = bytes(model[buffer.Offset() : buffer.Offset() + buffer.Size()])
            else:
                data = buffer.DataAsNumpy().tobytes()
            if identifier and data[4:8] != identifier:
                raise ValueError(f"{name} buffer lacks the {identifier.decode()!r} file identifier")
            return data
    raise ValueError(f"the model has no {name}")


def _packed_files(model: bytes) -> dict[str, bytes]:
    """The files of the zip appended to the model, by name ({} without one)."""
    try:
        with zipfile.ZipFile(io.BytesIO(model)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        return {}


def _field(table: Table, slot: int) -> int:
    """Offset of a field within `table`, 0 when the field is absent."""
    return table.Offset(4 + 2 * slot)


def _string(table: Table, slot: int) -> str:
    offset = _field(table, slot)
    return table.String(table.Pos + offset).decode("utf-8") if offset else ""


def _byte(table: Table, slot: int) -> int:
    offset = _field(table, slot)
    return table.Get(Int8Flags, table.Pos + offset) if offset else 0


def _floats(table: Table, slot: int) -> list[float]:
    offset = _field(table, slot)
    return table.GetVectorAsNumpy(Float32Flags, offset).tolist() if offset else []


def _table(table: Table, slot: int) -> Table:
    return Table(table.Bytes, table.Indirect(table.Pos + _field(table, slot)))


def _tables(table: Table, slot: int) -> list[Table]:
    offset = _field(table, slot)
    if not offset:
        return []
    start = table.Vector(offset)
    return [
        Table(table.Bytes, table.Indirect(start + 4 * i)) for i in range(table.VectorLen(offset))
    ]


def _scalar_or_list(values: list[float] | None) -> float | list[float] | None:
    if values is None:
        return None
    return values[0] if len(values) == 1 else values
