"""Transfer learning: Keras' ImageNet MobileNet backbone, a new head for your classes.

  python train.py --config configs/finetune.py --alpha 0.25 --dataset tf_flowers

The backbone is frozen while the new head learns (frozen_epochs), then everything is
fine-tuned at a learning rate 20 times lower. `init_from` "imagenet" downloads Keras' weights for
the chosen alpha; without network, point it at a weights file:
--init_from ../shared/models/keras_applications/mobilenet_2_5_224_tf_no_top.h5
"""

from configs import default


def get_config():
    config = default.get_config()
    config.alpha = 0.25
    config.init_from = "imagenet"
    config.frozen_epochs = 3
    config.frozen_learning_rate = 0.1  # the new head alone
    config.epochs = 12
    config.learning_rate = 0.005  # then every layer, gently, not to undo the ImageNet features
    config.warmup_epochs = 0
    # Pretrained features need less regularisation than a network learning from scratch.
    config.dropout_rate = 0.1
    config.crop_area_min = 0.5
    return config
