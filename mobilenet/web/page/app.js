// The page: loads a .tflite into LiteRT.js and classifies the images it is given.
//
// The model is the server's /model.tflite (or ?model=URL, or a .tflite file picked or
// dropped on the page). Images are decoded by the browser at their own size, then
// cropped and resized by preprocess.js exactly as mobilenet.measure.prediction does, and fed as
// the file's input tensor asks: uint8 raw pixels, or float32 (pixel - mean) / std with
// the normalisation of the file's metadata (0 and 1 for this project's files).
//
// Test hooks (tests/test_web.py, benchmarks/web_latency.py):
//   window.modelReady               Promise of the loaded model's summary; rejects with the load error
//   window.classify(imageUrl)       Promise of {results: [{label, index, score}] (top 5), latencyMs, scores}
//   window.preprocess(imageUrl)     Promise of the model's input pixels (size x size x 3 uint8) as an Array
//   window.timeInference({runs, warmup})  Promise of {latenciesMs, medianMs, threads}
//   window.loadModel(urlOrFile)     loads another model; returns (and sets) window.modelReady

import {Tensor, loadLiteRt} from '@litertjs/core';

import {preprocessForEval} from './preprocess.js';
import {readTflite} from './tflite_file.js';

const WASM_DIRECTORY = '/node_modules/@litertjs/core/wasm/';
const TOP_K = 5;

const $ = (id) => document.getElementById(id);

let liteRtPromise = null;
let runtime = {version: '', threadedWasm: false};
let current = null;  // {info, model, fileName, threads}
let queue = Promise.resolve();  // one inference at a time

/** LiteRT.js, multi-threaded when the page is cross-origin isolated (the server's COOP/COEP headers). */
let defaultsPromise = null;

/** MobileNet's own preprocessing, for a file that does not state one (mobilenet/model/preprocessing.py). */
function defaultPreprocessing() {
  defaultsPromise ??= fetchBytes('/preprocessing.json', 'the default preprocessing')
    .then(({bytes}) => JSON.parse(new TextDecoder().decode(bytes)));
  return defaultsPromise;
}

function loadRuntime() {
  liteRtPromise ??= (async () => {
    let liteRt;
    try {
      liteRt = await loadLiteRt(WASM_DIRECTORY, {threads: self.crossOriginIsolated === true});
      runtime.threadedWasm = self.crossOriginIsolated === true;
    } catch (error) {
      if (!self.crossOriginIsolated) throw error;
      // A browser without relaxed SIMD has no threaded build: run on one thread.
      console.warn('LiteRT.js threaded build unavailable, using one thread:', error);
      liteRt = await loadLiteRt(WASM_DIRECTORY, {threads: false});
    }
    try {
      runtime.version = (await (await fetch('/node_modules/@litertjs/core/package.json')).json()).version;
    } catch {
      runtime.version = '';
    }
    return liteRt;
  })();
  return liteRtPromise;
}

async function fetchBytes(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`${what} ${url} could not be fetched: ${error.message}`);
  }
  if (!response.ok) throw new Error(`${what} ${url} could not be fetched: HTTP ${response.status}`);
  return {bytes: new Uint8Array(await response.arrayBuffer()), response};
}

function fileNameOf(url, response) {
  const disposition = response?.headers.get('Content-Disposition') ?? '';
  const encoded = disposition.match(/filename\*=UTF-8''([^;]+)/i);
  if (encoded) return decodeURIComponent(encoded[1]);
  const plain = disposition.match(/filename="([^"]+)"/i);
  if (plain) return plain[1];
  return decodeURIComponent(new URL(url, location.href).pathname.split('/').pop() || 'model.tflite');
}

/** Loads a model (a URL, or a File/Blob) and makes it the page's model. */
async function loadModelNow(source) {
  showError('');
  setText('model-status', 'Loading the model…');
  let bytes, fileName;
  if (source instanceof Blob) {
    bytes = new Uint8Array(await source.arrayBuffer());
    fileName = source.name || 'model.tflite';
  } else {
    const fetched = await fetchBytes(source, 'the model');
    bytes = fetched.bytes;
    fileName = fileNameOf(source, fetched.response);
  }
  let info;
  try {
    info = await readTflite(bytes);
  } catch (error) {
    throw new Error(`${fileName} cannot be used: ${error.message}`);
  }
  // The central crop the model wants: its file's word, else MobileNet's (served from the library).
  info.cropFraction = info.preprocessing?.crop_fraction ?? (await defaultPreprocessing()).crop_fraction;
  const liteRt = await loadRuntime();
  let model;
  try {
    model = await liteRt.loadAndCompile(bytes, {accelerator: 'wasm'});
  } catch (error) {
    throw new Error(`${fileName}: LiteRT.js could not load it: ${error.message ?? error}`);
  }
  if (current) current.model.delete();
  const threads = model.options.cpuOptions?.numThreads ?? 1;
  current = {info, model, fileName, threads};
  showModel(current, bytes.length);
  return summary(current);
}

