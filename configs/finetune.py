"""Transfer learning: Keras' ImageNet MobileNet backbone, a new head for your classes.

  python train.py --config configs/finetune.py --alpha 0.25 --dataset tf_flowers

The backbone is frozen while the new head learns (frozen_epochs), then everything is
fine-tuned at a learning rate 20 times lower. On Imagenette (α 0.25, ρ 160) the 20 epochs
take about 20 minutes on 2 CPU cores (docs/BENCHMARKS.md has the curve). `init_from`
"imagenet" downloads Keras' weights for the chosen alpha; without network, point it at a
weights file:
--init_from ../shared/models/keras_applications/mobilenet_2_5_224_tf_no_top.h5
"""

from configs import default


def get_config():
    config = default.get_config()
    config.alpha = 0.25
    config.init_from = "imagenet"
    config.frozen_epochs = 5
    config.frozen_learning_rate = 0.1  # the new head alone
    config.epochs = 20
    config.learning_rate = 0.005  # then every layer, gently, not to undo the ImageNet features
    config.warmup_epochs = 0
    # The batch norms fine-tune with the rest: kept at their ImageNet statistics (inference
    # mode), the network fell to chance within the first fine-tuning epoch on Imagenette.
    # Lighter augmentation (crops of at least 80 %) and no dropout fit the training images
    # better but trailed on validation by up to 2 points; this keeps the default's.
    return config
