"""Transfer learning: Keras' ImageNet MobileNet backbone, a new head for your classes.

  python train.py --config configs/finetune.py --alpha 0.25 --dataset folder:photos

Before anything trains, the backbone's batch-norm statistics are measured on your images
(adapt_batch_norm), and the new head is fitted to convergence on the frozen backbone's
features of your training images (fit_head: a logistic regression, its strength chosen by
cross-validation; it cannot diverge, however few the photos). Then every layer is fine-tuned,
gently (with fewer than a dozen photos in a class, the head alone), on the plain cross-entropy
the head was fitted with (no label smoothing), its learning rate warmed up over the first
epoch, the batch-norm statistics following the weights within an epoch (batch_norm_momentum
0.9). Each run takes at least min_steps_per_phase optimizer steps, so that 10 epochs of a few
dozen photos are not 10 steps, and a batch larger than your training images is cut to them.
Why, and what it gives from 10 to 200 photos a class against a linear probe:
docs/BENCHMARKS.md ("Fine-tuning on few photos").
`init_from` "imagenet" downloads Keras' weights for the chosen alpha; without network, point it
at a weights file:
--init_from ../shared/models/keras_applications/mobilenet_2_5_224_tf_no_top.h5
"""

from mobilenet.configs import default


def get_config():
    config = default.get_config()
    config.alpha = 0.25
    config.init_from = "imagenet"
    config.adapt_batch_norm = True
    config.fit_head = True
    config.batch_norm_momentum = 0.9
    config.frozen_epochs = 0  # the head is fitted, not trained by SGD on a frozen backbone
    # Below a dozen training photos in a class every layer's fine-tuning lost held-out accuracy
    # against the fitted head: the backbone stays frozen, and the head alone goes on learning
    # from the augmented photos, from its fitted start (docs/BENCHMARKS.md).
    config.frozen_below_per_class = 12
    config.frozen_learning_rate = 0.01
    # 10 epochs of at least 30 steps each (min_steps_per_phase): an epoch's training loss then
    # averages enough augmented batches to show the trend rather than a few batches' luck. Up to
    # 1,000 training photos it trains step for step as 20 epochs of 15 did (docs/BENCHMARKS.md).
    # On thousands of photos an epoch is one pass, and twice the epochs still gained a little on
    # Imagenette: docs/BENCHMARKS.md, "Fine-tuning on a large dataset".
    config.epochs = 10
    config.min_steps_per_phase = 300
    config.learning_rate = 0.005  # every layer, gently, not to undo the ImageNet features
    config.warmup_epochs = 1
    # No label smoothing: the fitted head minimises the plain cross-entropy, and fine-tuning goes
    # on with the loss it started from (smoothing first undoes the head's confident logits). It
    # was worth about a point held-out at 100 and 200 photos a class: docs/BENCHMARKS.md.
    config.label_smoothing = 0.0
    # What is validated, kept and exported is the moving average of the weights over about the
    # last 50 steps, which starts from the pretrained backbone and the fitted head. Over three
    # seeds its int8 files held out about as well as the last step's weights at 20 and 100
    # photos a class, and a little better at 40 and 200 (docs/BENCHMARKS.md, "Fine-tuning on
    # few photos").
    config.ema = True
    config.ema_momentum = 0.98
    # The default's augmentation and dropout are kept (lighter ones trailed on validation), with
    # none of Keras' augmentation layers (none beat the default recipe in the ablation):
    # docs/BENCHMARKS.md.
    return config
