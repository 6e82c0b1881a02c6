"""ImageNet from scratch with the paper's recipe (§3.2) and the original release's settings.

The config itself lives in mobilenet/configs/imagenet.py, so that an installed package has it too.
"""

from mobilenet.configs.imagenet import get_config  # noqa: F401
