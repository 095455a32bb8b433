"""Fusion variants: shapes and unit norms, masks that really remove a modality, weights that sum to one,
query-conditioned attention, modality dropout, the gated (TIRG) composition and bad input."""

import pytest
import torch
import torch.nn.functional as F

from mmlab.models.fusion import AttentionFusion, ConcatFusion, GatedFusion, WeightedSumFusion, modality_dropout

MODALITIES = {"image": 6, "text": 5, "review": 4, "behaviour": 3}
DIM, BATCH, QUERY_DIM = 8, 10, 7


def _features(seed: int, batch: int = BATCH) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {name: torch.randn(batch, d, generator=g) for name, d in MODALITIES.items()}


def _mask(seed: int, batch: int = BATCH) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(batch, len(MODALITIES), generator=g) < 0.6
    mask[torch.arange(batch), torch.randint(len(MODALITIES), (batch,), generator=g)] = True  # at least one
    return mask


def _fusers() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    return {"concat": ConcatFusion(MODALITIES, DIM), "weighted": WeightedSumFusion(MODALITIES, DIM),
            "attention": AttentionFusion(MODALITIES, DIM),
            "attention_query": AttentionFusion(MODALITIES, DIM, QUERY_DIM)}


def _run(name: str, fuser, features, mask, query=None):
    if name == "attention_query":
        return fuser(features, mask, query if query is not None else torch.ones(BATCH, QUERY_DIM))
    return fuser(features, mask)


@pytest.mark.parametrize("name", ["concat", "weighted", "attention", "attention_query"])
def test_shape_and_unit_norm(name):
    fuser = _fusers()[name]
    for mask in (_mask(1), None):
        out = _run(name, fuser, _features(1), mask)
        assert out.shape == (BATCH, DIM)
        assert torch.allclose(out.norm(dim=1), torch.ones(BATCH), atol=1e-5)


@pytest.mark.parametrize("name", ["concat", "weighted", "attention", "attention_query"])
def test_masked_modality_cannot_reach_the_output(name):
    fuser, mask, features = _fusers()[name], _mask(2), _features(2)
    before = _run(name, fuser, features, mask)
    for m, modality in enumerate(MODALITIES):
        absent = ~mask[:, m]
        assert absent.any() and mask[:, m].any()  # the case has both present and missing rows
        changed = dict(features)
        changed[modality] = features[modality].clone()
        changed[modality][absent] = torch.randn(int(absent.sum()), MODALITIES[modality]) * 100
        assert torch.equal(_run(name, fuser, changed, mask), before), modality
        changed[modality][absent] = float("nan")  # placeholders may be anything, even NaN
        assert torch.equal(_run(name, fuser, changed, mask), before), modality
        # ...whereas changing the same modality where it is present does change those rows (the test can fail).
        changed = dict(features)
        changed[modality] = features[modality] + 1.0
        after = _run(name, fuser, changed, mask)
        assert not torch.allclose(after[mask[:, m]], before[mask[:, m]])
        assert torch.equal(after[absent], before[absent])


def test_masked_tokens_are_exactly_zero_and_nan_placeholders_keep_gradients_finite():
    fuser, mask, features = ConcatFusion(MODALITIES, DIM), _mask(11), _features(11)
    features["text"][~mask[:, 1]] = float("nan")
    tokens, _ = fuser.project(features, mask)
    assert (tokens[~mask] == 0).all() and (tokens[mask] != 0).any(dim=1).all()
    fuser(features, mask).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in fuser.parameters())


def test_concat_sees_the_mask():
    # A present all-zero modality and a missing one differ only in the mask features appended to the input.
    fuser = ConcatFusion(MODALITIES, DIM)
    with torch.no_grad():
        for projection in fuser.projections.values():
            projection.bias.zero_()
    features = _features(3)
    features["review"] = torch.zeros(BATCH, MODALITIES["review"])
    present = torch.ones(BATCH, len(MODALITIES), dtype=torch.bool)
    missing = present.clone()
    missing[:, 2] = False
    assert not torch.allclose(fuser(features, present), fuser(features, missing))