function summary({info, fileName, threads}) {
  return {
    fileName,
    name: info.name,
    resolution: info.resolution,
    inputType: info.input.type,
    outputType: info.output.type,
    outputScale: info.output.scale,
    outputZeroPoint: info.output.zeroPoint,
    numClasses: info.numClasses,
    inputMean: info.inputMean,
    inputStd: info.inputStd,
    labelsFile: info.labelsFile,
    labels: info.labels ? info.labels.length : 0,
    displayNames: info.displayNames ? info.displayNames.length : 0,
    cropFraction: info.cropFraction,
    threads,
    runtime: `LiteRT.js ${runtime.version}`.trim(),
    crossOriginIsolated: self.crossOriginIsolated === true,
  };
}

function loadModel(source) {
  const ready = loadModelNow(source).catch((error) => {
    if (current) current.model.delete();
    current = null;
    setText('model-status', 'No model loaded.');
    showError(error.message);
    throw error;
  });
  ready.catch(() => {});  // the error is on the page; a caller may still await it
  window.modelReady = ready;
  return ready;
}

async function requireModel() {
  await window.modelReady;
  if (!current) throw new Error('no model is loaded');
  return current;
}

/** Decodes an image at its own size (no canvas scaling) into RGBA pixels. */
async function decode(blob, name) {
  let bitmap;
  try {
    // As tf.io.decode_image: no colour management, no alpha premultiplication, the
    // pixels at the image's own size (any scaling is preprocessForEval's).
    bitmap = await createImageBitmap(blob, {colorSpaceConversion: 'none', premultiplyAlpha: 'none'});
  } catch {
    throw new Error(`${name} is not a readable image (JPEG, PNG, BMP, GIF or WebP)`);
  }
  const {width, height} = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', {willReadFrequently: true});
  // As a viewer shows it (mobilenet/data/photo_files.py): the browser has turned it upright by
  // its EXIF orientation, and transparent pixels are laid on white.
  context.fillStyle = 'white';
  context.fillRect(0, 0, width, height);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return {rgba: context.getImageData(0, 0, width, height).data, width, height};
}

async function imageBlob(source) {
  if (source instanceof Blob) return {blob: source, name: source.name || 'the image'};
  const {bytes, response} = await fetchBytes(source, 'the image');
  return {blob: new Blob([bytes], {type: response.headers.get('Content-Type') ?? ''}), name: fileNameOf(source, null)};
}

async function modelInput(source, info) {
  const {blob, name} = await imageBlob(source);
  const {rgba, width, height} = await decode(blob, name);
  return {pixels: preprocessForEval(rgba, width, height, info.resolution, info.cropFraction), blob, name};
}

/** The input tensor's data: raw uint8 pixels, or float32 (pixel - mean) / std computed in float32. */
function inputData(pixels, info) {
  if (info.input.type === 'uint8') return pixels;
  const mean = [].concat(info.inputMean), std = [].concat(info.inputStd);
  const data = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const c = i % 3;
    data[i] = Math.fround(Math.fround(pixels[i] - Math.fround(mean[c % mean.length])) / Math.fround(std[c % std.length]));
  }
  return data;
}

/** Runs the model once; returns the float scores (dequantized) and the time of the run. */
async function infer({model, info}, data) {
  const input = new Tensor(data, info.input.shape);
  let outputs = [];
  try {
    const start = performance.now();
    outputs = await model.run([input]);
    const raw = await outputs[0].data();
    const latencyMs = performance.now() - start;
    const {scale, zeroPoint} = info.output;
    // (q - zero point) * scale in float32, as TFLiteClassifier computes it.
    const scores = info.output.type === 'uint8' && scale
      ? Array.from(raw, (q) => Math.fround(Math.fround(q - zeroPoint) * scale))
      : Array.from(raw);
    return {scores, latencyMs};
  } finally {
    input.delete();
    for (const output of outputs) output.delete();
  }
}

