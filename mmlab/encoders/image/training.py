"""Training the image encoders with symmetric InfoNCE on (shopper photo, catalog photo) pairs, cached by the zoo."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from mmlab import zoo
from mmlab.config import device as default_device
from mmlab.data.catalog import Catalog
from mmlab.models.losses import LogitScale, info_nce, similarity
from mmlab.models.image import ProjectionHead, SmallCNN, resize
from mmlab.preprocess import channel_stats
from mmlab.train import History, batch_rows, fit, summary

from mmlab.encoders.image.encoders import (BIG_MODEL_THREADS, DIM, EfficientNetLite0, EfficientNetWithHead, ResNet18,
                                          embed, model_device, photos_to_tensor)
from mmlab.encoders.image.photos import (frozen_features, image_queries, jitter, looks, pooled_features, product_photos,
                                        query_photos, search_quality, shoot)

KINDS = ("cnn", "resnet18", "efficientnet_head")
VERSION = 1  # part of every checkpoint key, with the code of the model classes: bump when training itself changes

@dataclass(frozen=True)
class ImageConfig:
    """Everything that decides an image encoder's trained weights (the zoo keys checkpoints by it, with VERSION)."""

    size: int  # photos are resized to size x size pixels
    epochs: int
    lr: float
    patience: int  # epochs without a better validation score before training stops
    batch_size: int = 64
    weight_decay: float = 1e-4
    temperature: float = 0.1
    dim: int = DIM
    widths: tuple[int, ...] | None = None  # the small CNN's channels per stage
    hidden: int | None = None  # the projection head's hidden width
    shots: int | None = None  # re-shot photos per train query whose frozen features the head trains on

    def settings(self) -> dict[str, Any]:
        """The settings this kind uses (those not None), JSON-able: the zoo key and the summary's config."""
        return {name: value for name, value in asdict(self).items() if value is not None}


CONFIGS: dict[str, ImageConfig] = {
    "cnn": ImageConfig(size=32, epochs=16, lr=3e-3, patience=4, widths=(16, 32, 64, 128)),
    "resnet18": ImageConfig(size=32, epochs=16, lr=1e-3, patience=4),
    "efficientnet_head": ImageConfig(size=96, epochs=30, lr=1e-3, patience=6, batch_size=256, hidden=512, shots=4),
}
FAST = {"cnn": {"epochs": 8}, "resnet18": {"epochs": 2}, "efficientnet_head": {"epochs": 10, "shots": 2}}
# the class each kind builds and trains by default; a notebook passes the one it writes (``model_class=``)
CLASSES: dict[str, type[nn.Module]] = {"cnn": SmallCNN, "resnet18": ResNet18, "efficientnet_head": ProjectionHead}


