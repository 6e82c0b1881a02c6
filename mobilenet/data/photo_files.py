"""Photo files as a viewer shows them: turned upright by their EXIF orientation, and
transparent pixels laid on white.

Phones store a photo taken sideways as the sensor saw it, with an EXIF tag that says how to
turn it; every photo viewer, browser and gallery applies the tag, TensorFlow's decoders do
not. A PNG or WebP with transparency holds, under its transparent pixels, whatever colour its
maker left there; a viewer shows the page behind them (here: white, as Pillow's and the web
page's compositing do). So a file of either kind is read with Pillow, fixed, and handed on
as a lossless PNG; every other file is passed on as it is, bytes unchanged, and decoded by
TensorFlow (mobilenet.data.input_pipeline) as before. Wherever the project reads an image
file (a folder dataset, `predict`) it reads it through here; TFDS datasets are read as TFDS
gives them.
"""

import io

from PIL import Image, ImageOps

EXIF_ORIENTATION = 0x0112  # the tag; 1 is upright, 2-8 are the seven turns and mirrors
BACKGROUND = (255, 255, 255)


def needs_fixing(path):
    """Whether a viewer would show the file otherwise than its pixels decode: an EXIF
    orientation other than upright, or transparency. Reads only the file's header; False for a
    file Pillow cannot open (TensorFlow's decoders judge it)."""
    try:
        with Image.open(path) as image:
            orientation = image.getexif().get(EXIF_ORIENTATION, 1)
            return orientation not in (0, 1) or _has_transparency(image)
    except (OSError, ValueError, Image.DecompressionBombError):
        return False


def _has_transparency(image):
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def as_viewed(path):
    """The file's pixels as a viewer shows them, as PNG bytes (RGB): turned upright and laid
    on white."""
    with Image.open(path) as image:
        upright = ImageOps.exif_transpose(image)
        if _has_transparency(upright):
            rgba = upright.convert("RGBA")
            flat = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
            upright = Image.alpha_composite(flat, rgba)
        buffer = io.BytesIO()
        upright.convert("RGB").save(buffer, format="PNG")
        return buffer.getvalue()


def read(path):
    """The bytes to decode for the image file at `path`: the file's own, or `as_viewed` for
    one that `needs_fixing`."""
    if needs_fixing(path):
        return as_viewed(path)
    with open(path, "rb") as file:
        return file.read()
