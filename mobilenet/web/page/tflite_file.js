// What the page needs to know about a .tflite, read from the file's own bytes.
//
// LiteRT.js runs the model but reads neither its TFLite metadata nor its output
// quantization, so this module reads them from the flatbuffer (schema.fbs and
// metadata_schema.fbs, the same fields mobilenet/flatbuffer/metadata.py writes and reads):
//   * the input tensor: type (uint8 or float32) and shape [1, H, W, 3];
//   * the output tensor: type, number of classes, quantization scale and zero point;
//   * the metadata's input normalisation (mean, std) and the name of the labels file
//     attached to the output tensor (AssociatedFile of type TENSOR_AXIS_LABELS);
//   * the model's preprocessing (input side, central crop, scaling) that
//     mobilenet/flatbuffer/metadata.py stores as JSON in a metadata entry of its own, when
//     the file has one (null otherwise);
//   * the labels themselves, from the zip appended to the flatbuffer, and their readable
//     names (displayNames) when the file packs a labels file with a locale beside them; mobilenet/flatbuffer/metadata.py
//     (like tflite_support) stores the entries uncompressed; deflated ones are inflated
//     with the browser's DecompressionStream.

const MODEL_IDENTIFIER = 'TFL3';
const METADATA_IDENTIFIER = 'M001';
const METADATA_NAME = 'TFLITE_METADATA';
const PREPROCESSING_NAME = 'mobilenet_preprocessing';  // the model's preprocessing, as JSON

// schema.fbs TensorType values and the names LiteRT.js uses for them.
const TENSOR_TYPES = {0: 'float32', 1: 'float16', 2: 'int32', 3: 'uint8', 4: 'int64', 9: 'int8'};

// Field slots (a union takes two: its type, then its value).
const MODEL = {subgraphs: 2, buffers: 4, metadata: 6};
const SUBGRAPH = {tensors: 0, inputs: 1, outputs: 2};
const TENSOR = {shape: 0, type: 1, quantization: 4};
const QUANTIZATION = {scale: 2, zeroPoint: 3};
const BUFFER = {data: 0, offset: 1, size: 2};
const METADATA = {name: 0, buffer: 1};
const MODEL_METADATA = {name: 0, description: 1, subgraphs: 3};
const SUBGRAPH_METADATA = {inputs: 2, outputs: 3};
const TENSOR_METADATA = {processUnits: 4, associatedFiles: 6};
const PROCESS_UNIT = {type: 0, options: 1};
const NORMALIZATION = {mean: 0, std: 1};
const ASSOCIATED_FILE = {name: 0, type: 2, locale: 3};
const PROCESS_UNIT_NORMALIZATION = 1;
const FILE_TENSOR_AXIS_LABELS = 2;

export class TfliteFormatError extends Error {}

/** A flatbuffer table; every read is bounds-checked, so a truncated file throws TfliteFormatError. */
class Table {
  constructor(view, position) {
    this.view = view;
    this.position = position;
  }

  static root(view, offset = 0) {
    return new Table(view, offset + uint32(view, offset));
  }

  /** Where a field's value is, 0 when absent. */
  field(slot) {
    const vtable = this.position - int32(this.view, this.position);
    const vtableSize = uint16(this.view, vtable);
    const entry = 4 + 2 * slot;
    const offset = entry < vtableSize ? uint16(this.view, vtable + entry) : 0;
    return offset ? this.position + offset : 0;
  }

  uint8(slot, fallback = 0) {
    const at = this.field(slot);
    return at ? uint8(this.view, at) : fallback;
  }

  uint32(slot, fallback = 0) {
    const at = this.field(slot);
    return at ? uint32(this.view, at) : fallback;
  }

  uint64(slot, fallback = 0) {
    const at = this.field(slot);
    return at ? Number(uint64(this.view, at)) : fallback;
  }

  table(slot) {
    const at = this.field(slot);
    return at ? new Table(this.view, at + uint32(this.view, at)) : null;
  }

  /** {start, length} of a vector field (length 0 when absent). */
  vector(slot) {
    const at = this.field(slot);
    if (!at) return {start: 0, length: 0};
    const start = at + uint32(this.view, at);
    const length = uint32(this.view, start);
    return {start: start + 4, length};
  }

  tables(slot) {
    const {start, length} = this.vector(slot);
    const result = [];
    for (let i = 0; i < length; i++) {
      const at = start + 4 * i;
      result.push(new Table(this.view, at + uint32(this.view, at)));
    }
    return result;
  }

  numbers(slot, width, read) {
    const {start, length} = this.vector(slot);
    checkRange(this.view, start, length * width);
    return Array.from({length}, (_, i) => read(this.view, start + width * i));
  }

  bytes(slot) {
    const {start, length} = this.vector(slot);
    checkRange(this.view, start, length);
    return new Uint8Array(this.view.buffer, this.view.byteOffset + start, length);
  }