/** Indices of the k best scores; ties go to the lower index, as mobilenet.measure.evaluation counts top-1. */
function topK(scores, k) {
  const order = scores.map((_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return order.slice(0, k);
}

function serially(task) {
  const result = queue.then(task, task);
  queue = result.catch(() => {});
  return result;
}

function classify(source) {
  return serially(async () => {
    try {
      const loaded = await requireModel();
      showError('');
      const {pixels, blob, name} = await modelInput(source, loaded.info);
      const {scores, latencyMs} = await infer(loaded, inputData(pixels, loaded.info));
      const labels = loaded.info.displayNames ?? loaded.info.labels;  // readable names where the file has them
      const results = topK(scores, TOP_K).map((index) => ({
        label: labels && index < labels.length ? labels[index] : String(index),
        index,
        score: scores[index],
      }));
      showResults({name, blob, pixels, results, latencyMs, loaded});
      return {results, latencyMs, scores};
    } catch (error) {
      showError(error.message);
      throw error;
    }
  });
}

function preprocess(source) {
  return serially(async () => {
    const loaded = await requireModel();
    return Array.from((await modelInput(source, loaded.info)).pixels);
  });
}

/** Latency of `runs` inferences after `warmup` untimed ones, on one image's worth of fixed pixels. */
function timeInference({runs = 200, warmup = 20} = {}) {
  return serially(async () => {
    const loaded = await requireModel();
    const size = loaded.info.resolution;
    const pixels = Uint8Array.from({length: size * size * 3}, (_, i) => (i * 37) % 256);
    const data = inputData(pixels, loaded.info);
    const latenciesMs = [];
    for (let i = 0; i < warmup + runs; i++) {
      const {latencyMs} = await infer(loaded, data);
      if (i >= warmup) latenciesMs.push(latencyMs);
    }
    const sorted = [...latenciesMs].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    const medianMs = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    return {latenciesMs, medianMs, threads: loaded.threads};
  });
}

// --- The page ----------------------------------------------------------------------

function setText(id, text) {
  $(id).textContent = text;
}

function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.hidden = !message;
}

function showModel({info, fileName, threads}, size) {
  setText('model-status', `${fileName} is loaded.`);
  const labels = info.labels
    ? `${info.labels.length} names from the file's metadata (${info.labelsFile})`
    : info.labelsFile
      ? `none: the metadata names ${info.labelsFile} but the file does not pack it; class indices shown`
      : "none in the file's metadata; class indices shown";
  const rows = [
    ['File', `${fileName} (${(size / 1e6).toFixed(2)} MB)`],
    ['Model', info.name || '(no metadata)'],
    ['Input', `${info.input.type} [${info.input.shape.join(', ')}]` +
      (info.input.type === 'float32' ? `, (pixel − ${info.inputMean}) / ${info.inputStd}` : ', raw RGB pixels 0..255')],
    ['Output', `${info.output.type} [${info.output.shape.join(', ')}]` +
      (info.output.type === 'uint8' && info.output.scale ? `, scale ${info.output.scale}, zero point ${info.output.zeroPoint}` : '')],
    ['Labels', labels],
    ['Runtime', `LiteRT.js ${runtime.version} (WebAssembly, XNNPACK), ${threads} thread${threads === 1 ? '' : 's'}` +
      (runtime.threadedWasm ? '' : self.crossOriginIsolated ? ' (single-threaded build: this browser has no relaxed SIMD)'
        : ' (single-threaded build: the page is not cross-origin isolated)')],
  ];
  const list = $('model-info');
  list.replaceChildren();
  for (const [term, description] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = description;
    list.append(dt, dd);
  }
  $('threads').textContent = `${threads} thread${threads === 1 ? '' : 's'}`;
}

function showResults({name, blob, pixels, results, latencyMs, loaded}) {
  const preview = $('preview');
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(blob);
  preview.alt = name;
  const size = loaded.info.resolution;
  const canvas = $('model-input');
  canvas.width = canvas.height = size;
  const rgba = new ImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    rgba.data.set(pixels.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba.data[4 * i + 3] = 255;
  }
  canvas.getContext('2d').putImageData(rgba, 0, 0);
  setText('image-name', name);
  const body = $('results').tBodies[0];
  body.replaceChildren();
  for (const {label, index, score} of results) {
    const row = body.insertRow();
    row.insertCell().textContent = label;
    row.insertCell().textContent = index;
    const cell = row.insertCell();
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${Math.max(0, Math.min(1, score)) * 5}rem`;
    cell.append(bar, document.createTextNode(score.toFixed(4)));
  }
  $('results').hidden = false;
  setText('latency', `Inference: ${latencyMs.toFixed(2)} ms on ${loaded.threads} thread${loaded.threads === 1 ? '' : 's'} ` +
    `(LiteRT.js run, input ${size}×${size} ${loaded.info.input.type})`);
}

function openFile(file) {
  if (!file) return;
  if (file.name.toLowerCase().endsWith('.tflite')) {
    loadModel(file);
  } else {
    classify(file).catch(() => {});  // shown on the page
  }
}

function setUpPage() {
  $('file').addEventListener('change', (event) => {
    openFile(event.target.files[0]);
    event.target.value = '';
  });
  const zone = document.body;
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    document.body.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    document.body.classList.remove('dragging');
    openFile(event.dataTransfer.files[0]);
  });
}

window.classify = classify;
window.preprocess = preprocess;
window.timeInference = timeInference;
window.loadModel = loadModel;
setUpPage();
loadModel(new URLSearchParams(location.search).get('model') ?? 'model.tflite');
