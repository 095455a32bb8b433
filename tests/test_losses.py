"""Alignment losses (notebook 07's, as saved in mmlab.models.losses): hand-computed values, loop-based reference
implementations, torch's own losses, gradients, the temperature clamp and bad input."""

import math

import pytest
import torch
import torch.nn.functional as F

from mmlab.models.losses import (LogitScale, alignment_loss, info_nce, logit_scale, semi_hard_negatives, sigmoid_loss,
                                 similarity, triplet_loss, triplet_rows)

# Two pairs of unit vectors with cosine similarity matrix s = [[1, 0.6], [0, 0.8]].
Q2 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
I2 = torch.tensor([[1.0, 0.0], [0.6, 0.8]])

# Three pairs: items are the basis vectors, so s = Q3 (rows are unit vectors):
#   s = [[0.6, 0.48, 0.64],
#        [0.0, 0.6,  0.8 ],
#        [0.0, 0.0,  1.0 ]]
Q3 = torch.tensor([[0.6, 0.48, 0.64], [0.0, 0.6, 0.8], [0.0, 0.0, 1.0]])
I3 = torch.eye(3)


def _random_batch(seed: int, batch: int = 6, dim: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, dim, generator=g, dtype=torch.float64), torch.randn(batch, dim, generator=g,
                                                                                  dtype=torch.float64)


def _random_positives(seed: int, batch: int = 6) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, batch, generator=g) < 0.3) | torch.eye(batch, dtype=torch.bool)


def _eye(n: int) -> torch.Tensor:
    return torch.eye(n, dtype=torch.bool)


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a @ b / (a.norm() * b.norm()))


def infonce(q, x, temperature=0.07, positives=None):
    """InfoNCE of embeddings at a fixed temperature, as the towers compute it."""
    scale = LogitScale(temperature, learnable=False).double()
    return info_nce(scale(similarity(q, x)), _eye(len(q)) if positives is None else positives)


def sigmoid(q, x, scale=10.0, bias=-10.0, positives=None):
    logits = LogitScale(1 / scale, learnable=False, bias=bias).double()(similarity(q, x))
    return sigmoid_loss(logits, _eye(len(q)) if positives is None else positives)


def triplet(q, x, margin, negatives, positives=None, symmetric=True):
    sim, positives = similarity(q, x), _eye(len(q)) if positives is None else positives
    if symmetric:
        return triplet_loss(sim, positives, margin, negatives)
    return triplet_rows(sim, positives, margin, negatives)


# ---------------------------------------------------------------- hand-computed values

def test_infonce_hand_computed():
    # τ = 0.5 → logits = 2 s = [[2, 1.2], [0, 1.6]]; for two classes CE = log(1 + e^-(l_pos - l_neg)).
    rows = (math.log1p(math.exp(-0.8)) + math.log1p(math.exp(-1.6))) / 2   # (0.3711 + 0.1839) / 2
    cols = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(-0.4))) / 2   # [2, 0], [1.2, 1.6]: (0.1269 + 0.5130) / 2
    expected = (rows + cols) / 2
    assert expected == pytest.approx(0.2987, abs=1e-4)
    assert infonce(Q2, I2, 0.5).item() == pytest.approx(expected, rel=1e-6)
    # Embeddings are L2-normalised inside: scaling them changes nothing.
    assert infonce(5 * Q2, 0.1 * I2, 0.5).item() == pytest.approx(expected, rel=1e-6)


def test_infonce_scale_starts_as_clip():
    scale = logit_scale("infonce")
    assert scale.temperature == pytest.approx(0.07)
    assert scale.log_scale.item() == pytest.approx(math.log(1 / 0.07))
    assert [name for name, _ in scale.named_parameters()] == ["log_scale"]
    assert list(logit_scale("infonce", learnable=False).parameters()) == []
    assert [name for name, _ in logit_scale("sigmoid", 0.1).named_parameters()] == ["log_scale", "bias"]
    assert list(logit_scale("triplet_sum").parameters()) == []