  string(slot) {
    const at = this.field(slot);
    if (!at) return '';
    const start = at + uint32(this.view, at);
    const length = uint32(this.view, start);
    checkRange(this.view, start + 4, length);
    return new TextDecoder().decode(new Uint8Array(this.view.buffer, this.view.byteOffset + start + 4, length));
  }
}

function checkRange(view, start, length) {
  if (start < 0 || length < 0 || start + length > view.byteLength) {
    throw new TfliteFormatError(
      `not a complete TFLite model: it is cut short (data up to byte ${start + length} of ${view.byteLength})`);
  }
}

function reader(width, method) {
  return (view, at) => {
    checkRange(view, at, width);
    return view[method](at, true);
  };
}
const uint8 = reader(1, 'getUint8');
const uint16 = reader(2, 'getUint16');
const int32 = reader(4, 'getInt32');
const uint32 = reader(4, 'getUint32');
const uint64 = reader(8, 'getBigUint64');
const int64 = reader(8, 'getBigInt64');
const float32 = reader(4, 'getFloat32');

function identifier(bytes, offset = 4) {
  return String.fromCharCode(...bytes.subarray(offset, offset + 4));
}

/**
 * Reads a .tflite file's tensors, metadata and labels. Throws TfliteFormatError with a
 * one-line reason for a file that is not a TFLite flatbuffer, is cut short, or is not
 * an image classifier the page can feed.
 */
