"""One model of the α × ρ sweep (mobilenet.sweep): the default recipe, shortened.

Every model of the grid gets the same schedule, so that their accuracies compare. On a
2-core CPU the 16 models of `make sweep` (α 0.25-1.0, ρ 128-224) at 2 epochs each take
about two hours (the smallest model 1 minute, 1.0-224 about 12): a small-scale analogue of the
paper's Tables 6-7, not their converged accuracy. With a GPU, give --epochs 40 (the default run's
schedule) for accuracies that are near convergence.
"""

from configs import default


def get_config():
    config = default.get_config()
    config.epochs = 2
    config.warmup_epochs = 0.3
    # Moving statistics must catch up with the weights within a few hundred steps.
    config.batch_norm_momentum = 0.9
    config.crop_area_min = 0.35
    return config
