"""The default run: MobileNet V1 0.5-160 from scratch on Imagenette (10 ImageNet classes).

The config itself lives in mobilenet/configs/default.py, so that an installed package has it too.
"""

from mobilenet.configs.default import get_config  # noqa: F401
