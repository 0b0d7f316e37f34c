"""The contract is where CONTRIBUTING says it is: each interface's docstring and each abstract verb's."""
import inspect

import pytest

from inria.interfaces import INTERFACES, Component, VerbSpec

ABSTRACT = {
    "index": {"train", "add", "search", "ntotal"},
    "codec": {"compress", "decompress"},
    "watermarker": {"embed", "detect"},
    "curator": {"fit", "sample"},
    "backbone": {"module", "embed", "classify"},
}


def _abstract(cls):
    return {name for name, attr in vars(cls).items() if getattr(attr, "__isabstractmethod__", False)}


def test_the_five_interfaces_are_covered():
    assert set(INTERFACES) == set(ABSTRACT)


@pytest.mark.parametrize("interface", sorted(ABSTRACT))
def test_interface_class_and_abstract_verbs_have_docstrings(interface):
    cls = INTERFACES[interface]
    doc = cls.__doc__ or ""
    assert len(doc.strip()) > 200, f"{cls.__name__} has no contract docstring"
    assert "contract" in doc.lower()
    assert _abstract(cls) == ABSTRACT[interface]
    for name in ABSTRACT[interface]:
        attr = vars(cls)[name]
        fn = attr.fget if isinstance(attr, property) else attr
        assert (inspect.getdoc(fn) or "").strip(), f"{cls.__name__}.{name} has no docstring"


@pytest.mark.parametrize("interface", sorted(ABSTRACT))
def test_every_recipe_verb_has_a_doc(interface):
    verbs = INTERFACES[interface].verbs()
    assert verbs
    for spec in verbs.values():
        assert spec.doc.strip(), f"{interface} verb '{spec.name}' has no docstring"


def test_bases_have_docstrings():
    for cls in (Component, VerbSpec):
        assert (cls.__doc__ or "").strip()
    assert not VerbSpec.__doc__.startswith("VerbSpec(")  # not the dataclass's generated signature


def test_random_messages_needs_bits():
    from inria.errors import InriaError
    from inria.interfaces import Watermarker

    class NoBits(Watermarker):
        def embed(self, images, messages=None):
            return images, messages

        def detect(self, images, reference=None):
            raise NotImplementedError

    wm = NoBits()
    with pytest.raises(InriaError, match="bits is 0; messages need bits >= 1"):
        wm.random_messages(2)
    wm.bits = 5
    m = wm.random_messages(3, seed=1)
    assert m.shape == (3, 5) and m.dtype == bool