def test_triplet_hand_computed():
    # margin 0.5, hinge_ij = max(0, 0.5 - s_ii + s_ij).
    # queries→items, rows:  anchor 0: 0.38 + 0.54; anchor 1: 0 + 0.7; anchor 2: 0 + 0
    # items→queries, cols:  item 0: 0 + 0;        item 1: 0.38 + 0;  item 2: 0.14 + 0.3
    cases = {
        ("sum", False): (0.92 + 0.7 + 0) / 3,
        ("hardest", False): (0.54 + 0.7 + 0) / 3,
        ("sum", True): ((0.92 + 0.7) / 3 + (0.38 + 0.44) / 3) / 2,
        ("hardest", True): ((0.54 + 0.7) / 3 + (0.38 + 0.3) / 3) / 2,
        # semi-hard band (s_ii - 0.5, s_ii): anchor 0 takes s=0.48 (0.38); anchor 1 has none → hardest 0.8 (0.7)
        ("semi_hard", False): (0.38 + 0.7 + 0) / 3,
    }
    for (negatives, symmetric), expected in cases.items():
        loss = triplet(Q3, I3, 0.5, negatives, symmetric=symmetric)
        assert loss.item() == pytest.approx(expected, abs=1e-5), (negatives, symmetric)


def test_triplet_two_pairs_hand_computed():
    # s = [[1, 0.6], [0, 0.8]], margin 0.5: rows 0.1 and 0; columns 0 and 0.3.
    assert triplet(Q2, I2, 0.5, "sum").item() == pytest.approx((0.05 + 0.15) / 2)


def test_sigmoid_hand_computed():
    # t = 10, b = -10 → logits = 10 s - 10 = [[0, -4], [-10, -2]]; positives on the diagonal.
    # L = (1/2) [-log σ(0) - log σ(4) - log σ(10) - log σ(-2)]
    expected = (math.log(2) + math.log1p(math.exp(-4)) + math.log1p(math.exp(-10)) + math.log1p(math.exp(2))) / 2
    assert expected == pytest.approx(1.4191, abs=1e-4)
    scale = logit_scale("sigmoid", temperature=0.1)
    assert scale.temperature == pytest.approx(0.1) and scale.bias.item() == -10.0
    assert sigmoid(Q2, I2).item() == pytest.approx(expected, rel=1e-6)
    # Marking (0, 1) as a positive flips the sign of its term: -log σ(-4) instead of -log σ(4).
    positives = torch.tensor([[True, True], [False, True]])
    flipped = expected + (math.log1p(math.exp(4)) - math.log1p(math.exp(-4))) / 2
    assert sigmoid(Q2, I2, positives=positives).item() == pytest.approx(flipped, rel=1e-6)


# ---------------------------------------------------------------- independent implementations

