"""Data augmentation for images, text and audio: new, plausible training examples made from old ones.

An augmentation changes what should not matter (the angle of a photo, a synonym, a noisy room) and keeps what
should (the product, its colour, the words of the query), so a model trained on the variants learns to ignore the
nuisance. Every function here is seeded: the same seed or ``np.random.Generator`` gives the same output.

Augment the TRAINING split only, and only after splitting:
- validation and test data stand for what shoppers really send; augmenting them measures the model on data nobody
  sends, and the score changes with the seed, so runs stop being comparable;
- augmenting before splitting puts near-copies of a test item into training: leakage, and a score that is too good.
"""

from mmlab.augment.audio import add_noise, pitch_shift, spec_augment, time_stretch
from mmlab.augment.images import STRENGTHS, augment_image, augmented_views, image_augmenter
from mmlab.augment.text import (EXPAND_EN, EXPAND_ZH, SKU_FIELDS, detokenize, expand_sentence, random_deletion,
                                random_swap, synonym_swap, synonym_table, tokenize)

__all__ = ["add_noise", "pitch_shift", "spec_augment", "time_stretch", "STRENGTHS", "augment_image", "augmented_views",
           "image_augmenter", "EXPAND_EN", "EXPAND_ZH", "SKU_FIELDS", "detokenize", "expand_sentence",
           "random_deletion", "random_swap", "synonym_swap", "synonym_table", "tokenize"]
