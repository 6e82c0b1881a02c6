"""The builder makes keras.applications' MobileNet, layer for layer, for every α and ρ."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mobilenet.model import network as model_lib
from mobilenet.model.network import mobilenet_v1

PAPER_ALPHAS = (0.25, 0.5, 0.75, 1.0)
PAPER_RESOLUTIONS = (128, 160, 192, 224)


def keras_applications_mobilenet(alpha, resolution, **kwargs):
    return keras.applications.MobileNet(
        input_shape=(resolution, resolution, 3), alpha=alpha, weights=None, **kwargs
    )


def randomize_batch_norm_statistics(model, seed=0):
    """Gives every batch norm non-trivial statistics, so that a wrong BN would show."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([
                rng.uniform(0.5, 1.5, gamma.shape),
                rng.normal(0, 0.1, beta.shape),
                rng.normal(0, 0.1, mean.shape),
                rng.uniform(0.5, 1.5, variance.shape),
            ])


@pytest.mark.parametrize("alpha", PAPER_ALPHAS)
def test_parameter_counts_equal_keras_applications(alpha):
    for resolution in PAPER_RESOLUTIONS:
        ours = mobilenet_v1(alpha, resolution)
        reference = keras_applications_mobilenet(alpha, resolution)
        assert ours.count_params() == reference.count_params(), (alpha, resolution)
        ours_weights = {l.name: [w.shape for w in l.weights] for l in ours.layers if l.weights}
        reference_weights = {l.name: [w.shape for w in l.weights] for l in reference.layers if l.weights}
        assert ours_weights == reference_weights


@pytest.mark.parametrize("alpha,resolution", [(0.25, 128), (0.5, 96)])
def test_outputs_equal_keras_applications_with_copied_weights(alpha, resolution):
    reference = keras_applications_mobilenet(alpha, resolution, classes=10)
    randomize_batch_norm_statistics(reference)
    ours = mobilenet_v1(alpha, resolution, num_classes=10)
    for layer in ours.layers:
        if layer.weights:
            layer.set_weights(reference.get_layer(layer.name).get_weights())
    pixels = np.random.default_rng(1).integers(0, 256, (4, resolution, resolution, 3)).astype("float32")
    expected_features = keras.Model(reference.input, reference.get_layer("conv_pw_13_relu").output)(
        pixels / 127.5 - 1
    )
    features = keras.Model(ours.input, ours.get_layer("conv_pw_13_relu").output)(pixels)
    np.testing.assert_allclose(features, expected_features, atol=1e-5)
    np.testing.assert_allclose(ours(pixels), reference(pixels / 127.5 - 1), atol=1e-5)


def test_model_takes_raw_pixels_of_any_numeric_dtype():
    model = mobilenet_v1(0.25, 64, num_classes=3)
    pixels = np.random.default_rng(2).integers(0, 256, (2, 64, 64, 3))
    as_float = model(pixels.astype("float32"))
    np.testing.assert_allclose(model(pixels.astype("uint8")), as_float, atol=1e-6)
    np.testing.assert_allclose(model(pixels.astype("int32")), as_float, atol=1e-6)
    np.testing.assert_allclose(as_float.numpy().sum(axis=1), 1.0, atol=1e-5)


def test_preprocessing_can_be_switched_off():
    model = mobilenet_v1(0.25, 64, include_preprocessing=False)
    assert not any(isinstance(l, keras.layers.Rescaling) for l in model.layers)
    assert any(isinstance(l, keras.layers.Rescaling) for l in mobilenet_v1(0.25, 64).layers)


