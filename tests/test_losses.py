"""Alignment losses: hand-computed values, loop-based reference implementations, torch's own losses, gradients,
the temperature clamp and bad input."""

import math

import pytest
import torch
import torch.nn.functional as F

from mmlab.losses import InfoNCELoss, SigmoidLoss, TripletLoss, semi_hard_negatives

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


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(a @ b / (a.norm() * b.norm()))


# ---------------------------------------------------------------- hand-computed values

def test_infonce_hand_computed():
    # τ = 0.5 → logits = 2 s = [[2, 1.2], [0, 1.6]]; for two classes CE = log(1 + e^-(l_pos - l_neg)).
    rows = (math.log1p(math.exp(-0.8)) + math.log1p(math.exp(-1.6))) / 2   # (0.3711 + 0.1839) / 2
    cols = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(-0.4))) / 2   # [2, 0], [1.2, 1.6]: (0.1269 + 0.5130) / 2
    expected = (rows + cols) / 2
    assert expected == pytest.approx(0.2987, abs=1e-4)
    loss = InfoNCELoss(temperature=0.5, learnable=False)
    assert loss(Q2, I2).item() == pytest.approx(expected, rel=1e-6)
    assert InfoNCELoss(temperature=0.5, learnable=False, symmetric=False)(Q2, I2).item() == pytest.approx(rows)
    # Embeddings are L2-normalised inside: scaling them changes nothing.
    assert loss(5 * Q2, 0.1 * I2).item() == pytest.approx(expected, rel=1e-6)


def test_infonce_starts_as_clip():
    loss = InfoNCELoss()
    assert loss.temperature == pytest.approx(0.07)
    assert loss.scale == pytest.approx(1 / 0.07)
    assert loss.log_scale.item() == pytest.approx(math.log(1 / 0.07))
    assert [name for name, _ in loss.named_parameters()] == ["log_scale"]
    assert list(InfoNCELoss(learnable=False).parameters()) == []


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
        loss = TripletLoss(margin=0.5, negatives=negatives, symmetric=symmetric)(Q3, I3)
        assert loss.item() == pytest.approx(expected, abs=1e-5), (negatives, symmetric)


def test_triplet_two_pairs_hand_computed():
    # s = [[1, 0.6], [0, 0.8]], margin 0.5: rows 0.1 and 0; columns 0 and 0.3.
    assert TripletLoss(margin=0.5)(Q2, I2).item() == pytest.approx((0.05 + 0.15) / 2)


