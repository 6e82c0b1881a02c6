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