export async function readTflite(bytes) {
  if (bytes.length < 8 || identifier(bytes) !== MODEL_IDENTIFIER) {
    throw new TfliteFormatError("not a TFLite model (no 'TFL3' flatbuffer identifier)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    const model = Table.root(view);
    const subgraphs = model.tables(MODEL.subgraphs);
    if (subgraphs.length < 1) throw new TfliteFormatError('the model has no subgraph');
    const buffers = model.tables(MODEL.buffers);
    checkBuffers(buffers, view);
    const tensors = subgraphs[0].tables(SUBGRAPH.tensors);
    const inputs = subgraphs[0].numbers(SUBGRAPH.inputs, 4, int32);
    const outputs = subgraphs[0].numbers(SUBGRAPH.outputs, 4, int32);
    if (inputs.length !== 1 || outputs.length !== 1) {
      throw new TfliteFormatError(`expected 1 input and 1 output, the model has ${inputs.length} and ${outputs.length}`);
    }
    const input = tensorInfo(tensors[inputs[0]]);
    const output = tensorInfo(tensors[outputs[0]]);
    const [batch, height, width, channels] = input.shape;
    if (input.shape.length !== 4 || batch !== 1 || channels !== 3 || height !== width) {
      throw new TfliteFormatError(`the model's input is [${input.shape}], not a square RGB image [1, N, N, 3]`);
    }
    if (input.type !== 'uint8' && input.type !== 'float32') {
      throw new TfliteFormatError(`the model's input is ${input.type}; only uint8 and float32 are supported`);
    }
    if (output.type !== 'uint8' && output.type !== 'float32') {
      throw new TfliteFormatError(`the model's output is ${output.type}; only uint8 and float32 are supported`);
    }
    const info = {
      input,
      output,
      resolution: height,
      numClasses: output.shape[output.shape.length - 1],
      name: '',
      description: '',
      inputMean: 0,
      inputStd: 1,
      labels: null,
      labelsFile: null,
      displayNames: null,
      preprocessing: null,
    };
    const preprocessing = metadataEntry(model, buffers, bytes, PREPROCESSING_NAME);
    if (preprocessing) info.preprocessing = JSON.parse(new TextDecoder().decode(preprocessing));
    const metadata = metadataTable(model, buffers, bytes);
    if (metadata) Object.assign(info, await readMetadata(metadata, bytes));
    return info;
  } catch (error) {
    if (error instanceof TfliteFormatError) throw error;
    throw new TfliteFormatError(`not a complete TFLite model (${error.message})`);
  }
}

/** Every weight buffer must lie inside the file: a truncated file fails here, not in the runtime. */
function checkBuffers(buffers, view) {
  for (const buffer of buffers) {
    const offset = buffer.uint64(BUFFER.offset);
    if (offset > 1) {
      checkRange(view, offset, buffer.uint64(BUFFER.size));
    } else {
      buffer.bytes(BUFFER.data);
    }
  }
}

function tensorInfo(tensor) {
  if (!tensor) throw new TfliteFormatError('an input or output names a tensor that does not exist');
  const type = TENSOR_TYPES[tensor.uint8(TENSOR.type)] ?? `type ${tensor.uint8(TENSOR.type)}`;
  const shape = tensor.numbers(TENSOR.shape, 4, int32);
  const quantization = tensor.table(TENSOR.quantization);
  const scales = quantization ? quantization.numbers(QUANTIZATION.scale, 4, float32) : [];
  const zeroPoints = quantization ? quantization.numbers(QUANTIZATION.zeroPoint, 8, int64) : [];
  return {type, shape, scale: scales[0] ?? 0, zeroPoint: Number(zeroPoints[0] ?? 0n)};
}

/** The bytes of the model's metadata entry `name` (null without one). */
function metadataEntry(model, buffers, bytes, name) {
  for (const entry of model.tables(MODEL.metadata)) {
    if (entry.string(METADATA.name) !== name) continue;
    const buffer = buffers[entry.uint32(METADATA.buffer)];
    if (!buffer) throw new TfliteFormatError(`${name} names a buffer that does not exist`);
    const offset = buffer.uint64(BUFFER.offset);
    return offset > 1 ? bytes.subarray(offset, offset + buffer.uint64(BUFFER.size)) : buffer.bytes(BUFFER.data);
  }
  return null;
}

function metadataTable(model, buffers, bytes) {
  const data = metadataEntry(model, buffers, bytes, METADATA_NAME);
  if (!data) return null;
  if (data.length < 8 || identifier(data) !== METADATA_IDENTIFIER) {
    throw new TfliteFormatError("the TFLITE_METADATA buffer lacks the 'M001' identifier");
  }
  return Table.root(new DataView(data.buffer, data.byteOffset, data.byteLength));
}

async function readMetadata(root, bytes) {
  const result = {name: root.string(MODEL_METADATA.name), description: root.string(MODEL_METADATA.description)};
  const subgraph = root.tables(MODEL_METADATA.subgraphs)[0];
  if (!subgraph) return result;
  const image = subgraph.tables(SUBGRAPH_METADATA.inputs)[0];
  for (const unit of image ? image.tables(TENSOR_METADATA.processUnits) : []) {
    if (unit.uint8(PROCESS_UNIT.type) === PROCESS_UNIT_NORMALIZATION) {
      const options = unit.table(PROCESS_UNIT.options);
      const mean = options.numbers(NORMALIZATION.mean, 4, float32);
      const std = options.numbers(NORMALIZATION.std, 4, float32);
      if (mean.length) result.inputMean = mean.length === 1 ? mean[0] : mean;
      if (std.length) result.inputStd = std.length === 1 ? std[0] : std;
      break;
    }
  }
  const scores = subgraph.tables(SUBGRAPH_METADATA.outputs)[0];
  let displayNamesFile = null;
  for (const file of scores ? scores.tables(TENSOR_METADATA.associatedFiles) : []) {
    if (file.uint8(ASSOCIATED_FILE.type) !== FILE_TENSOR_AXIS_LABELS) continue;
    if (file.string(ASSOCIATED_FILE.locale)) {
      displayNamesFile ??= file.string(ASSOCIATED_FILE.name);  // readable names, as MediaPipe's display_name
    } else {
      result.labelsFile ??= file.string(ASSOCIATED_FILE.name);
    }
  }
  if (result.labelsFile) {
    const packed = await readZipEntry(bytes, result.labelsFile);
    if (packed) result.labels = splitLines(new TextDecoder().decode(packed));
  }
  if (displayNamesFile) {
    const packed = await readZipEntry(bytes, displayNamesFile);
    if (packed) result.displayNames = splitLines(new TextDecoder().decode(packed));
  }
  return result;
}

/** Python's str.splitlines for the line breaks a labels file has. */
function splitLines(text) {
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * The bytes of one file of the zip appended to the model (null when there is no zip or
 * no such entry). The end-of-central-directory record is found from the end of the
 * file; offsets are corrected by the zip's position, as Python's zipfile does, so a
 * zip whose offsets count from its own start reads as well as one whose offsets count
 * from the start of the .tflite (what mobilenet/flatbuffer/metadata.py writes).
 */
export async function readZipEntry(bytes, name) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const END_OF_CENTRAL_DIRECTORY = 0x06054b50, CENTRAL_FILE = 0x02014b50, LOCAL_FILE = 0x04034b50;
  let end = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === END_OF_CENTRAL_DIRECTORY && at + 22 + view.getUint16(at + 20, true) === bytes.length) {
      end = at;
      break;
    }
  }
  if (end < 0) return null;
  const entries = view.getUint16(end + 10, true);
  const directorySize = view.getUint32(end + 12, true);
  const directoryOffset = view.getUint32(end + 16, true);
  const shift = end - directorySize - directoryOffset;  // 0 when offsets count from the file's start
  let at = end - directorySize;
  for (let i = 0; i < entries && at >= 0 && at + 46 <= end; i++) {
    if (view.getUint32(at, true) !== CENTRAL_FILE) return null;
    const method = view.getUint16(at + 10, true);
    const compressedSize = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const localHeader = view.getUint32(at + 42, true) + shift;
    const entryName = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;
    if (localHeader < 0 || localHeader + 30 > bytes.length || view.getUint32(localHeader, true) !== LOCAL_FILE) return null;
    const start = localHeader + 30 + view.getUint16(localHeader + 26, true) + view.getUint16(localHeader + 28, true);
    const data = bytes.subarray(start, start + compressedSize);
    if (data.length !== compressedSize) return null;
    if (method === 0) return data;
    if (method === 8) return inflateRaw(data);
    throw new TfliteFormatError(`the packed file ${name} uses zip compression method ${method}`);
  }
  return null;
}

async function inflateRaw(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
