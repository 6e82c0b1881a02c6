"""Transfer learning: Keras' ImageNet MobileNet backbone, a new head for your classes.

  python train.py --config configs/finetune.py --alpha 0.25 --dataset tf_flowers

The backbone is frozen while the new head learns (frozen_epochs), then everything is
fine-tuned at a learning rate 20 times lower. docs/BENCHMARKS.md has its curve and time on
Imagenette (α 0.25, ρ 160). `init_from`
"imagenet" downloads Keras' weights for the chosen alpha; without network, point it at a
weights file:
--init_from ../shared/models/keras_applications/mobilenet_2_5_224_tf_no_top.h5
"""

from mobilenet.configs import default


def get_config():
    config = default.get_config()
    config.alpha = 0.25
    config.init_from = "imagenet"
    config.frozen_epochs = 5
    config.frozen_learning_rate = 0.1  # the new head alone
    config.epochs = 20
    config.learning_rate = 0.005  # then every layer, gently, not to undo the ImageNet features
    config.warmup_epochs = 0
    # The batch norms fine-tune with the rest (kept at their ImageNet statistics, the network
    # fell to chance on Imagenette), and the default's augmentation and dropout are kept
    # (lighter ones trailed on validation), with none of Keras' augmentation layers or the
    # EMA of the weights (none beat the default recipe in the ablation): docs/BENCHMARKS.md.
    return config
