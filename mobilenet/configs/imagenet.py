"""ImageNet from scratch with the paper's recipe (§3.2) and the original release's settings.

RMSprop (decay 0.9, momentum 0.9, epsilon 1.0), learning rate decayed by 0.94 every 2.5
epochs, weight decay 4e-5 on full and pointwise convolutions only, batch-norm momentum
0.997 and epsilon 1e-3, no label smoothing, dropout 1e-3, Inception crops (8-100 % of the
image) and flips, nothing more (whatever the default recipe adds). ImageNet must be prepared by TFDS first (a manual download). Meant for
accelerators: `--config.strategy=mirrored --config.mixed_precision=mixed_float16`.
"""

from mobilenet import configs
from mobilenet.configs import default


def get_config():
    config = default.get_config()
    config.alpha = 1.0
    config.resolution = 224
    config.dropout_rate = 1e-3
    config.weight_decay = 4e-5
    config.batch_norm_momentum = 0.997
    config.dataset = "imagenet2012"
    config.crop_area_min = 0.08
    config.epochs = 120
    config.batch_size = 96  # scale batch_size and learning_rate together for more replicas
    config.optimizer = "rmsprop"
    config.learning_rate = 0.045
    config.lr_schedule = "exponential"
    config.warmup_epochs = 0
    config.label_smoothing = 0.0
    config.update(configs.AUGMENTATION_OFF)
    return config