def _infonce_loop(q, x, scale, positives):
    """Mean over rows of -(1/|P_i|) Σ_{p∈P_i} log(e^{l_ip} / Σ_j e^{l_ij}), averaged with the same on columns."""
    n = len(q)
    logits = [[scale * _cos(q[i], x[j]) for j in range(n)] for i in range(n)]

    def one_way(l, pos):
        total = 0.0
        for i in range(n):
            log_denominator = math.log(sum(math.exp(l[i][j]) for j in range(n)))
            hits = [j for j in range(n) if pos[i][j]]
            total += -sum(l[i][j] - log_denominator for j in hits) / len(hits)
        return total / n

    transposed = [[logits[j][i] for j in range(n)] for i in range(n)]
    pos_t = [[positives[j][i] for j in range(n)] for i in range(n)]
    return (one_way(logits, positives) + one_way(transposed, pos_t)) / 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_infonce_matches_loop_and_cross_entropy(seed):
    q, x = _random_batch(seed)
    eye = torch.eye(len(q), dtype=torch.bool).tolist()
    # rel 1e-6: log(1/τ) is stored in float32 even when the loss runs in float64
    assert infonce(q, x, 0.1).item() == pytest.approx(_infonce_loop(q, x, 10.0, eye), rel=1e-6)
    logits = 10.0 * F.normalize(q, dim=1) @ F.normalize(x, dim=1).T
    labels = torch.arange(len(q))
    clip_form = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    assert infonce(q, x, 0.1).item() == pytest.approx(clip_form.item(), rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multi_positive_infonce_matches_loop(seed):
    q, x = _random_batch(seed)
    positives = _random_positives(seed)
    assert positives.sum() > len(q)  # the case really has extra positives
    value = infonce(q, x, 0.2, positives).item()
    assert value == pytest.approx(_infonce_loop(q, x, 5.0, positives.tolist()), rel=1e-6)
    assert value != pytest.approx(infonce(q, x, 0.2).item(), rel=1e-3)


def test_one_hot_targets_equal_class_indices():
    # With only the diagonal marked, the soft targets are one-hot: the plain CLIP loss with class indices.
    q, x = _random_batch(3)
    logits = 10.0 * similarity(q, x)
    labels = torch.arange(len(q))
    plain = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    assert info_nce(logits, _eye(len(q))).item() == pytest.approx(plain.item(), rel=1e-12)


def test_one_way_infonce_with_ignored_pairs_is_the_masked_cross_entropy():
    # A (queries, items) batch, one target per query, further relevant items ignored: the loss notebook 03's text
    # encoder trains with, against plain cross-entropy with the ignored logits at -inf (loss and gradient).
    generator = torch.Generator().manual_seed(3)
    logits = (torch.randn(7, 4, generator=generator) * 5).requires_grad_()
    targets = torch.tensor([0, 1, 2, 3, 0, 1, 2])
    ignore = torch.zeros(7, 4, dtype=torch.bool)
    ignore[0, 3] = ignore[4, 1] = True
    ours = info_nce(logits, F.one_hot(targets, 4).bool(), symmetric=False, ignore=ignore)
    plain = F.cross_entropy(logits.masked_fill(ignore, -math.inf), targets)
    assert ours.item() == pytest.approx(plain.item(), rel=1e-6)
    assert torch.equal(torch.autograd.grad(ours, logits)[0], torch.autograd.grad(plain, logits)[0])


def test_one_way_infonce_rejects_a_row_without_positive_and_an_ignored_positive():
    logits, positives = torch.zeros(3, 2), torch.tensor([[True, False], [False, True], [False, False]])
    with pytest.raises(ValueError, match="True in every row"):
        info_nce(logits, positives, symmetric=False)
    positives[2, 0] = True
    with pytest.raises(ValueError, match="either a positive or ignored"):
        info_nce(logits, positives, symmetric=False, ignore=positives.clone())


def _triplet_loop(q, x, margin, negatives, positives, symmetric):
    n = len(q)
    s = [[_cos(q[i], x[j]) for j in range(n)] for i in range(n)]

    def one_way(s, pos):
        total = 0.0
        for i in range(n):
            hinges = [max(0.0, margin - s[i][i] + s[i][j]) for j in range(n) if not pos[i][j]]
            if negatives == "semi_hard":
                band = [s[i][j] for j in range(n) if not pos[i][j] and s[i][i] - margin < s[i][j] < s[i][i]]
                others = [s[i][j] for j in range(n) if not pos[i][j]]
                chosen = max(band) if band else max(others, default=None)
                total += 0.0 if chosen is None else max(0.0, margin - s[i][i] + chosen)
            elif negatives == "sum":
                total += sum(hinges)
            else:
                total += max(hinges, default=0.0)
        return total / n

    forward = one_way(s, positives)
    if not symmetric:
        return forward
    s_t = [[s[j][i] for j in range(n)] for i in range(n)]
    pos_t = [[positives[j][i] for j in range(n)] for i in range(n)]
    return (forward + one_way(s_t, pos_t)) / 2


@pytest.mark.parametrize("negatives", ["sum", "hardest", "semi_hard"])
@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("masked", [False, True])
def test_triplet_matches_loop(negatives, symmetric, masked):
    q, x = _random_batch(4)
    positives = _random_positives(4) if masked else torch.eye(len(q), dtype=torch.bool)
    expected = _triplet_loop(q, x, 0.3, negatives, positives.tolist(), symmetric)
    assert expected > 0
    assert triplet(q, x, 0.3, negatives, positives, symmetric).item() == pytest.approx(expected, rel=1e-9)


def test_triplet_matches_torch_triplet_margin_loss():
    q, x = _random_batch(5, batch=5)
    n, margin = len(q), 0.25
    qn, xn = F.normalize(q, dim=1), F.normalize(x, dim=1)
    cosine_distance = lambda a, b: 1 - F.cosine_similarity(a, b)  # noqa: E731
    half_squared_euclidean = lambda a, b: F.pairwise_distance(a, b, eps=0).pow(2) / 2  # 1 - cos if unit  # noqa: E731
    # "hardest", queries→items: one triplet per anchor with the hardest negative.
    sim = (qn @ xn.T).masked_fill(torch.eye(n, dtype=torch.bool), -2)
    hardest = sim.argmax(dim=1)
    ours = triplet(q, x, margin, "hardest", symmetric=False).item()
    theirs = F.triplet_margin_with_distance_loss(q, x, x[hardest], distance_function=cosine_distance, margin=margin)
    assert ours == pytest.approx(theirs.item(), rel=1e-9)
    theirs = F.triplet_margin_with_distance_loss(qn, xn, xn[hardest], distance_function=half_squared_euclidean,
                                                 margin=margin)
    assert ours == pytest.approx(theirs.item(), rel=1e-9)
    # "sum": every (anchor, negative) triplet, summed, divided by the number of anchors.
    i, j = zip(*[(i, j) for i in range(n) for j in range(n) if i != j])
    anchors, pos, neg = q[list(i)], x[list(i)], x[list(j)]
    theirs = F.triplet_margin_with_distance_loss(anchors, pos, neg, distance_function=cosine_distance, margin=margin,
                                                 reduction="sum") / n
    assert triplet(q, x, margin, "sum", symmetric=False).item() == pytest.approx(theirs.item(), rel=1e-9)


def _sigmoid_loop(q, x, t, b, positives):
    n = len(q)
    total = 0.0
    for i in range(n):
        for j in range(n):
            z = 1.0 if positives[i][j] else -1.0
            total += math.log1p(math.exp(-z * (t * _cos(q[i], x[j]) + b)))  # -log σ(z·logit)
    return total / n


@pytest.mark.parametrize("seed", [0, 1])
def test_sigmoid_matches_loop(seed):
    q, x = _random_batch(seed)
    eye = torch.eye(len(q), dtype=torch.bool)
    assert sigmoid(q, x, 7.0, -3.0).item() == pytest.approx(_sigmoid_loop(q, x, 7.0, -3.0, eye.tolist()), rel=1e-6)
    positives = _random_positives(seed)
    assert sigmoid(q, x, 7.0, -3.0, positives).item() == pytest.approx(
        _sigmoid_loop(q, x, 7.0, -3.0, positives.tolist()), rel=1e-6)


# ---------------------------------------------------------------- semi-hard mining

def test_semi_hard_picks_expected_index():
    sim = torch.tensor([
        [0.9, 0.95, 0.8, 0.3, 0.85],  # band (0.7, 0.9): 0.8 and 0.85 → the harder, index 4; 0.95 is too hard
        [0.2, 0.5, 0.9, 0.8, 0.1],    # band (0.3, 0.5): none → hardest negative, index 2
        [0.1, 0.2, 0.9, 0.3, 0.95],   # index 4 would be hardest but is a positive; band (0.7, 0.9) empty → 3
        [0.6, 0.65, 0.0, 0.7, 0.1],   # band (0.5, 0.7): 0.6 and 0.65 → index 1
        [0.4, 0.4, 0.4, 0.4, 0.5],    # all four are positives → -1
    ])
    positives = torch.eye(5, dtype=torch.bool)
    positives[2, 4] = True
    positives[4] = True
    assert semi_hard_negatives(sim, positives, margin=0.2).tolist() == [4, 2, 3, 1, -1]


def test_semi_hard_triplet_uses_the_miner():
    q, x = _random_batch(6)
    sim = F.normalize(q, dim=1) @ F.normalize(x, dim=1).T
    index = semi_hard_negatives(sim, torch.eye(len(q), dtype=torch.bool), margin=0.3)
    expected = (0.3 - sim.diagonal() + sim[torch.arange(len(q)), index]).clamp(min=0).mean()
    assert triplet(q, x, 0.3, "semi_hard", symmetric=False).item() == pytest.approx(expected.item(), rel=1e-12)


# ---------------------------------------------------------------- gradients and the temperature

@pytest.mark.parametrize("name", ["infonce", "sigmoid", "triplet_sum", "triplet_hardest", "triplet_semi_hard"])
def test_gradients_are_finite_and_nonzero(name):
    q, x = _random_batch(7)
    q, x = q.float().requires_grad_(), x.float().requires_grad_()
    scale = logit_scale(name, 0.07)
    alignment_loss(name, q, x, _eye(len(q)), scale, margin=0.5).backward()
    for tensor in [q, x, *scale.parameters()]:
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all()
        assert tensor.grad.abs().sum() > 0
    assert len(list(scale.parameters())) == {"infonce": 1, "sigmoid": 2}.get(name, 0)


def test_temperature_stays_within_clamp_when_pushed(one_thread):
    # Perfectly separable pairs (cos 1 to the partner, 0.9 to the others): the loss keeps falling as the scale
    # grows, so the optimiser pushes τ down; the small gap keeps the gradient from underflowing on the way.
    emb = torch.cat([math.sqrt(0.1) * torch.eye(8), math.sqrt(0.9) * torch.ones(8, 1)], dim=1)
    scale = LogitScale()
    optimiser = torch.optim.Adam(scale.parameters(), lr=0.2)  # steps of ~0.2 whatever the gradient size
    for _ in range(25):  # log(100) - log(1/0.07) ≈ 1.95: the clamp is reached after ~12 steps
        optimiser.zero_grad()
        info_nce(scale(similarity(emb, emb)), _eye(8)).backward()
        optimiser.step()
        assert scale.temperature >= 0.01 - 1e-9
    scale(similarity(emb, emb))
    assert scale.log_scale.item() == pytest.approx(math.log(100.0))
    assert scale.temperature == pytest.approx(0.01)


def test_clamped_temperature_can_still_learn():
    # A parameter clamped only in the forward graph would get zero gradient above the limit and stay stuck there.
    scale = LogitScale()
    with torch.no_grad():
        scale.log_scale.fill_(10.0)
    q, x = _random_batch(8)
    info_nce(scale.double()(similarity(q, x)), _eye(len(q))).backward()
    assert scale.log_scale.item() == pytest.approx(math.log(100.0))
    assert scale.log_scale.grad.abs().item() > 0


def test_two_forwards_before_backward():
    # Gradient accumulation: the in-place clamp must not break the first graph.
    scale = LogitScale().double()
    (q1, x1), (q2, x2) = _random_batch(9), _random_batch(10)
    (info_nce(scale(similarity(q1, x1)), _eye(6)) + info_nce(scale(similarity(q2, x2)), _eye(6))).backward()
    assert torch.isfinite(scale.log_scale.grad)


def test_fixed_temperature_is_not_clamped():
    assert LogitScale(temperature=0.005, learnable=False).temperature == pytest.approx(0.005)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("loss", [info_nce, sigmoid_loss, triplet_loss])
def test_bad_batches_raise(loss):
    q = torch.randn(4, 8)
    sim, eye = similarity(q, q), _eye(4)
    for scores, positives, message in [
            (sim[0], eye, r"scores must be a float \(B, B\) matrix"), (sim[:3], eye, r"\(B, B\)"),
            (sim[:1, :1], eye[:1, :1], "B >= 2"), (sim.long(), eye, "float"),
            (torch.full((4, 4), math.nan), eye, "NaN"), (sim, _eye(3), r"bool \(4, 4\) mask"),
            (sim, eye.float(), "bool"), (sim, torch.zeros(4, 4, dtype=torch.bool), "diagonal")]:
        with pytest.raises(ValueError, match=message):
            loss(scores, positives)


def test_similarity_needs_paired_batches():
    q = torch.randn(4, 8)
    for items in (torch.randn(3, 8), torch.randn(4, 6)):
        with pytest.raises(ValueError, match="same shape, B >= 2: pair query i with item i"):
            similarity(q, items)
    with pytest.raises(ValueError, match="B >= 2"):
        similarity(q[:1], q[:1])


def test_bad_options_raise():
    with pytest.raises(ValueError, match="temperature=0 must be > 0"):
        LogitScale(temperature=0)
    with pytest.raises(ValueError, match="at most max_scale=100"):
        LogitScale(temperature=0.001)
    sim, eye = similarity(*_random_batch(0)), _eye(6)
    with pytest.raises(ValueError, match="unknown negatives='hard'; choose one of 'sum', 'hardest', 'semi_hard'"):
        triplet_loss(sim, eye, negatives="hard")
    with pytest.raises(ValueError, match="margin=0 must be > 0; 0.2 is a common start"):
        triplet_loss(sim, eye, margin=0)
