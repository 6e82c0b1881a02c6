"""The default run: MobileNet V1 0.5-160 from scratch on Imagenette (10 ImageNet classes).

`python train.py --alpha 0.5 --resolution 160` runs this. The schedule is tuned for a
small dataset and a short budget: SGD with Nesterov momentum, a cosine learning rate
after a short warm-up, label smoothing, and gentler crops than ImageNet's (at least a
quarter of the image) since 40 epochs of 9,469 images is little data. Keras' augmentation
layers and the EMA of the weights (the fields below) stay off: added one at a time, none beat
this recipe in the ablation (docs/BENCHMARKS.md, "Training recipe: one knob at a time"). What
it reaches and how long an epoch takes on a CPU and on a GPU: docs/BENCHMARKS.md (`make bench`).
"""

import ml_collections

from mobilenet.data import folders


def get_config():
    config = ml_collections.ConfigDict()

    # Model (mobilenet.model.network.mobilenet_v1).
    config.alpha = 0.5
    config.resolution = 160
    config.variant = "standard"
    config.dropout_rate = 0.2
    config.weight_decay = 1e-4
    config.batch_norm_momentum = 0.99
    config.batch_norm_epsilon = 1e-3

    # Data (mobilenet.data).
    config.dataset = "imagenette/160px-v2"
    config.data_dir = ""  # empty: TFDS_DATA_DIR, else ~/tensorflow_datasets
    config.train_split = ""  # empty: chosen from the dataset's splits
    config.eval_split = ""
    config.crop_area_min = 0.25
    # folder:PATH laid out as PATH/<class>/<image>: the share of each class held out for
    # validation, chosen by a hash of each file's path (mobilenet.data.folders).
    config.validation_fraction = folders.VALIDATION_FRACTION

    # Optimisation.
    config.epochs = 40
    config.batch_size = 64  # global: split across replicas
    config.optimizer = "sgd"  # sgd (Nesterov momentum) | rmsprop
    config.learning_rate = 0.1
    config.momentum = 0.9
    config.rmsprop_rho = 0.9  # rmsprop only
    config.rmsprop_epsilon = 1.0
    config.lr_schedule = "cosine"  # cosine | exponential
    config.warmup_epochs = 2.0  # may be a fraction
    config.lr_decay_rate = 0.94  # exponential only: decay per lr_decay_epochs
    config.lr_decay_epochs = 2.5
    config.label_smoothing = 0.1

    # Augmentation and regularisation in the training pipeline (mobilenet.data.augmentation:
    # Keras' own layers); each one's worth on Imagenette is in docs/BENCHMARKS.md (ablation).
    config.randaugment_ops = 0  # RandAugment ops per image; 0: off
    config.randaugment_magnitude = 0.5  # keras.layers.RandAugment's factor, in [0, 1]
    config.color_jitter = 0.0  # strength in [0, 1] of brightness, contrast and saturation jitter; 0: off
    config.random_erasing = 0.0  # probability that an image gets a random rectangle erased; 0: off
    config.mixup = False  # MixUp of image pairs and their labels; with cutmix, one of the two per batch
    config.mixup_alpha = 0.2  # its Beta(alpha, alpha) mixing weights; > 0
    config.cutmix = False  # CutMix: a patch of another image, labels mixed by area
    config.cutmix_factor = 1.0  # keras.layers.CutMix's factor, in (0, 1]
    config.ema = False  # evaluate, checkpoint and export an exponential moving average of the weights
    # Its momentum per step, in (0, 1): the average spans about 1 / (1 - momentum) steps, and
    # starts at the initial weights, so keep that well under the run's steps.
    config.ema_momentum = 0.999
    config.class_weight = ""  # "" (every image alike) | "balanced" (loss weighted by inverse class frequency)

    # Transfer learning: "" (from scratch), "imagenet" (Keras' ImageNet weights for this
    # alpha and resolution) or a .h5 / .keras file; its backbone is loaded, the head is new.
    config.init_from = ""
    config.frozen_epochs = 0  # epochs with the backbone frozen before fine-tuning it all
    config.frozen_learning_rate = 0.1  # for the new head while the backbone is frozen;
    # learning_rate then fine-tunes every layer.
    # Before anything trains, the pretrained batch norms' moving statistics are measured anew on
    # this data (their ImageNet ones describe other images): the new head then learns on the
    # features the unfrozen network will see (docs/BENCHMARKS.md, fine-tuning).
    config.adapt_batch_norm = False
    # Then, before anything trains, the new head is fitted to convergence on the frozen
    # backbone's features of the training images (mobilenet.training.linear_head): a
    # logistic regression that cannot diverge, however few the photos.
    config.fit_head = False
    # With fewer training images than this in a class, the backbone never unfreezes (0: no such rule).
    config.frozen_below_per_class = 0
    # Each phase takes at least this many optimizer steps: with a few dozen photos an epoch is a
    # step or two, and a schedule in epochs would end before it began; 0 for one pass an epoch.
    config.min_steps_per_phase = 0

    # Knowledge distillation (mobilenet.training.distillation): a .keras classifier of the
    # same classes whose scores the student also learns, weighted by distillation_weight, at
    # distillation_temperature; "" for none. The weight and temperature are the best of those
    # tried on an α 0.25 student (docs/BENCHMARKS.md, "Knowledge distillation").
    config.teacher = ""
    config.distillation_weight = 0.9
    config.distillation_temperature = 2.0

    # Checkpoints within an epoch (each finished epoch has one): every N steps, or every M
    # minutes of training; 0 for none. Imagenette's epochs end before 10 minutes on a CPU;
    # an ImageNet epoch (hours on a CPU) gets one every 10 minutes. SIGTERM and SIGINT
    # always stop training with a checkpoint after the step in progress.
    config.checkpoint_every_steps = 0
    config.checkpoint_every_minutes = 10.0

    # Machine.
    config.seed = 0
    config.strategy = "default"  # default | mirrored | multi_worker | tpu
    config.mixed_precision = ""  # "" | mixed_float16 (GPU) | mixed_bfloat16 (TPU)
    config.eval_batch_size = 128
    return config