@pytest.mark.parametrize("resolution", [32, 33, 100, 224])
def test_backbone_feature_map_is_resolution_over_32(resolution):
    backbone = mobilenet_v1(0.5, resolution, include_top=False)
    side = -(-resolution // 32)  # stride-2 "same" convolutions round up
    assert backbone.output.shape[1:] == (side, side, 512)


def test_keras_imagenet_weights_file_loads_and_gives_keras_applications_features(shared):
    weights = shared / "models/keras_applications/mobilenet_2_5_224_tf_no_top.h5"
    reference = keras.applications.MobileNet(
        input_shape=(224, 224, 3), alpha=0.25, include_top=False, weights=str(weights)
    )
    ours = mobilenet_v1(0.25, 224, include_top=False)
    ours.load_weights(weights)
    assert ours.count_params() == 218_544
    pixels = np.random.default_rng(3).integers(0, 256, (2, 224, 224, 3)).astype("float32")
    # Trained weights give features up to ReLU6's 6 after 27 layers of float32 rounding:
    # agree to 1e-5 of that range.
    np.testing.assert_allclose(ours(pixels), reference(pixels / 127.5 - 1), atol=6e-5)


def test_fused_batch_norm_trains_like_keras_batch_norm():
    """Same outputs, gradients and moving averages as the stock layer in training mode."""
    inputs = tf.random.stateless_normal((4, 8, 8, 6), seed=(1, 2), mean=0.5, stddev=2.0)
    fused = model_lib.FusedBatchNormalization(momentum=0.9)
    stock = keras.layers.BatchNormalization(momentum=0.9)
    for layer in (fused, stock):
        layer.build(inputs.shape)
        layer.set_weights([np.linspace(0.5, 1.5, 6), np.linspace(-1, 1, 6), np.full(6, 0.2), np.full(6, 3.0)])
    # A loss weighted per element: with one weight per channel, the gradients of gamma
    # would be sums of normalised values, zero up to rounding noise, and compare nothing.
    loss_weights = tf.random.stateless_normal(inputs.shape, seed=(3, 4))
    results = []
    for layer in (fused, stock):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layer(inputs, training=True)
            loss = tf.reduce_sum(outputs * loss_weights)
        results.append((outputs, tape.gradient(loss, [inputs, layer.gamma, layer.beta])))
    (fused_out, fused_grads), (stock_out, stock_grads) = results
    np.testing.assert_allclose(fused_out, stock_out, atol=1e-5)
    for fused_grad, stock_grad in zip(fused_grads, stock_grads):
        assert np.abs(stock_grad).max() > 0.1  # a real gradient, not rounding noise
        np.testing.assert_allclose(fused_grad, stock_grad, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fused.moving_mean, stock.moving_mean, atol=1e-6)
    # The fused kernel averages the unbiased variance (n / (n - 1)), as tf_keras did.
    count = 4 * 8 * 8
    batch_variance = tf.math.reduce_variance(inputs, axis=(0, 1, 2)).numpy()
    np.testing.assert_allclose(fused.moving_variance, 0.9 * 3.0 + 0.1 * batch_variance * count / (count - 1), rtol=1e-5)
    np.testing.assert_allclose(stock.moving_variance, 0.9 * 3.0 + 0.1 * batch_variance, rtol=1e-5)


def test_frozen_batch_norm_uses_moving_statistics():
    layer = model_lib.FusedBatchNormalization()
    inputs = tf.random.stateless_normal((2, 4, 4, 3), seed=(3, 4), mean=5.0)
    layer.build(inputs.shape)
    layer.trainable = False
    np.testing.assert_allclose(layer(inputs, training=True), layer(inputs, training=False))
    np.testing.assert_allclose(layer.moving_mean, 0.0)


def test_saved_model_reloads_in_safe_mode(tmp_path):
    model = mobilenet_v1(0.25, 64, num_classes=5, weight_decay=4e-5)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    pixels = np.random.default_rng(4).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(reloaded(pixels), model(pixels), atol=1e-6)


def test_weight_decay_spares_depthwise_filters():
    model = mobilenet_v1(0.25, 64, weight_decay=4e-5)
    regularized = {l.name for l in model.layers if getattr(l, "kernel_regularizer", None)}
    assert "conv1" in regularized and "conv_pw_13" in regularized and "conv_preds" in regularized
    assert not any(name.startswith("conv_dw") for name in regularized)
    assert len(model.losses) == 1 + 13 + 1


def test_shallow_variant_drops_the_five_14x14_blocks():
    names = {l.name for l in mobilenet_v1(variant="shallow").layers}
    assert {"conv_dw_6", "conv_pw_6", "conv_dw_12"} <= names
    assert not any(f"conv_dw_{i}" in names for i in range(7, 12))


def test_full_conv_variant_has_no_depthwise_layers():
    model = mobilenet_v1(0.25, 64, variant="full_conv")
    assert not any(isinstance(l, keras.layers.DepthwiseConv2D) for l in model.layers)
    assert model.get_layer("conv_2").strides == (2, 2)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"alpha": 0}, "alpha must be a number > 0"),
        ({"alpha": -0.5}, "alpha must be a number > 0"),
        ({"alpha": "0.5"}, "alpha must be a number > 0"),
        ({"alpha": 0.03}, "alpha must be >= 0.03125"),
        ({"resolution": 31}, "resolution must be an integer >= 32"),
        ({"resolution": 160.0}, "resolution must be an integer >= 32"),
        ({"resolution": True}, "resolution must be an integer >= 32"),
        ({"num_classes": 0}, "num_classes must be an integer >= 1"),
        ({"variant": "deep"}, "variant must be one of standard, shallow, full_conv"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mobilenet_v1(**kwargs)
