"""The check helpers of notebook 11 pass a right answer, fail wrong ones and report a stub as not done."""

import numpy as np
from PIL import Image

from mmlab.exercises.capstone import check_contributions, check_route


def stub(*args):
    raise NotImplementedError("write your code here")


def test_contributions_check(capsys):
    assert check_contributions(lambda w, p, q: w * (p @ q) / (w[:, None] * p).sum(0).norm())
    assert not check_contributions(lambda w, p, q: w * (p @ q))
    assert "divide every term by the norm" in capsys.readouterr().out
    assert not check_contributions(lambda w, p, q: p @ q)
    assert "weighted by its fusion weight" in capsys.readouterr().out
    assert not check_contributions(lambda w, p, q: w)
    assert not check_contributions(lambda w, p, q: "0.3")
    assert not check_contributions(stub)
    assert "not done yet" in capsys.readouterr().out


def route(query):
    if isinstance(query, tuple) and len(query) == 2 and isinstance(query[0], Image.Image) \
            and isinstance(query[1], str) and query[1].strip():
        return "composed"
    if isinstance(query, str) and query.strip():
        return "text"
    if isinstance(query, Image.Image):
        return "image"
    if isinstance(query, np.ndarray) and query.ndim == 1:
        return "voice"
    raise ValueError(f"cannot route {type(query).__name__}")


def test_route_check(capsys):
    assert check_route(route)
    assert not check_route(lambda q: "text" if isinstance(q, str) else route(q))
    assert "not a valid query" in capsys.readouterr().out
    assert not check_route(lambda q: "image" if isinstance(q, tuple) else route(q))
    assert "expected 'composed'" in capsys.readouterr().out
    assert not check_route(lambda q: route(q) if not isinstance(q, np.ndarray) else (_ for _ in ()).throw(TypeError()))
    assert "valid 'voice' query" in capsys.readouterr().out
    assert not check_route(lambda q: q.missing)
    assert "AttributeError" in capsys.readouterr().out
    assert not check_route(stub)
    assert "not done yet" in capsys.readouterr().out
