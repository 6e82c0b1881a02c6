"""Transfer learning: Keras' ImageNet MobileNet backbone, a new head for your classes.

  python train.py --config configs/finetune.py --alpha 0.25 --dataset tf_flowers

The backbone is frozen while the new head learns (frozen_epochs), then everything is
fine-tuned at a low learning rate. `init_from` "imagenet" downloads Keras' weights for
the chosen alpha; without network, point it at a weights file:
--init_from ../shared/models/keras_applications/mobilenet_2_5_224_tf_no_top.h5
"""

from configs import default


def get_config():
    config = default.get_config()
    config.alpha = 0.25
    config.init_from = "imagenet"
    config.frozen_epochs = 3
    config.epochs = 10
    config.learning_rate = 0.02
    config.warmup_epochs = 0
    config.dropout_rate = 0.2
    return config
