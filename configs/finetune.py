"""Transfer learning: Keras' ImageNet MobileNet backbone, a new head for your classes.

The config itself lives in mobilenet/configs/finetune.py, so that an installed package has it too.
"""

from mobilenet.configs.finetune import get_config  # noqa: F401
