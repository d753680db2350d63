"""The engine's reading of answer sets (mrs_asp/engine.py)."""

from __future__ import annotations

from clingo import Function, Number, String
from hypothesis import given, settings
from hypothesis import strategies as st

from mrs_asp.engine import atom_texts, pointer_of

_NAMES = st.sampled_from(["a", "cites", "ptr", "x_1", "reported", "y'"])
_TERMS = st.recursive(
    st.one_of(st.integers(-5, 500).map(Number), _NAMES.map(Function),
              st.text(max_size=8).map(String),
              st.sampled_from(['x),y(', '),a(', ')', ',']).map(String)),
    lambda inner: st.builds(Function, _NAMES, st.lists(inner, min_size=1, max_size=3)),
    max_leaves=8,
)
_ATOMS = st.builds(Function, _NAMES, st.lists(_TERMS, min_size=1, max_size=4))


@settings(max_examples=300, deadline=None)
@given(st.lists(_ATOMS, max_size=12))
def test_success_atom_texts_are_the_atoms_str(atoms) -> None:
    assert atom_texts(atoms) == [str(a) for a in atoms]


def test_success_atom_texts_of_answer_atoms() -> None:
    atoms = [Function("explained", [Number(0), Function("applies"), Function("root"),
                                    Function("met")]),
             Function("cites", [Number(0), Function("glioma_grading"),
                                Function("ptr", [Function("findings"), Function("glioma")])]),
             Function("cites", [Number(1), Function("incompatible_device"),
                                Function("ptr", [Function("implants"), Number(0),
                                                 Function("mr_status")])]),
             Function("determination", [Number(1), Function("denied")])]
    assert atom_texts(atoms) == [
        "explained(0,applies,root,met)", "cites(0,glioma_grading,ptr(findings,glioma))",
        "cites(1,incompatible_device,ptr(implants,0,mr_status))", "determination(1,denied)"]
    assert pointer_of("ptr(implants,0,mr_status)") == "/implants/0/mr_status"


def test_success_a_boundary_inside_an_atom_falls_back() -> None:
    atoms = [Function("a", [String("x),b(")]), Function("b", [Number(1)])]
    assert atom_texts(atoms) == ['a("x),b(")', "b(1)"]
    nested = [Function("c", [Function("f", [Function("g", [Number(1)]),
                                            Function("h", [Number(2)])])]),
              Function("d", [Number(3)])]
    assert atom_texts(nested) == ["c(f(g(1),h(2)))", "d(3)"]