def test_sigmoid_hand_computed():
    # t = 10, b = -10 → logits = 10 s - 10 = [[0, -4], [-10, -2]]; positives on the diagonal.
    # L = (1/2) [-log σ(0) - log σ(4) - log σ(10) - log σ(-2)]
    expected = (math.log(2) + math.log1p(math.exp(-4)) + math.log1p(math.exp(-10)) + math.log1p(math.exp(2))) / 2
    assert expected == pytest.approx(1.4191, abs=1e-4)
    loss = SigmoidLoss()
    assert loss.scale == pytest.approx(10.0) and loss.bias.item() == -10.0
    assert loss(Q2, I2).item() == pytest.approx(expected, rel=1e-6)
    # Marking (0, 1) as a positive flips the sign of its term: -log σ(-4) instead of -log σ(4).
    positives = torch.tensor([[True, True], [False, True]])
    flipped = expected + (math.log1p(math.exp(4)) - math.log1p(math.exp(-4))) / 2
    assert loss(Q2, I2, positives).item() == pytest.approx(flipped, rel=1e-6)


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
    loss = InfoNCELoss(temperature=0.1, learnable=False).double()
    eye = torch.eye(len(q), dtype=torch.bool).tolist()
    # rel 1e-6: log(1/τ) is stored in float32 even when the loss runs in float64
    assert loss(q, x).item() == pytest.approx(_infonce_loop(q, x, 10.0, eye), rel=1e-6)
    logits = 10.0 * F.normalize(q, dim=1) @ F.normalize(x, dim=1).T
    labels = torch.arange(len(q))
    clip_form = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    assert loss(q, x).item() == pytest.approx(clip_form.item(), rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multi_positive_infonce_matches_loop(seed):
    q, x = _random_batch(seed)
    positives = _random_positives(seed)
    assert positives.sum() > len(q)  # the case really has extra positives
    loss = InfoNCELoss(temperature=0.2, learnable=False).double()
    assert loss(q, x, positives).item() == pytest.approx(_infonce_loop(q, x, 5.0, positives.tolist()), rel=1e-6)
    assert loss(q, x, positives).item() != pytest.approx(loss(q, x).item(), rel=1e-3)


def test_multi_positive_with_diagonal_equals_plain():
    q, x = _random_batch(3)
    for loss in (InfoNCELoss().double(), TripletLoss(negatives="hardest"), SigmoidLoss().double()):
        diagonal = torch.eye(len(q), dtype=torch.bool)
        assert loss(q, x, diagonal).item() == pytest.approx(loss(q, x).item(), rel=1e-12)


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
    loss = TripletLoss(margin=0.3, negatives=negatives, symmetric=symmetric)
    expected = _triplet_loop(q, x, 0.3, negatives, positives.tolist(), symmetric)
    assert expected > 0
    assert loss(q, x, positives).item() == pytest.approx(expected, rel=1e-9)


def test_triplet_matches_torch_triplet_margin_loss():
    q, x = _random_batch(5, batch=5)
    n, margin = len(q), 0.25
    qn, xn = F.normalize(q, dim=1), F.normalize(x, dim=1)
    cosine_distance = lambda a, b: 1 - F.cosine_similarity(a, b)  # noqa: E731
    half_squared_euclidean = lambda a, b: F.pairwise_distance(a, b, eps=0).pow(2) / 2  # 1 - cos if unit  # noqa: E731
    # "hardest", queries→items: one triplet per anchor with the hardest negative.
    sim = (qn @ xn.T).masked_fill(torch.eye(n, dtype=torch.bool), -2)
    hardest = sim.argmax(dim=1)
    ours = TripletLoss(margin, "hardest", symmetric=False)(q, x).item()
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
    assert TripletLoss(margin, "sum", symmetric=False)(q, x).item() == pytest.approx(theirs.item(), rel=1e-9)


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
    loss = SigmoidLoss(scale=7.0, bias=-3.0).double()
    eye = torch.eye(len(q), dtype=torch.bool)
    assert loss(q, x).item() == pytest.approx(_sigmoid_loop(q, x, 7.0, -3.0, eye.tolist()), rel=1e-6)
    positives = _random_positives(seed)
    assert loss(q, x, positives).item() == pytest.approx(_sigmoid_loop(q, x, 7.0, -3.0, positives.tolist()),
                                                         rel=1e-6)


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
    assert TripletLoss(0.3, "semi_hard", symmetric=False)(q, x).item() == pytest.approx(expected.item(), rel=1e-12)


# ---------------------------------------------------------------- gradients and the temperature

@pytest.mark.parametrize("make", [InfoNCELoss, SigmoidLoss, lambda: TripletLoss(0.3, "hardest"),
                                  lambda: TripletLoss(0.3, "sum"), lambda: TripletLoss(0.5, "semi_hard")])
def test_gradients_are_finite_and_nonzero(make):
    q, x = _random_batch(7)
    q, x = q.float().requires_grad_(), x.float().requires_grad_()
    loss_fn = make()
    loss = loss_fn(q, x)
    loss.backward()
    tensors = [q, x, *loss_fn.parameters()]
    for tensor in tensors:
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all()
        assert tensor.grad.abs().sum() > 0
    assert len(list(loss_fn.parameters())) == {"InfoNCELoss": 1, "SigmoidLoss": 2}.get(type(loss_fn).__name__, 0)


def test_temperature_stays_within_clamp_when_pushed(one_thread):
    # Perfectly separable pairs (cos 1 to the partner, 0.9 to the others): the loss keeps falling as the scale
    # grows, so the optimiser pushes τ down; the small gap keeps the gradient from underflowing on the way.
    emb = torch.cat([math.sqrt(0.1) * torch.eye(8), math.sqrt(0.9) * torch.ones(8, 1)], dim=1)
    loss_fn = InfoNCELoss()
    optimiser = torch.optim.Adam(loss_fn.parameters(), lr=0.2)  # steps of ~0.2 whatever the gradient size
    for _ in range(25):  # log(100) - log(1/0.07) ≈ 1.95: the clamp is reached after ~12 steps
        optimiser.zero_grad()
        loss_fn(emb, emb).backward()
        optimiser.step()
        assert loss_fn.temperature >= 0.01 - 1e-9
        assert loss_fn.scale <= 100.0
    loss_fn(emb, emb)
    assert loss_fn.log_scale.item() == pytest.approx(math.log(100.0))
    assert loss_fn.temperature == pytest.approx(0.01)


def test_clamped_temperature_can_still_learn():
    # A parameter clamped only in the forward graph would get zero gradient above the limit and stay stuck there.
    loss_fn = InfoNCELoss()
    with torch.no_grad():
        loss_fn.log_scale.fill_(10.0)
    q, x = _random_batch(8)
    loss_fn.double()(q, x).backward()
    assert loss_fn.log_scale.item() == pytest.approx(math.log(100.0))
    assert loss_fn.log_scale.grad.abs().item() > 0


def test_two_forwards_before_backward():
    # Gradient accumulation: the in-place clamp must not break the first graph.
    loss_fn = InfoNCELoss().double()
    q1, x1 = _random_batch(9)
    q2, x2 = _random_batch(10)
    (loss_fn(q1, x1) + loss_fn(q2, x2)).backward()
    assert torch.isfinite(loss_fn.log_scale.grad)


def test_fixed_temperature_is_not_clamped():
    loss_fn = InfoNCELoss(temperature=0.005, learnable=False)
    assert loss_fn.temperature == pytest.approx(0.005)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("make", [InfoNCELoss, SigmoidLoss, TripletLoss])
def test_bad_shapes_raise(make):
    loss_fn = make()
    q = torch.randn(4, 8)
    with pytest.raises(ValueError, match="2-D"):
        loss_fn(q[0], q[0])
    with pytest.raises(ValueError, match="pair up"):
        loss_fn(q, torch.randn(3, 8))
    with pytest.raises(ValueError, match="dimension"):
        loss_fn(q, torch.randn(4, 6))
    with pytest.raises(ValueError, match="at least 2"):
        loss_fn(q[:1], q[:1])
    with pytest.raises(ValueError, match="NaN"):
        loss_fn(q, torch.full((4, 8), float("nan")))
    with pytest.raises(TypeError, match="float"):
        loss_fn(q.long(), q.long())
    with pytest.raises(ValueError, match="shape"):
        loss_fn(q, q, torch.eye(3, dtype=torch.bool))
    with pytest.raises(TypeError, match="bool"):
        loss_fn(q, q, torch.eye(4))
    with pytest.raises(ValueError, match="diagonal"):
        loss_fn(q, q, torch.zeros(4, 4, dtype=torch.bool))


def test_bad_options_raise():
    with pytest.raises(ValueError, match="temperature"):
        InfoNCELoss(temperature=0)
    with pytest.raises(ValueError, match="clamp"):
        InfoNCELoss(temperature=0.001)
    with pytest.raises(ValueError, match="negatives"):
        TripletLoss(negatives="hard")
    with pytest.raises(ValueError, match="margin"):
        TripletLoss(margin=0)
    with pytest.raises(ValueError, match="scale"):
        SigmoidLoss(scale=-1)
    with pytest.raises(ValueError, match="square"):
        semi_hard_negatives(torch.zeros(2, 3), torch.ones(2, 3, dtype=torch.bool), 0.2)
