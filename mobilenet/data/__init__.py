"""Data: what the model learns from and is measured on.

Finding and preparing a dataset (TensorFlow Datasets, or a folder of images) and choosing
its splits (`datasets`), the `tf.data` pipelines that turn encoded images into uint8 pixels
for training, evaluation and int8 calibration (`input_pipeline`), the training-only
augmentations (`augmentation`), how evenly the classes are represented and the loss weights
that even them out (`class_balance`), and readable names for WordNet-id classes (`class_names`).
Nothing here knows about the model.
"""
