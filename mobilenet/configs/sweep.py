"""One model of the α × ρ sweep (mobilenet.selection): the default recipe, shortened.

Every model of the grid gets the same schedule, so that their accuracies compare: a
small-scale analogue of the paper's Tables 6-7, not their converged accuracy (a model's
time grows with its mult-adds, α²ρ²). Two epochs are a quick look that ranks the models by
how fast they learn; `make sweep` trains the paper grid for 3 epochs and again, from
scratch, for 6 (--doubled), and docs/sweep.md says whether the ranking held."""

from mobilenet import configs
from mobilenet.configs import default


def get_config():
    config = default.get_config()
    config.epochs = 2
    config.warmup_epochs = 0.3
    # Moving statistics must catch up with the weights within a few hundred steps.
    config.batch_norm_momentum = 0.9
    config.crop_area_min = 0.35
    # None of Keras' augmentation layers or the EMA, whatever the default recipe carries: on short
    # schedules they cost accuracy (docs/BENCHMARKS.md, ablation), and the sweep's are short.
    config.update(configs.AUGMENTATION_OFF)
    return config
