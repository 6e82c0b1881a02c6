// The project's evaluation preprocessing, bit for bit, on decoded RGBA pixels.
//
// mobilenet/data/input_pipeline.py::preprocess_for_eval (what `mobilenet predict`, the
// evaluation and the calibration use) does, in TensorFlow:
//   tf.image.central_crop(image, fraction)                offsets truncated, computed in float64
//   tf.image.resize(image, (n, n), method="bilinear")     half_pixel_centers=True, antialias=False, float32
//   tf.cast(tf.clip_by_value(tf.round(x), 0, 255), uint8) round half to even
// This module does the same arithmetic. TensorFlow's bilinear kernel
// (tensorflow/core/kernels/image/resize_bilinear_op.cc) computes in float32, so every
// step below is rounded to float32 with Math.fround: a sum or product of two float32
// values computed in float64 and rounded once is the float32 result, so the pixels are
// the same bytes as TensorFlow's, which tests/test_web.py checks.

const f32 = Math.fround;

/** The central crop tf.image.central_crop(image, fraction) keeps: {top, left, height, width}. */
export function centralCropBox(height, width, fraction) {
  const top = Math.trunc((height - height * fraction) / 2);
  const left = Math.trunc((width - width * fraction) / 2);
  return {top, left, height: height - 2 * top, width: width - 2 * left};
}

/** Per output index: the two source indices and the weight of the second, as TensorFlow caches them. */
function interpolation(outSize, inSize) {
  const scale = f32(inSize / outSize);
  const lower = new Int32Array(outSize);
  const upper = new Int32Array(outSize);
  const lerp = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const position = f32(f32(f32(i + 0.5) * scale) - 0.5);  // HalfPixelScaler
    const floor = Math.floor(position);
    lower[i] = Math.max(floor, 0);
    upper[i] = Math.min(Math.ceil(position), inSize - 1);
    lerp[i] = f32(position - floor);
  }
  return {lower, upper, lerp};
}

/** tf.round: half to even. */
function roundHalfEven(x) {
  const r = Math.round(x);  // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * RGB uint8 pixels (size x size x 3, row-major) of the central `cropFraction` of an image
 * (the model's, from its file or MobileNet's default), resized as preprocess_for_eval does. `rgba` holds width x height RGBA pixels
 * (ImageData.data); alpha is dropped, as tf.io.decode_image(channels=3) drops it.
 */
export function preprocessForEval(rgba, width, height, size, cropFraction) {
  if (!(width > 0 && height > 0)) throw new Error(`the image has no pixels (${width}x${height})`);
  const crop = centralCropBox(height, width, cropFraction);
  const ys = interpolation(size, crop.height);
  const xs = interpolation(size, crop.width);
  const out = new Uint8Array(size * size * 3);
  const pixel = (y, x, c) => rgba[((crop.top + y) * width + crop.left + x) * 4 + c];
  for (let y = 0; y < size; y++) {
    const y0 = ys.lower[y], y1 = ys.upper[y], yLerp = ys.lerp[y];
    for (let x = 0; x < size; x++) {
      const x0 = xs.lower[x], x1 = xs.upper[x], xLerp = xs.lerp[x];
      for (let c = 0; c < 3; c++) {
        const topLeft = pixel(y0, x0, c), topRight = pixel(y0, x1, c);
        const bottomLeft = pixel(y1, x0, c), bottomRight = pixel(y1, x1, c);
        const top = f32(topLeft + f32(f32(topRight - topLeft) * xLerp));
        const bottom = f32(bottomLeft + f32(f32(bottomRight - bottomLeft) * xLerp));
        const value = f32(top + f32(f32(bottom - top) * yLerp));
        out[(y * size + x) * 3 + c] = Math.min(255, Math.max(0, roundHalfEven(value)));
      }
    }
  }
  return out;
}

/**
 * The EXIF orientation (1..8) of a JPEG, 1 when it has none. Browsers turn an image
 * upright by it when they decode; TensorFlow's decoders (and so the project's
 * convention) ignore it, and undoOrientation turns the pixels back.
 */
export function jpegOrientation(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0xffd8) return 1;
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    if (marker === 0xda || marker === 0xd9) break;  // start of scan, end of image
    const length = view.getUint16(at + 2);
    if (marker === 0xe1 && at + 10 <= bytes.length && String.fromCharCode(...bytes.subarray(at + 4, at + 10)) === 'Exif\0\0') {
      return tiffOrientation(view, at + 10, Math.min(bytes.length, at + 2 + length));
    }
    at += 2 + length;
  }
  return 1;
}

function tiffOrientation(view, tiff, end) {
  if (tiff + 8 > end) return 1;
  const little = view.getUint16(tiff) === 0x4949;  // "II"
  const ifd = tiff + view.getUint32(tiff + 4, little);
  if (ifd + 2 > end) return 1;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries && ifd + 2 + 12 * (i + 1) <= end; i++) {
    const entry = ifd + 2 + 12 * i;
    if (view.getUint16(entry, little) === 0x0112) {
      const orientation = view.getUint16(entry + 8, little);
      return orientation >= 1 && orientation <= 8 ? orientation : 1;
    }
  }
  return 1;
}

/**
 * The stored (un-rotated) RGBA pixels of an image a browser decoded upright by EXIF
 * `orientation`: {rgba, width, height}. `rgba` is width x height as displayed.
 */
export function undoOrientation(rgba, width, height, orientation) {
  if (orientation <= 1 || orientation > 8) return {rgba, width, height};
  const transposed = orientation >= 5;
  const storedWidth = transposed ? height : width, storedHeight = transposed ? width : height;
  const out = new Uint8ClampedArray(rgba.length);
  const W = storedWidth, H = storedHeight;
  for (let sy = 0; sy < H; sy++) {
    for (let sx = 0; sx < W; sx++) {
      let dx, dy;
      switch (orientation) {
        case 2: dx = W - 1 - sx; dy = sy; break;
        case 3: dx = W - 1 - sx; dy = H - 1 - sy; break;
        case 4: dx = sx; dy = H - 1 - sy; break;
        case 5: dx = sy; dy = sx; break;
        case 6: dx = H - 1 - sy; dy = sx; break;
        case 7: dx = H - 1 - sy; dy = W - 1 - sx; break;
        default: dx = sy; dy = W - 1 - sx; break;  // 8
      }
      const from = (dy * width + dx) * 4, to = (sy * W + sx) * 4;
      out[to] = rgba[from];
      out[to + 1] = rgba[from + 1];
      out[to + 2] = rgba[from + 2];
      out[to + 3] = rgba[from + 3];
    }
  }
  return {rgba: out, width: W, height: H};
}
