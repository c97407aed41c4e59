"""``Module.load_state_dict`` and ``Optimizer.load_state_dict`` are all or nothing (issue 10,
item 6): everything is validated first, every bad key is named, and on failure nothing changes."""
import copy

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine
import nn
import optim


def snapshot(model):
    return {k: np.array(v.numpy(), copy=True) for k, v in model.state_dict().items()}


def make_model():
    engine.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


BAD_VALUES = {
    "string": lambda a: "not an array",
    "shape": lambda a: np.zeros(a.shape + (2,), a.dtype),
    "complex": lambda a: np.zeros(a.shape, np.complex64),
    "object": lambda a: np.array([object()] * max(a.size, 1), dtype=object).reshape(a.shape) if a.size else np.array(object()),
    "datetime": lambda a: np.zeros(a.shape, "datetime64[s]"),
    "none": lambda a: None,
}


@settings(deadline=None, max_examples=30)
@given(data=st.data())
def test_module_load_state_dict_changes_nothing_and_names_every_bad_key(data):
    model = make_model()
    good = {k: np.array(v.numpy(), copy=True) + 1 for k, v in model.state_dict().items()}
    keys = sorted(good)
    bad_keys = data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=4, unique=True))
    sd = dict(good)
    for k in bad_keys:
        sd[k] = BAD_VALUES[data.draw(st.sampled_from(sorted(BAD_VALUES)))](good[k])
    before = snapshot(model)
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(sd)
    for k in bad_keys:
        assert k in str(err.value)
    for k, v in snapshot(model).items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    model.load_state_dict(good)                  # and a good dict loads completely
    for k, v in snapshot(model).items():
        np.testing.assert_array_equal(v, good[k].astype(v.dtype), err_msg=k)


def test_module_load_state_dict_with_the_last_entry_a_string_changes_nothing():
    """The issue's case: 12 of 13 entries used to be overwritten before the failure."""
    model = nn.Sequential(*[nn.Linear(2, 2) for _ in range(6)], nn.BatchNorm1d(2))
    sd = {k: np.array(v.numpy(), copy=True) + 7 for k, v in model.state_dict().items()}
    last = list(sd)[-1]
    sd[last] = "oops"
    before = snapshot(model)
    with pytest.raises(RuntimeError, match=last):
        model.load_state_dict(sd)
    assert all(np.array_equal(v, before[k]) for k, v in snapshot(model).items())


def test_module_load_state_dict_rejects_non_integer_floats_for_integer_buffers():
    bn = nn.BatchNorm1d(2)
    sd = dict(bn.state_dict(), num_batches_tracked=np.array(2.5))
    with pytest.raises(RuntimeError, match="num_batches_tracked"):
        bn.load_state_dict(sd)
    bn.load_state_dict(dict(bn.state_dict(), num_batches_tracked=np.array(3.0)))
    assert int(bn.num_batches_tracked.item()) == 3


def trained_optimizer(kind):
    engine.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    opt = {"adam": lambda p: optim.Adam(p, lr=0.1, amsgrad=True), "sgd": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
           "rmsprop": lambda p: optim.RMSprop(p, lr=0.1, centered=True)}[kind](model.parameters())
    for _ in range(2):
        opt.zero_grad()
        model(engine.randn(5, 3)).pow(2).sum().backward()
        opt.step()
    return model, opt


def opt_snapshot(opt):
    return copy.deepcopy(({k: {n: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for n, v in s.items()}
                           for k, s in opt.state_dict()["state"].items()}, opt.state_dict()["param_groups"]))


def same(a, b):
    (sa, ga), (sb, gb) = a, b
    assert ga == gb and sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].keys() == sb[k].keys()
        for n in sa[k]:
            np.testing.assert_array_equal(sa[k][n], sb[k][n])


@pytest.mark.parametrize("kind", ["adam", "sgd", "rmsprop"])
@pytest.mark.parametrize("corrupt", ["wrong_shape", "string", "complex", "bad_key", "step_array"])
def test_optimizer_load_state_dict_changes_nothing_on_failure(kind, corrupt):
    _, opt = trained_optimizer(kind)
    _, other = trained_optimizer(kind)
    sd = copy.deepcopy(other.state_dict())
    name = next(n for n in sd["state"][1] if n != "step")
    if corrupt == "wrong_shape":
        sd["state"][1][name] = np.zeros(7)
    elif corrupt == "string":
        sd["state"][1][name] = "zeros"
    elif corrupt == "complex":
        sd["state"][1][name] = np.zeros(np.shape(sd["state"][1][name]), np.complex128)
    elif corrupt == "bad_key":
        sd["state"]["one"] = sd["state"].pop(1)
    else:
        sd["state"][1]["step"] = np.ones(3)
        name = "step"
    sd["param_groups"][0]["lr"] = 123.0
    before = opt_snapshot(opt)
    with pytest.raises((ValueError, TypeError)) as err:
        opt.load_state_dict(sd)
    assert ("'one'" if corrupt == "bad_key" else repr(name)) in str(err.value)
    same(opt_snapshot(opt), before)
    assert opt.param_groups[0]["lr"] != 123.0


