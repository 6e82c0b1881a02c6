"""The new head fitted to convergence on the frozen backbone's features (config.fit_head).

A new classifier trained by SGD on a pretrained backbone meets features it has never seen at a
learning rate chosen for no particular data: on a few dozen photos a class it diverged
(docs/BENCHMARKS.md, fine-tuning on few photos). Here the backbone's pooled features of every
training image (the evaluation crop, and its mirror) are computed once, and the head is an L2
multinomial logistic regression fitted to them to convergence (L-BFGS on a convex loss: it cannot
diverge), its strength chosen by cross-validation on those same images (as a linear probe is).
Fine-tuning then starts from a head that already classifies, so the loss starts low.
"""

import keras
import numpy as np

from mobilenet.data import input_pipeline

STRENGTHS = (1e-4, 1e-3, 1e-2, 1e-1)  # L2 penalties tried, on standardised features
FOLDS = 5
CROSS_VALIDATION_PAIRS = 1000  # images (with their mirrors) the strength is chosen on, at most
STEPS = 1000  # L-BFGS steps at most; it stops once every gradient entry is this small:
TOLERANCE = 1e-6
FEATURES_LAYER = "global_average_pooling"  # the pooled features the classifier reads
HEAD_LAYER = "conv_preds"


def features(model, dataset, batch_size):
    """(features, labels) of the training split: the pooled backbone features of each image's
    evaluation crop, then of the mirrors in the same order, in inference mode (the moving
    statistics)."""
    extractor = keras.Model(model.input, model.get_layer(FEATURES_LAYER).output)
    views, labels = ([], []), []
    images = input_pipeline.eval_images(dataset, model.input.shape[1], batch_size, split=dataset.train_split,
                                        cache=False)
    for pixels, label in images.as_numpy_iterator():
        for found, view in zip(views, (pixels, pixels[:, :, ::-1])):
            found.append(np.asarray(extractor.predict_on_batch(view)).reshape(len(view), -1))
        labels.append(label)
    labels = np.concatenate(labels)
    return np.concatenate([np.concatenate(found) for found in views]).astype(np.float64), np.concatenate([labels] * 2)


def _objective(parameters, x, targets, strength):
    """The L2-penalised softmax cross-entropy and its gradient, parameters flat (weights, bias)."""
    classes = targets.shape[1]
    weights, bias = parameters[:-classes].reshape(x.shape[1], classes), parameters[-classes:]
    logits = x @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    normaliser = probabilities.sum(axis=1, keepdims=True)
    probabilities /= normaliser
    loss = float(np.mean(np.log(normaliser[:, 0]) - (logits * targets).sum(axis=1)) + strength / 2 * np.sum(weights**2))
    error = (probabilities - targets) / len(x)
    return loss, np.concatenate([(x.T @ error + strength * weights).ravel(), error.sum(axis=0)])


def _fit(x, y, classes, strength, memory=10):
    """(weights, bias) of the L2 softmax regression of y on x, solved by L-BFGS (with a
    backtracking line search) until the gradient is below TOLERANCE, or after STEPS steps."""
    targets = np.eye(classes)[y]
    parameters = np.zeros(x.shape[1] * classes + classes)
    loss, gradient = _objective(parameters, x, targets, strength)
    steps, changes = [], []
    for _ in range(STEPS):
        if np.abs(gradient).max() < TOLERANCE:
            break
        # The two-loop recursion: the inverse Hessian, as the last `memory` steps see it, times the gradient.
        direction, alphas = -gradient, []
        for step, change in reversed(list(zip(steps, changes))):
            alpha = (step @ direction) / (change @ step)
            alphas.append(alpha)
            direction = direction - alpha * change
        if steps:
            direction *= (steps[-1] @ changes[-1]) / (changes[-1] @ changes[-1])
        for (step, change), alpha in zip(zip(steps, changes), reversed(alphas)):
            direction = direction + step * (alpha - (change @ direction) / (change @ step))
        rate = 1.0
        while True:
            new_loss, new_gradient = _objective(parameters + rate * direction, x, targets, strength)
            if new_loss <= loss + 1e-4 * rate * (gradient @ direction) or rate < 1e-10:
                break
            rate /= 2
        step, change = rate * direction, new_gradient - gradient
        if step @ change > 1e-12:
            steps, changes = (steps + [step])[-memory:], (changes + [change])[-memory:]
        parameters, loss, gradient = parameters + step, new_loss, new_gradient
    return parameters[:-classes].reshape(x.shape[1], classes), parameters[-classes:]


def _log_loss(x, y, weights, bias):
    logits = x @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(logits).sum(axis=1)) - logits[np.arange(len(y)), y]))


def choose_strength(x, y, classes, seed=0):
    """The L2 strength of STRENGTHS with the lowest held-out log-loss over FOLDS folds (pairs of
    an image and its mirror stay in one fold), on CROSS_VALIDATION_PAIRS images at most."""
    pairs = len(x) // 2
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.permutation(pairs)[:CROSS_VALIDATION_PAIRS])
    x, y = x[np.concatenate([chosen, chosen + pairs])], y[np.concatenate([chosen, chosen + pairs])]
    pairs = len(chosen)
    folds = rng.permutation(pairs) % min(FOLDS, pairs)
    folds = np.concatenate([folds, folds])  # each mirror follows its image
    losses = {}
    for strength in STRENGTHS:
        total = 0.0
        for fold in np.unique(folds):
            held = folds == fold
            weights, bias = _fit(x[~held], y[~held], classes, strength)
            total += _log_loss(x[held], y[held], weights, bias) * held.sum()
        losses[strength] = total / len(x)
    return min(losses, key=losses.get)


def fit(model, dataset, batch_size=64):
    """Sets `model`'s classifier to the logistic regression fitted on its frozen features of
    `dataset`'s training split; returns the L2 strength chosen."""
    x, y = features(model, dataset, batch_size)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    standardised = (x - mean) / scale
    strength = choose_strength(standardised, y, dataset.num_classes)
    weights, bias = _fit(standardised, y, dataset.num_classes, strength)
    # The head takes raw features: fold the standardisation into its weights and bias.
    kernel = weights / scale[:, None]
    head = model.get_layer(HEAD_LAYER)
    old_kernel, _ = head.get_weights()
    head.set_weights([kernel.reshape(old_kernel.shape).astype(np.float32),
                      (bias - mean / scale @ weights).astype(np.float32)])
    return strength