def config_for(kind: str, fast: bool, **overrides: Any) -> ImageConfig:
    """The training configuration of an encoder kind (fewer epochs in FAST mode), with overrides."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {KINDS}")
    config = replace(CONFIGS[kind], **(FAST[kind] if fast else {}))
    unknown = set(overrides) - set(config.settings())
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)} for {kind!r}; known: {sorted(config.settings())}")
    return replace(config, **overrides)


def training_queries(catalog: Catalog) -> pd.DataFrame:
    """The photo queries a model may train on: the TRAIN split (zero-shot types never reach it)."""
    train = image_queries(catalog, "train")
    zero_shot = set(catalog.types.type_id[catalog.types.zero_shot])
    if train.type_id.isin(zero_shot).any():
        raise ValueError("the train split holds zero-shot product types; the catalog is broken, rebuild it")
    return train


def contrastive_loss(photos: Tensor, products: Tensor, look_ids: Tensor, temperature: float) -> Tensor:
    """Symmetric InfoNCE over a batch of (photo, product) pairs; products with the same look are all positives."""
    positives = look_ids[:, None] == look_ids[None, :]
    return info_nce(LogitScale(temperature, learnable=False)(similarity(photos, products)), positives)


def pair_batches(catalog: Catalog, train: pd.DataFrame, products: Tensor, look_ids: Tensor, batch_size: int,
                 seed: int) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
    """One epoch of (fresh shopper photos, jittered catalog photos of their SKUs, look ids) batches."""
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    order = rng.permutation(len(train))
    for rows in batch_rows(order, batch_size):
        photos = resize(photos_to_tensor([shoot(catalog, train.iloc[i], rng) for i in rows]), products.shape[-1])
        yield photos, jitter(products[rows], generator), look_ids[rows]


def _fit_stats(model: nn.Module, catalog: Catalog, train: pd.DataFrame) -> None:
    """Set the model's standardisation from the training photos (catalog photos of the train queries' SKUs)."""
    mean, std = channel_stats(catalog.product_image(s) for s in train.target_sku.unique())
    model.standardise.set_stats(mean, std)


def _val_score(model: nn.Module, catalog: Catalog, val: pd.DataFrame, val_photos: Tensor,
               all_products: Tensor) -> float:
    """Validation NDCG@10 of photo search: the score that picks the epoch."""
    vectors = embed(model, val_photos), embed(model, all_products)
    return search_quality(*vectors, catalog, list(val.query_id))["ndcg@10"]


def train_end_to_end(model: nn.Module, catalog: Catalog, config: ImageConfig, seed: int,
                     progress: bool = True) -> dict[str, Any]:
    """Train a CNN (or ResNet) on (re-shot train photo, catalog photo) pairs; return a JSON-able summary."""
    train, val = training_queries(catalog), image_queries(catalog, "val")
    _fit_stats(model, catalog, train)
    size = config.size  # shrink the fixed photos once, not at every epoch
    products = resize(product_photos(catalog, train.target_sku), size)
    look_ids = torch.as_tensor(looks(catalog, train.target_sku))
    val_photos, all_products = resize(query_photos(catalog, val.query_id), size), resize(product_photos(catalog), size)
    where = model_device(model)

    def batches(epoch: int) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        return pair_batches(catalog, train, products, look_ids, config.batch_size, seed * 1000 + epoch)

    def loss_fn(net: nn.Module, batch: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        photos, items, ids = (t.to(where) for t in batch)
        vectors = net(torch.cat([photos, items]))  # one pass: batch norm sees both kinds of photo
        return contrastive_loss(vectors[:len(photos)], vectors[len(photos):], ids, config.temperature)

    history = fit(model, batches, loss_fn, epochs=config.epochs, lr=config.lr,
                  weight_decay=config.weight_decay, patience=config.patience, progress=progress,
                  evaluate=lambda: _val_score(model, catalog, val, val_photos, all_products))
    return _summary(history, train, photos_per_query=len(history.loss))  # a fresh shot every epoch


def _summary(history: History, train: pd.DataFrame, photos_per_query: int) -> dict[str, Any]:
    """What training did and what the model saw, JSON-able for the zoo's sidecar file."""
    return summary(history, "ndcg10", epochs_run=len(history.loss), train_queries=len(train),
                   train_skus=int(train.target_sku.nunique()), photos_per_query=photos_per_query)