@pytest.mark.parametrize("kind", ["adam", "rmsprop"])
def test_optimizer_load_state_dict_names_every_bad_entry_at_once(kind):
    """Several bad entries of different kinds (shape, string, complex dtype): one error naming all."""
    _, opt = trained_optimizer(kind)
    sd = copy.deepcopy(opt.state_dict())
    names = [n for n in sd["state"][0] if n != "step"]
    sd["state"][0][names[0]] = np.zeros(7)
    sd["state"][2][names[-1]] = "zeros"
    sd["state"][3][names[0]] = np.zeros(np.shape(sd["state"][3][names[0]]), np.complex64)
    before = opt_snapshot(opt)
    with pytest.raises((ValueError, TypeError)) as err:
        opt.load_state_dict(sd)
    for where in (f"state[0][{names[0]!r}]", f"state[2][{names[-1]!r}]", f"state[3][{names[0]!r}]"):
        assert where in str(err.value), (where, str(err.value))
    same(opt_snapshot(opt), before)


@pytest.mark.parametrize("bad", [None, [], {"state": {}}, {"state": [], "param_groups": []},
                                 {"state": {}, "param_groups": [{"lr": 1}]}, {"state": {}, "param_groups": "x"}])
def test_optimizer_load_state_dict_rejects_malformed_dicts(bad):
    _, opt = trained_optimizer("adam")
    before = opt_snapshot(opt)
    with pytest.raises((ValueError, TypeError)):
        opt.load_state_dict(bad)
    same(opt_snapshot(opt), before)


def test_optimizer_state_round_trips_through_a_checkpoint(tmp_path):
    model, opt = trained_optimizer("adam")
    engine.save(opt.state_dict(), tmp_path / "opt.npz")
    _, fresh = trained_optimizer("adam")
    fresh.load_state_dict(engine.load(tmp_path / "opt.npz"))
    same(opt_snapshot(fresh), opt_snapshot(opt))


@pytest.mark.parametrize("bad, message", [
    (None, r"must be a dict with 'state' and 'param_groups'"),
    ({"state": {}}, r"must be a dict with 'state' and 'param_groups'"),
    ({"param_groups": []}, r"must be a dict with 'state' and 'param_groups'"),
    ({"state": {}, "param_groups": [{"lr": 1}]}, r"\['param_groups'\] must be a list of dicts with a 'params' list"),
    ({"state": [], "param_groups": [{"params": [0, 1, 2, 3]}]}, r"\['state'\] must be a dict"),
    ({"state": {}, "param_groups": [{"params": [0]}, {"params": [1]}]}, r"different number of parameter groups"),
    ({"state": {}, "param_groups": [{"params": [0]}]}, r"doesn't match the size of optimizer's group"),
    ({"state": {}, "param_groups": [{"params": ["a", 1, 2, 3]}]}, r"parameter index 'a' is not an integer"),
    ({"state": {0: 5}, "param_groups": [{"params": [0, 1, 2, 3]}]}, r"state\[0\] is a int, not a dict"),
    ({"state": {0: {"step": "x"}}, "param_groups": [{"params": [0, 1, 2, 3]}]}, r"state\[0\]\['step'\]: expected a number"),
    ({"state": {0: {"step": np.ones(2)}}, "param_groups": [{"params": [0, 1, 2, 3]}]}, r"expected a single number, got shape \(2,\)"),
    ({"state": {0: {"exp_avg": np.ones(2, complex)}}, "param_groups": [{"params": [0, 1, 2, 3]}]}, r"real numeric array, got dtype complex128"),
    ({"state": {0: {"exp_avg": np.ones(5)}}, "param_groups": [{"params": [0, 1, 2, 3]}]}, r"shape \(5,\) does not fit the parameter's shape \(4, 3\)"),
])
def test_optimizer_load_state_dict_messages_say_what_is_wrong(bad, message):
    _, opt = trained_optimizer("adam")
    before = opt_snapshot(opt)
    with pytest.raises((ValueError, TypeError), match=message):
        opt.load_state_dict(bad)
    same(opt_snapshot(opt), before)
    if isinstance(bad, dict) and "param_groups" in bad and "state" in bad and isinstance(bad["state"], dict) \
            and bad["state"]:
        assert "nothing changed" in str(pytest.raises((ValueError, TypeError), opt.load_state_dict, bad).value)


def test_loaded_hyper_parameters_are_copies_and_tuples_stay_tuples():
    _, opt = trained_optimizer("adam")
    sd = opt.state_dict()
    assert isinstance(sd["param_groups"][0]["betas"], list)          # JSON friendly
    sd["param_groups"][0]["extra"] = [1, 2]
    opt.load_state_dict(sd)
    assert isinstance(opt.param_groups[0]["betas"], tuple)
    sd["param_groups"][0]["extra"].append(3)                        # the caller's dict is not aliased
    assert opt.param_groups[0]["extra"] == [1, 2]
    assert opt.step() is None                                       # no closure: returns None


def test_none_entries_and_single_tensor_groups_load():
    model, opt = trained_optimizer("sgd")
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["momentum_buffer"] = None                        # an uninitialised buffer
    opt.load_state_dict(sd)
    assert opt.state[list(model.parameters())[0]]["momentum_buffer"] is None
    extra = engine.ones(2, requires_grad=True)
    opt.add_param_group({"params": extra, "lr": 0.5})               # a lone Tensor is a group of one
    assert opt.param_groups[-1]["params"] == [extra] or opt.param_groups[-1]["params"][0] is extra
    assert len(opt.param_groups[-1]["params"]) == 1
