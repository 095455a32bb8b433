"""The check helpers of notebook 11 pass a right answer, fail wrong ones and report a stub as not done."""

from mmlab.exercises.capstone import check_contributions, check_cheaper


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


def cheaper(skus, source):
    row = skus.iloc[source]
    return ((skus.type_id == row.type_id) & (skus.colour == row.colour) & (skus.price < row.price)).to_numpy()


def test_cheaper_check(capsys):
    assert check_cheaper(cheaper)
    assert not check_cheaper(lambda skus, source: (skus.price < skus.price[source]).to_numpy())
    assert "another type" in capsys.readouterr().out
    assert not check_cheaper(lambda skus, source: ((skus.type_id == 1) & (skus.price < 20)).to_numpy())
    assert "another colour" in capsys.readouterr().out
    assert not check_cheaper(lambda skus, source: ((skus.type_id == 1) & (skus.colour == "red")
                                                   & (skus.price <= 20)).to_numpy())
    assert "strictly lower" in capsys.readouterr().out
    assert not check_cheaper(lambda skus, source: cheaper(skus, source).astype(int))
    assert "boolean mask" in capsys.readouterr().out
    assert not check_cheaper(lambda skus, source: cheaper(skus, source) & (skus.price > 15).to_numpy())
    assert "both pass" in capsys.readouterr().out
    assert not check_cheaper(stub)
    assert "not done yet" in capsys.readouterr().out