def train_head(head: nn.Module, backbone: EfficientNetLite0, catalog: Catalog, config: ImageConfig,
               seed: int, progress: bool = True) -> dict[str, Any]:
    """Train a projection head on frozen features of ``shots`` re-shot photos per train query (cached once)."""
    train, val = training_queries(catalog), image_queries(catalog, "val")
    rng = np.random.default_rng(seed)
    shots = [pooled_features(backbone, photos_to_tensor([shoot(catalog, q, rng) for q in train.itertuples()]))
             for _ in range(config.shots)]
    products = frozen_features(catalog, backbone)  # every SKU: the search index; training uses the train SKUs' rows
    row_of_sku = {s: i for i, s in enumerate(catalog.skus.sku_id)}
    targets = torch.as_tensor([row_of_sku[s] for s in train.target_sku])
    look_ids = torch.as_tensor(looks(catalog, train.target_sku))
    val_features = frozen_features(catalog, backbone, val.query_id)

    def batches(epoch: int) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        for rows in batch_rows(order, config.batch_size):
            yield shots[epoch % len(shots)][rows], products[targets[rows]], look_ids[rows]

    def loss_fn(net: nn.Module, batch: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        photos, items, ids = batch
        return contrastive_loss(net(photos), net(items), ids, config.temperature)

    def val_score() -> float:
        vectors = head(val_features).numpy(), head(products).numpy()
        return search_quality(*vectors, catalog, list(val.query_id))["ndcg@10"]

    history = fit(head, batches, loss_fn, epochs=config.epochs, lr=config.lr,
                  weight_decay=config.weight_decay, patience=config.patience, progress=progress,
                  evaluate=val_score)
    return _summary(history, train, photos_per_query=config.shots)


def model_arguments(kind: str, config: ImageConfig) -> tuple:
    """The arguments that build a kind's model class (see :data:`CLASSES`) from its configuration."""
    if kind == "cnn":
        return config.dim, config.widths, config.size
    if kind == "resnet18":
        return config.dim, config.size
    return 1280, config.dim, config.hidden  # the head on EfficientNet-Lite0's 1280 pooled features


def trained_image_encoder(catalog: Catalog, kind: str = "cnn", seed: int = 0, progress: bool = True,
                          model_class: type[nn.Module] | None = None,
                          **overrides: Any) -> tuple[nn.Module, dict[str, Any]]:
    """A trained encoder ("cnn", "resnet18" or "efficientnet_head") and its training summary, cached by the zoo.

    ``model_class`` is the class to build and train: the CNN for "cnn", the projection head for
    "efficientnet_head" (the EfficientNet backbone stays frozen); by default the one of :data:`CLASSES`
    (:class:`~mmlab.models.image.SmallCNN`, :class:`ResNet18`, :class:`~mmlab.models.image.ProjectionHead`).
    The zoo key is the kind, its configuration (FAST mode trains fewer epochs), the code of the model's classes and
    of its training function, and ``catalog.fingerprint()``: a second call (in this or a later notebook) with
    unchanged code loads the weights instead of training, an edited class trains afresh. ``summary["from_cache"]``
    says which happened; ``summary["seconds"]`` is the time the training took (backbone features included).
    """
    config = config_for(kind, catalog.fast, **overrides)
    model_class = CLASSES[kind] if model_class is None else model_class
    if not (isinstance(model_class, type) and issubclass(model_class, nn.Module)):
        raise TypeError(f"model_class must be an nn.Module class such as {CLASSES[kind].__name__} (the class, not "
                        f"an instance), got {model_class!r}")
    arguments = model_arguments(kind, config)
    train_function = train_head if kind == "efficientnet_head" else train_end_to_end
    key = config.settings() | {"version": VERSION, "code": zoo.code_fingerprint(model_class, train_function)}
    if kind == "efficientnet_head":  # on the CPU: the backbone's features are computed once and cached
        backbone = EfficientNetLite0(config.size)
        head, summary = zoo.trained(
            f"image-{kind}", key, catalog.fingerprint(), seed=seed, build=lambda: model_class(*arguments),
            train=lambda head: train_head(head, backbone, catalog, config, seed, progress),
            threads=BIG_MODEL_THREADS)
        return EfficientNetWithHead(backbone, head).eval(), summary | {"config": config.settings()}
    where = default_device()
    # The small CNN trains on one thread: about 20 % slower on an idle 2-core CPU (60 s instead of 49 in full
    # mode), but a second busy core no longer stalls it (136-160 s on two threads with another job running).
    model, summary = zoo.trained(f"image-{kind}", key, catalog.fingerprint(), seed=seed,
                                 build=lambda: model_class(*arguments).to(where),
                                 train=lambda model: train_end_to_end(model, catalog, config, seed, progress),
                                 threads=1 if kind == "cnn" else BIG_MODEL_THREADS)
    return model, summary | {"config": config.settings()}