def test_weighted_sum_weights():
    fuser = WeightedSumFusion(MODALITIES, DIM)
    with torch.no_grad():
        fuser.logits.copy_(torch.tensor([1.0, 0.0, -1.0, 2.0]))
    mask = _mask(4)
    weights = fuser.weights(mask)
    assert weights.shape == mask.shape
    assert torch.allclose(weights.sum(dim=1), torch.ones(BATCH))
    assert (weights[~mask] == 0).all() and (weights[mask] > 0).all()
    # Renormalised over the present modalities: exp(a_m) / Σ_present exp(a_k), written out.
    expected = torch.exp(fuser.logits.detach()) * mask
    assert torch.allclose(weights, expected / expected.sum(dim=1, keepdim=True))
    assert torch.allclose(fuser.weights(), torch.softmax(torch.tensor([1.0, 0.0, -1.0, 2.0]), dim=0))
    # The output is the weighted sum of the unit-normalised projections, renormalised.
    features = _features(4)
    tokens = torch.stack([F.normalize(fuser.projections[n](features[n]), dim=1) for n in MODALITIES], dim=1)
    manual = F.normalize((weights.unsqueeze(2) * tokens).sum(dim=1), dim=1)
    assert torch.allclose(fuser(features, mask), manual, atol=1e-6)


def test_weighted_sum_learns_to_trust_the_informative_modality(one_thread):
    # The target depends on the image only; the other modalities are noise. Training should move weight to image.
    torch.manual_seed(0)
    fuser = WeightedSumFusion(MODALITIES, DIM)
    target_map = torch.nn.Linear(MODALITIES["image"], DIM)
    optimiser = torch.optim.Adam(fuser.parameters(), lr=0.05)
    for step in range(20):
        features = _features(100 + step, batch=32)
        target = F.normalize(target_map(features["image"]), dim=1).detach()
        loss = (1 - (fuser(features) * target).sum(dim=1)).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    weights = fuser.weights()
    assert weights.argmax().item() == 0 and weights[0] > 0.5, weights  # from 0.25 at the start


@pytest.mark.parametrize("name", ["attention", "attention_query"])
def test_attention_weights_sum_to_one_and_skip_masked(name):
    fuser, mask, features = _fusers()[name], _mask(5), _features(5)
    query = torch.randn(BATCH, QUERY_DIM) if name == "attention_query" else None
    weights = fuser.attend(features, mask, query)[1]
    assert weights.shape == mask.shape
    assert torch.allclose(weights.sum(dim=1), torch.ones(BATCH))
    assert (weights[~mask] == 0).all() and (weights[mask] > 0).all()


def test_query_conditioned_attention_changes_with_the_query():
    fuser, features, mask = AttentionFusion(MODALITIES, DIM, QUERY_DIM), _features(6), _mask(6)
    q1, q2 = torch.randn(BATCH, QUERY_DIM), torch.randn(BATCH, QUERY_DIM)
    several = mask.sum(dim=1) > 1  # a row with a single modality gives it weight one whatever the query
    assert several.any()
    assert not torch.allclose(fuser.attend(features, mask, q1)[1][several], fuser.attend(features, mask, q2)[1][several])
    assert not torch.allclose(fuser(features, mask, q1)[several], fuser(features, mask, q2)[several])
    assert torch.equal(fuser(features, mask, q1), fuser(features, mask, q1.clone()))
    with pytest.raises(AssertionError, match="query_dim"):
        AttentionFusion(MODALITIES, DIM)(features, mask, q1)


@pytest.mark.parametrize("name", ["concat", "weighted", "attention", "attention_query"])
def test_gradients_reach_every_parameter(name):
    fuser = _fusers()[name]
    out = _run(name, fuser, _features(7), _mask(7), torch.randn(BATCH, QUERY_DIM))
    (out * torch.randn_like(out)).sum().backward()
    unused = {"attention": {"query_proj"}, "attention_query": {"learned_query"}}.get(name, set())
    for param_name, param in fuser.named_parameters():
        if param_name.split(".")[0] in unused:
            continue
        assert param.grad is not None and torch.isfinite(param.grad).all(), param_name
        assert param.grad.abs().sum() > 0, param_name


