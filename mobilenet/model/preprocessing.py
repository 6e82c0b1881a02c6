"""How MobileNet V1 takes its pixels, stated once (as timm's `pretrained_cfg` does).

The network takes raw RGB pixels p in [0, 255] and scales them itself to p * SCALE + OFFSET,
in [-1, 1]; it is evaluated on the central CROP_FRACTION of a picture resized to its input
side (the Inception and MobileNet papers' evaluation crop). `Preprocessing` travels with a
model: the network builds its first layer from it, the data pipelines crop with it, and every
`.tflite` made here carries it in its metadata (mobilenet.flatbuffer.metadata), where the
card, `predict` and the web page read it. A file that does not carry it (Google's) is taken
to want the defaults.
"""

import dataclasses

CROP_FRACTION = 0.875
SCALE = 1 / 127.5
OFFSET = -1.0


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """A model's input: its side in pixels, the central crop it is evaluated on, and the
    scaling from raw pixels to the values its first convolution sees."""

    resolution: int
    crop_fraction: float = CROP_FRACTION
    scale: float = SCALE
    offset: float = OFFSET

    def to_json(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, fields, resolution):
        """The Preprocessing a file's metadata states; the defaults at `resolution` (its input
        side) for what it leaves out."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{"resolution": resolution, **{key: value for key, value in (fields or {}).items() if key in known}})

    def describe(self):
        """One sentence for a person: how a picture becomes the model's input."""
        return (f"the central {100 * self.crop_fraction:g} % of the picture, resized (bilinear) to "
                f"{self.resolution} x {self.resolution} RGB pixels 0..255; the model scales them to "
                f"p * {self.scale:.6g} {'+' if self.offset >= 0 else '-'} {abs(self.offset):g} itself")
