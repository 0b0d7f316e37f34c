import inria


def test_cosub_is_discovered_as_an_objective():
    from inria.train.components import resolve
    from inria_cosub.objective import CoSub

    assert resolve("objectives", "cosub") is CoSub
    assert "inria-plugin-cosub" in {e.distribution for e in inria.registry.get_registry().entries("objectives")}
