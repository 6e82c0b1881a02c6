"""mobilenet.training.weight_averaging: the EMA of the weights, saved with batch-norm statistics of its own."""


import keras
import numpy as np
import pytest

from mobilenet.data import datasets, input_pipeline
from mobilenet.errors import ParameterError
from mobilenet.model import network as model_lib
from mobilenet.training import batch_norm, loop as training, weight_averaging
from mobilenet.training.recorder import kept_epoch
from mobilenet.training.run_directory import RunDirectory

from helpers import tiny_config

# A low momentum: the averages move apart from the weights within two tiny epochs.
EMA = dict(ema=True, ema_momentum=0.9)


class WeightsAtValidation(keras.callbacks.Callback):
    """What a user's callback finds in the model while the last validation runs."""

    def on_test_begin(self, logs=None):
        self.weights = self.model.get_weights()


@pytest.fixture(scope="module")
def ema_run(image_folder, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ema")
    config = tiny_config(f"folder:{image_folder}", **EMA)
    seen = WeightsAtValidation()
    training.train(config, str(workdir), callbacks=[seen])
    return workdir, config, seen.weights


def checkpoint(workdir, epoch):
    """The checkpoint after `epoch`: the trained weights, the averages in its optimizer."""
    return keras.saving.load_model(workdir / "checkpoints" / f"epoch_{epoch:04d}.keras", safe_mode=True)


def statistics_batches(config):
    keras.utils.set_random_seed(config.seed)  # as training sets it: TensorFlow combines it with the shuffle's seed
    dataset = datasets.load_dataset(config.dataset)
    return input_pipeline.train_images(dataset, config.resolution, config.batch_size, config.seed,
                                       (config.crop_area_min, 1.0))


def arrays(variables):
    return [np.array(variable) for variable in variables]


@pytest.mark.slow  # trains with EMA
def test_the_averaged_weights_differ_from_the_trained_ones_and_are_those_saved(ema_run):
    workdir, _, _ = ema_run
    kept = kept_epoch(RunDirectory(str(workdir)).read_history())
    for saved, epoch in (("final.keras", 2), ("best.keras", kept)):
        model = checkpoint(workdir, epoch)
        averages, trained = arrays(model.optimizer._model_variables_moving_average), arrays(model.trainable_weights)
        assert any(not np.allclose(a, t) for a, t in zip(averages, trained))
        saved_weights = arrays(model_lib.load_model(str(workdir / saved)).trainable_weights)
        assert all(np.array_equal(s, a) for s, a in zip(saved_weights, averages)), saved


@pytest.mark.slow  # trains with EMA
def test_a_callback_finds_the_averaged_weights_in_the_model_while_validation_runs(ema_run):
    """The last epoch's validation sees what final.keras holds: the averages and their statistics."""
    workdir, _, seen = ema_run
    saved = model_lib.load_model(str(workdir / "final.keras")).get_weights()
    assert len(saved) == len(seen)
    assert all(np.array_equal(s, w) for s, w in zip(saved, seen))


@pytest.mark.slow  # trains with EMA
def test_the_saved_batch_norm_statistics_are_those_of_the_averaged_network(ema_run):
    """The first batch norm's mean and variance in final.keras are those of its input, the
    stem convolution with the averaged weights, over the statistics batches; not the ones
    training left, which belong to the trained weights."""
    workdir, config, _ = ema_run
    saved = model_lib.load_model(str(workdir / "final.keras"))
    norm = next(layer for layer in saved.layers if isinstance(layer, keras.layers.BatchNormalization))
    stem = keras.Model(saved.inputs, norm.input)
    features = [np.array(stem(images), dtype=np.float64)
                for images, _ in statistics_batches(config).take(batch_norm.BATCHES)]
    mean = np.mean([batch.mean(axis=(0, 1, 2)) for batch in features], axis=0)
    variance = np.mean([batch.reshape(-1, batch.shape[-1]).var(axis=0, ddof=1) for batch in features], axis=0)
    assert np.allclose(norm.moving_mean, mean, rtol=1e-3, atol=1e-5)
    assert np.allclose(norm.moving_variance, variance, rtol=1e-3, atol=1e-5)
    trained = checkpoint(workdir, 2).get_layer(norm.name)
    assert not np.allclose(trained.moving_mean, mean, rtol=1e-3, atol=1e-5)


@pytest.mark.slow  # trains with EMA
def test_swapped_in_gives_the_trained_weights_and_statistics_back_exactly(ema_run):
    workdir, config, _ = ema_run
    model = checkpoint(workdir, 2)
    before = arrays(model.variables)
    averaged = weight_averaging.AveragedWeights(model, lambda: statistics_batches(config))
    with averaged.swapped_in():
        inside = arrays(model.variables)
    after = arrays(model.variables)
    assert any(not np.array_equal(b, i) for b, i in zip(before, inside))
    assert all(np.array_equal(b, a) for b, a in zip(before, after))


def test_without_ema_swapped_in_leaves_the_model_as_it_is(image_folder):
    config = tiny_config(f"folder:{image_folder}")
    model = training.build_model(config, num_classes=3)
    training.compile_model(model, config, config.learning_rate, total_steps=10, steps_per_epoch=5)
    before = arrays(model.variables)
    with weight_averaging.AveragedWeights(model, lambda: statistics_batches(config)).swapped_in():
        assert all(np.array_equal(b, a) for b, a in zip(before, arrays(model.variables)))


@pytest.mark.slow  # trains with EMA
def test_ema_cannot_be_switched_in_the_middle_of_a_run(image_folder, ema_run):
    workdir, _, _ = ema_run
    config = tiny_config(f"folder:{image_folder}", **dict(EMA, ema=False, epochs=3))
    with pytest.raises(ParameterError, match=r"^config.ema is False, but this run's checkpoints were trained with ema True"):
        training.train(config, str(workdir))