def test_modality_dropout():
    mask = _mask(8, batch=500)
    g = torch.Generator().manual_seed(0)
    for p in (0.0, 0.3, 0.9, 1.0):
        dropped = modality_dropout(mask, p, g)
        assert dropped.shape == mask.shape and dropped.dtype == torch.bool
        assert not (dropped & ~mask).any()        # never switches a missing modality on
        assert dropped.any(dim=1).all()           # never drops every modality of a sample
    assert torch.equal(modality_dropout(mask, 0.0, g), mask)
    assert (modality_dropout(mask, 1.0, g).sum(dim=1) == 1).all()  # p = 1 keeps exactly one
    # Rows with several modalities lose about a fraction p of them.
    rich = mask.sum(dim=1) >= 3
    rate = 1 - modality_dropout(mask, 0.3, g)[rich].sum() / mask[rich].sum()
    assert 0.2 < rate.item() < 0.4
    # Deterministic under a generator; a different seed gives a different draw; the input is not modified.
    original = mask.clone()
    a = modality_dropout(mask, 0.5, torch.Generator().manual_seed(1))
    b = modality_dropout(mask, 0.5, torch.Generator().manual_seed(1))
    c = modality_dropout(mask, 0.5, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c) and torch.equal(mask, original)


def test_modality_dropout_rescues_a_random_modality():
    mask = torch.ones(2000, 4, dtype=torch.bool)
    kept = modality_dropout(mask, 1.0, torch.Generator().manual_seed(3)).float().mean(dim=0)
    assert torch.allclose(kept, torch.full((4,), 0.25), atol=0.05)  # uniformly chosen, not always the first


@pytest.mark.parametrize("name", ["concat", "weighted", "attention", "attention_query"])
def test_all_masked_sku_is_refused(name):
    mask = _mask(9)
    mask[3] = False
    with pytest.raises(AssertionError, match="at least one modality per SKU"):
        _run(name, _fusers()[name], _features(9), mask)
    with pytest.raises(AssertionError, match="every row needs a modality"):
        modality_dropout(mask, 0.5)


def test_wrong_shapes_and_settings_are_refused():
    fuser, features = WeightedSumFusion(MODALITIES, DIM), _features(10)
    with pytest.raises(AssertionError, match="mask must be"):
        fuser(features, torch.ones(BATCH, 3, dtype=torch.bool))
    with pytest.raises(AssertionError, match="must be a probability"):
        modality_dropout(torch.ones(2, 2, dtype=torch.bool), 1.5)
    with pytest.raises(AssertionError, match="at least one modality"):
        ConcatFusion({}, DIM)


def test_gated_fusion():
    torch.manual_seed(0)
    fuser = GatedFusion(image_dim=6, text_dim=5, dim=DIM)
    image, text = torch.randn(BATCH, 6, requires_grad=True), torch.randn(BATCH, 5, requires_grad=True)
    out = fuser(image, text)
    assert out.shape == (BATCH, DIM)
    assert torch.allclose(out.norm(dim=1), torch.ones(BATCH), atol=1e-5)
    (out * torch.randn_like(out)).sum().backward()
    for tensor in [image, text, *fuser.parameters()]:
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all() and tensor.grad.abs().sum() > 0
    # Written out: w_g · σ(gate([x, t])) ⊙ x + w_r · residual([x, t]), normalised.
    x, t = fuser.image_proj(image), fuser.text_proj(text)
    both = torch.cat([x, t], dim=1)
    manual = F.normalize(fuser.gate_weight * torch.sigmoid(fuser.gate(both)) * x
                         + fuser.residual_weight * fuser.residual(both), dim=1)
    assert torch.allclose(out, manual, atol=1e-6)
    # The modifier text matters: same photo, different text → different composed query.
    assert not torch.allclose(fuser(image, text), fuser(image, torch.randn(BATCH, 5)))
    with pytest.raises(RuntimeError):  # rows must pair up: PyTorch refuses to concatenate 10 and 3 rows
        fuser(image, text[:3])
