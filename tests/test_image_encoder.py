"""Image encoders: shapes and unit norms, gradients, offline pretrained weights, the zoo cache, a tiny training run,
checkpoints keyed by the code of the classes notebook 02 writes, and clear errors on bad input."""

from __future__ import annotations

import json
import linecache
import socket
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from mmlab import zoo
from mmlab.data.catalog import Catalog, load_catalog
from mmlab.encoders import image
from mmlab.models import image as models
from mmlab.models.image import ProjectionHead, SmallCNN

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return load_catalog(fast=True, cache=tmp_path_factory.mktemp("cache"), verbose=False)


@pytest.fixture()
def zoo_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Trained models and cached features go to a fresh folder (the catalog fixture has its own)."""
    monkeypatch.setenv("MMLAB_CACHE", str(tmp_path))
    return tmp_path


@pytest.fixture()
def photos() -> torch.Tensor:
    return torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def effnet() -> image.EfficientNetLite0:
    return image.EfficientNetLite0(size=32)  # small inputs keep the test fast


ENCODERS = {
    "pixels": lambda: image.RawPixels(size=16),
    "cnn": lambda: SmallCNN(dim=32, widths=(8, 16, 16, 32), size=32),
    "resnet18": lambda: image.ResNet18(dim=32, size=32),
}


@pytest.mark.parametrize("name", ENCODERS)
def test_encoders_give_unit_vectors(name: str, photos: torch.Tensor) -> None:
    vectors = ENCODERS[name]().eval()(photos)
    assert vectors.shape[0] == 3 and vectors.ndim == 2
    assert torch.allclose(vectors.norm(dim=1), torch.ones(3), atol=1e-5)


def test_efficientnet_and_head_give_unit_vectors(effnet: image.EfficientNetLite0, photos: torch.Tensor) -> None:
    assert effnet(photos).shape == (3, 1280)
    assert torch.allclose(effnet(photos).norm(dim=1), torch.ones(3), atol=1e-5)
    model = image.EfficientNetWithHead(effnet, ProjectionHead(1280, dim=16, hidden=32))
    assert model(photos).shape == (3, 16)
    assert torch.allclose(model(photos).norm(dim=1), torch.ones(3), atol=1e-5)


def test_gradients_reach_every_cnn_layer(photos: torch.Tensor) -> None:
    model = SmallCNN(dim=16, widths=(8, 16, 16, 32), size=32).train()
    vectors = model(torch.cat([photos, photos.flip(-1)]))
    loss = image.contrastive_loss(vectors[:3], vectors[3:], torch.arange(3), temperature=0.1)
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, f"no gradient reached {name}"


def test_efficientnet_loads_offline_and_stays_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    model = image.EfficientNetLite0(size=32)
    shipped = torch.load(image.efficientnet_weights_path(), map_location="cpu", weights_only=True)
    assert torch.equal(model.net._conv_stem.weight, shipped["_conv_stem.weight"])
    assert not any(p.requires_grad for p in model.parameters())
    model.train()
    assert not model.training, "the frozen backbone must stay in eval mode (ImageNet batch-norm statistics)"


def test_efficientnet_features_tell_photos_apart(effnet: image.EfficientNetLite0, catalog: Catalog) -> None:
    photos = image.product_photos(catalog, catalog.skus.sku_id.iloc[[0, -1]])  # two different products
    a, b = effnet(photos)
    assert float(a @ b) < 0.99


def test_looks_group_identical_catalog_photos(catalog: Catalog) -> None:
    ids = catalog.skus.sku_id.tolist()
    looks = image.looks(catalog, ids)
    same = [(i, j) for i in range(len(ids)) for j in range(i + 1, len(ids)) if looks[i] == looks[j]][:5]
    assert same, "the FAST catalog should have SKUs sharing one photo (same type and colour)"
    for i, j in same:
        assert np.array_equal(np.asarray(catalog.product_image(ids[i])), np.asarray(catalog.product_image(ids[j])))


def test_jitter_keeps_shape_and_range(photos: torch.Tensor) -> None:
    moved = image.jitter(photos, torch.Generator().manual_seed(1))
    again = image.jitter(photos, torch.Generator().manual_seed(1))
    assert moved.shape == photos.shape and torch.equal(moved, again)
    assert moved.min() >= 0 and moved.max() <= 1 and not torch.equal(moved, photos)


def test_tiny_training_lowers_the_loss_and_the_zoo_returns_it(catalog: Catalog, zoo_cache: Path) -> None:
    settings = {"epochs": 3, "batch_size": 32, "widths": [8, 16, 32, 32]}
    model, summary = image.trained_image_encoder(catalog, "cnn", progress=False, **settings)
    assert not summary["from_cache"]
    assert summary["loss"][-1] < summary["loss"][0], summary["loss"]
    assert summary["train_queries"] == len(image.image_queries(catalog, "train"))
    again, cached = image.trained_image_encoder(catalog, "cnn", progress=False, **settings)
    assert cached["from_cache"] and cached["loss"] == summary["loss"]
    for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), f"{name} differs after loading from the cache"
    assert list(zoo_cache.glob("zoo/image-cnn-*.pt")), "the trained model was not saved in the zoo"


def test_head_on_cached_features_matches_the_full_model(catalog: Catalog, zoo_cache: Path) -> None:
    model, _ = image.trained_image_encoder(catalog, "efficientnet_head", progress=False,
                                           size=32, shots=1, epochs=2, hidden=32)
    fast_path = image.product_embeddings(model, catalog)  # from the cached backbone features
    assert fast_path.shape == (len(catalog.skus), image.DIM)
    direct = image.embed(model, image.product_photos(catalog, catalog.skus.sku_id[:8]))
    np.testing.assert_allclose(fast_path[:8], direct, atol=1e-4)
    queries = image.image_queries(catalog, "test").query_id[:5]
    scores = image.search_quality(image.photo_embeddings(model, catalog, queries), fast_path, catalog, list(queries))
    assert set(scores) == {"hit@1", "hit@10", "type_r1", "ndcg@10"}
    assert all(0 <= v <= 1 for v in scores.values())


@pytest.mark.parametrize("bad, error, words", [
    (torch.rand(2, 1, 32, 32), ValueError, "(N, 3, H, W)"),  # greyscale
    (torch.rand(3, 32, 32), ValueError, "unsqueeze"),  # one image without a batch dimension
    (torch.rand(2, 32, 32, 3), ValueError, "permute"),  # channels last
    ((torch.rand(2, 3, 32, 32) * 255).to(torch.uint8), TypeError, "float"),
    (torch.rand(2, 3, 32, 32) * 255, ValueError, "divide"),  # 0-255 floats
    (torch.full((1, 3, 32, 32), float("nan")), ValueError, "[0, 1]"),
    (np.zeros((2, 3, 32, 32), dtype=np.float32), TypeError, "photos_to_tensor"),
])
def test_bad_photos_raise_clear_errors(bad, error: type, words: str) -> None:
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        image.embed(SmallCNN(dim=8, widths=(4, 4, 4, 4)), bad)


def test_photos_to_tensor_rejects_mixed_sizes_and_non_images() -> None:
    white = Image.new("RGB", (64, 64), "white")
    assert image.photos_to_tensor([white]).shape == (1, 3, 64, 64)
    with pytest.raises(ValueError, match="resize"):
        image.photos_to_tensor([white, Image.new("RGB", (32, 32))])
    with pytest.raises(TypeError, match="PIL"):
        image.photos_to_tensor([np.zeros((64, 64, 3))])
    with pytest.raises(ValueError, match="empty"):
        image.photos_to_tensor([])


def test_unknown_settings_and_wrong_features_raise(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        image.trained_image_encoder(catalog, "vgg")
    with pytest.raises(ValueError, match="unknown setting"):
        image.trained_image_encoder(catalog, "cnn", epoch=3)
    with pytest.raises(AssertionError, match="1280"):
        ProjectionHead()(torch.zeros(2, 512))
    with pytest.raises(TypeError, match="the class, not an instance"):
        image.trained_image_encoder(catalog, "cnn", model_class=SmallCNN())
    with pytest.raises(ValueError, match="unknown split"):
        image.image_queries(catalog, "training")


def _notebook_classes(old: str = "", new: str = "") -> dict:
    """The classes of notebook 02's saved cells (with ``old`` replaced by ``new``), run as the notebook runs them:
    in ``__main__``, cell by cell."""
    namespace = {"__name__": "__main__"}
    cells = json.loads((ROOT / "notebooks" / "02_image_encoder.ipynb").read_text(encoding="utf-8"))["cells"]
    for number, cell in enumerate(cells):
        source = "".join(cell["source"]).replace(old, new) if old else "".join(cell["source"])
        if cell["cell_type"] == "code" and source.startswith("#@save models/image.py"):
            name = f"/tmp/ipykernel_test/02_image_encoder-{number}.py"
            linecache.cache[name] = (len(source), None, source.splitlines(keepends=True), name)
            exec(compile(source, name, "exec"), namespace)
    return namespace


def _keys(monkeypatch: pytest.MonkeyPatch, kind: str, **classes: type) -> dict[str, dict]:
    """The zoo key ``trained_image_encoder`` uses for each named model class (nothing is trained)."""
    keys: dict[str, dict] = {}
    catalog = SimpleNamespace(fast=True, fingerprint=lambda: "catalog")
    for name, model_class in classes.items():
        def remember(model_name, key, data, build, train, seed=0, threads=1, name=name):
            keys[name] = key
            return build(), {}
        monkeypatch.setattr(zoo, "trained", remember)
        image.trained_image_encoder(catalog, kind, progress=False, model_class=model_class)
    return keys


def test_the_notebook_classes_are_the_mmlab_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    cells = _notebook_classes()
    for name in ("Standardise", "ConvBlock", "SmallCNN", "ProjectionHead"):
        assert cells[name] is not getattr(models, name)
        assert zoo.code_fingerprint(cells[name]) == zoo.code_fingerprint(getattr(models, name)), name
    keys = _keys(monkeypatch, "cnn", notebook=cells["SmallCNN"], default=None)
    assert keys["notebook"] == keys["default"], "an unchanged notebook class must load the checkpoint of mmlab's"
    keys = _keys(monkeypatch, "efficientnet_head", notebook=cells["ProjectionHead"], default=None)
    assert keys["notebook"] == keys["default"]


@pytest.mark.parametrize("old, new", [
    ("nn.ReLU(inplace=True),", "nn.GELU(),"),  # in the conv block, which SmallCNN builds
    ("x = x.mean(dim=(2, 3))", "x = x.amax(dim=(2, 3))"),  # in SmallCNN itself
    ("(0.25, 0.25, 0.25)) -> None:", "(0.5, 0.5, 0.5)) -> None:"),  # in its standardisation
])
def test_an_edited_cnn_gets_another_checkpoint_key(monkeypatch: pytest.MonkeyPatch, old: str, new: str) -> None:
    edited = _notebook_classes(old, new)
    keys = _keys(monkeypatch, "cnn", default=None, edited=edited["SmallCNN"])
    assert keys["edited"]["code"] != keys["default"]["code"]
    assert {k: v for k, v in keys["edited"].items() if k != "code"} == \
        {k: v for k, v in keys["default"].items() if k != "code"}


def test_standardise_rejects_bad_statistics() -> None:
    layer = models.Standardise()
    layer.set_stats([0.5, 0.4, 0.3], [0.2, 0.2, 0.2])
    assert torch.allclose(layer(torch.full((1, 3, 2, 2), 0.5))[0, :, 0, 0], torch.tensor([0.0, 0.5, 1.0]))
    with pytest.raises(ValueError, match="positive std"):
        layer.set_stats([0.5, 0.5, 0.5], [0.2, 0.0, 0.2])
    with pytest.raises(ValueError, match="per RGB channel"):
        layer.set_stats([0.5], [0.2])


def test_device_defaults_to_cpu_without_a_gpu_and_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    from mmlab.config import device

    monkeypatch.delenv("MMLAB_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device() == torch.device("cpu")
    monkeypatch.setenv("MMLAB_DEVICE", "meta")
    assert device() == torch.device("meta")
