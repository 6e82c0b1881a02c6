"""The new head fitted on the frozen backbone's features: a logistic regression solved to
convergence, its strength chosen by cross-validation, set into the model's classifier."""

import numpy as np

from mobilenet.data import datasets, input_pipeline
from mobilenet.model import network, transfer
from mobilenet.training import linear_head


def test_the_regression_converges_and_the_strength_is_chosen_on_held_out_images():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 120)
    x = rng.normal(size=(120, 8)) + 2.0 * np.eye(3, 8)[y]
    weights, bias = linear_head._fit(x, y, 3, 1e-3)
    logits = x @ weights + bias
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    gradient = x.T @ (probabilities - np.eye(3)[y]) / len(x) + 1e-3 * weights
    assert np.abs(gradient).max() < 1e-4  # at the optimum
    assert np.mean(logits.argmax(1) == y) > 0.8
    assert linear_head.choose_strength(x, y, 3) in linear_head.STRENGTHS


def test_fit_sets_a_head_that_classifies_the_training_images(shared, image_folder):
    model = network.mobilenet_v1(0.25, 64, num_classes=3)
    transfer.load_backbone_weights(model, str(shared / "models/keras_applications/mobilenet_2_5_224_tf_no_top.h5"),
                                   0.25, 64)
    dataset = datasets.load_dataset(f"folder:{image_folder}")
    before = model.get_layer(linear_head.HEAD_LAYER).get_weights()[0].copy()
    assert linear_head.fit(model, dataset, batch_size=16) in linear_head.STRENGTHS
    assert not np.array_equal(model.get_layer(linear_head.HEAD_LAYER).get_weights()[0], before)
    pixels, labels = next(iter(input_pipeline.eval_images(dataset, 64, 64, split=dataset.train_split)))
    # The features' own classes (colours): the fitted head, read through the whole model, gets them.
    assert np.mean(model.predict_on_batch(pixels).argmax(1) == labels.numpy()) >= 0.9
