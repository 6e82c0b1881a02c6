"""Transfer learning: Keras' ImageNet MobileNet backbone, a new head for your classes.

  python train.py --config configs/finetune.py --alpha 0.25 --dataset folder:photos

Before anything trains, the backbone's batch-norm statistics are measured on your images
(adapt_batch_norm); the new head then learns on the frozen backbone (frozen_epochs), and
everything is fine-tuned at a learning rate 20 times lower. Each phase warms its learning
rate up over its first 2 epochs (a fresh optimizer meets weights it has not seen), and the
batch-norm statistics follow the weights within an epoch (batch_norm_momentum 0.9). So
validation no longer falls when the backbone unfreezes, on a small folder as on
Imagenette: the curves before and after, and why, are in docs/BENCHMARKS.md
("Fine-tuning: when the backbone unfreezes"). `init_from` "imagenet" downloads Keras' weights for the chosen alpha; without
network, point it at a weights file:
--init_from ../shared/models/keras_applications/mobilenet_2_5_224_tf_no_top.h5
"""

from mobilenet.configs import default


def get_config():
    config = default.get_config()
    config.alpha = 0.25
    config.init_from = "imagenet"
    config.adapt_batch_norm = True
    config.batch_norm_momentum = 0.9
    config.frozen_epochs = 5
    config.frozen_learning_rate = 0.1  # the new head alone
    config.epochs = 20
    config.learning_rate = 0.005  # then every layer, gently, not to undo the ImageNet features
    config.warmup_epochs = 2  # in each phase
    # The default's augmentation and dropout are kept (lighter ones trailed on validation),
    # with none of Keras' augmentation layers or the EMA of the weights (none beat the
    # default recipe in the ablation): docs/BENCHMARKS.md.
    return config
