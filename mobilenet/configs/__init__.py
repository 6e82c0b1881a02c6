"""Training configs: `get_config("default" | "finetune" | "imagenet" | "sweep" | PATH, **fields)`.

Each config module has a `get_config()` returning an `ml_collections.ConfigDict`, as
in the Flax examples; `validate(config)` checks its fields before anything is built.
"""

import importlib
import importlib.util
import os

from mobilenet.errors import ParameterError

NAMES = ("default", "finetune", "imagenet", "sweep")
OPTIMIZERS = ("sgd", "rmsprop")
LR_SCHEDULES = ("cosine", "exponential")
MIXED_PRECISION = ("", "mixed_float16", "mixed_bfloat16")
CLASS_WEIGHTS = ("", "balanced")
# The fields that turn mobilenet.data.augmentation's stages and the EMA of the weights off: the
# recipe before them.
AUGMENTATION_OFF = dict(randaugment_ops=0, color_jitter=0.0, random_erasing=0.0, mixup=False, cutmix=False, ema=False)


def get_config(name="default", **fields):
    """The config `name` (one of NAMES, or the path of a config file), with `fields` set.

    >>> config = get_config("finetune", alpha=0.25, dataset="folder:/data/pets")
    """
    if name in NAMES:
        module = importlib.import_module(f"mobilenet.configs.{name}")
    elif str(name).endswith(".py") and os.path.isfile(name):
        spec = importlib.util.spec_from_file_location("mobilenet_user_config", name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        raise ParameterError(f"{{name}} must be one of {', '.join(NAMES)} or a config file (.py), got {name!r}")
    config = module.get_config()
    for field, value in fields.items():
        if field not in config:
            raise ParameterError(f"{{{field}}} is not a config field; the fields are {', '.join(sorted(config))}",
                                 parameter=field)
        config[field] = value
    return config


def validate(config):
    """Raises ParameterError naming the first field (as `config.FIELD`) with a bad value.

    The model's own fields (alpha, resolution, variant) are checked by its builder and
    the strategy by `distribution.make_strategy`; here are the rest.
    """
    from mobilenet.model import network  # the model's rules live with the model

    checks = [
        ("epochs", config.epochs >= 1, ">= 1"),
        ("batch_size", config.batch_size >= 1, ">= 1"),
        ("eval_batch_size", config.eval_batch_size >= 1, ">= 1"),
        ("learning_rate", config.learning_rate > 0, "> 0"),
        ("crop_area_min", 0 < config.crop_area_min <= 1, "in (0, 1]"),
        ("frozen_learning_rate", config.frozen_learning_rate > 0, "> 0"),
        ("frozen_epochs", config.frozen_epochs >= 0, ">= 0"),
        ("min_steps_per_phase", config.min_steps_per_phase >= 0, ">= 0 (0: one pass over the data an epoch)"),
        ("frozen_below_per_class", config.frozen_below_per_class >= 0, ">= 0 (0: the backbone always unfreezes)"),
        ("optimizer", config.optimizer in OPTIMIZERS, " or ".join(OPTIMIZERS)),
        ("lr_schedule", config.lr_schedule in LR_SCHEDULES, " or ".join(LR_SCHEDULES)),
        ("mixed_precision", config.mixed_precision in MIXED_PRECISION, "'', mixed_float16 or mixed_bfloat16"),
        ("class_weight", config.class_weight in CLASS_WEIGHTS, "'' or balanced"),
        ("checkpoint_every_steps", config.checkpoint_every_steps >= 0, ">= 0 (0: none within an epoch)"),
        ("checkpoint_every_minutes", config.checkpoint_every_minutes >= 0, ">= 0 (0: none within an epoch)"),
        ("label_smoothing", 0 <= config.label_smoothing < 1, "in [0, 1)"),
        ("randaugment_ops", config.randaugment_ops >= 0, ">= 0 (0: off)"),
        ("randaugment_magnitude", 0 <= config.randaugment_magnitude <= 1, "in [0, 1]"),
        ("color_jitter", 0 <= config.color_jitter <= 1, "in [0, 1] (0: off)"),
        ("random_erasing", 0 <= config.random_erasing <= 1, "in [0, 1] (0: off)"),
        ("mixup_alpha", config.mixup_alpha > 0, "> 0"),
        ("cutmix_factor", 0 < config.cutmix_factor <= 1, "in (0, 1]"),
        ("ema_momentum", 0 < config.ema_momentum < 1, "in (0, 1)"),
        ("validation_fraction", 0 < config.validation_fraction < 1, "in (0, 1)"),
        ("distillation_weight", 0 <= config.distillation_weight <= 1, "in [0, 1]"),
        ("distillation_temperature", config.distillation_temperature > 0, "> 0"),
    ]
    for field, ok, valid in checks:
        if not ok:
            raise ParameterError(f"{{config.{field}}} must be {valid}, got {config[field]!r}")
    if config.frozen_epochs and not config.init_from:
        raise ParameterError("{config.frozen_epochs} needs {config.init_from}: there is no pretrained backbone to freeze")
    if config.fit_head and not config.init_from:
        raise ParameterError("{config.fit_head} needs {config.init_from}: there is no pretrained backbone whose "
                             "features to fit the head on")
    if config.adapt_batch_norm and not config.init_from:
        raise ParameterError("{config.adapt_batch_norm} needs {config.init_from}: there are no pretrained statistics "
                             "to adapt")
    network.validate_arguments(config.alpha, config.resolution, variant=config.variant)
