"""One model of the α × ρ sweep (mobilenet.selection): the default recipe, shortened.

The config itself lives in mobilenet/configs/sweep.py, so that an installed package has it too.
"""

from mobilenet.configs.sweep import get_config  # noqa: F401
