"""The reproducers' outcomes under pytest (never their timings).

Each engine-level reproducer's observe() runs with its own input and the
test asserts what it observed (a verdict, a parse result); the timing
ones' bounds are for `python -m tests.reproducers` only.  The end-to-end
ones share one World.  A reproducer whose input and assertion an existing
test already has is left to that test (COVERED).
"""

import importlib

import pytest

from tests.reproducers import END_TO_END, ENGINE

# reproducer -> the test that has the same input and assertion
COVERED = {
    'poc_trustzone': 'tests/unit/test_trustzone.py (loopback HELO, '
                     'forged trusted results)',
    'poc_temperror': 'tests/unit/test_decisive_evidence.py',
    'poc_redos_arc': 'tests/unit/test_bounded_work.py::'
                     'test_hostile_arc_signature_never_reaches_dkimpy',
    'f5_leading_continuation_arc':
        'tests/unit/test_unproven_author.py::'
        'test_leading_continuation_line_with_arc_seal',
    'poc_redos_lmtp': 'tests/e2e/test_bounded_door.py',
}


def _observe(name, *args):
    module = importlib.import_module('tests.reproducers.' + name)
    observation = module.observe(*args)
    print('\n'.join(observation.lines))
    return observation


@pytest.mark.parametrize('name', [n for n in ENGINE if n not in COVERED])
def test_engine_reproducer_shows_the_fixed_behaviour(name):
    assert _observe(name).outcome


@pytest.fixture(scope='module')
def world():
    from tests.reproducers.common import started_world
    instance = started_world()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.mark.e2e
@pytest.mark.parametrize('name',
                         [n for n in END_TO_END if n not in COVERED])
def test_end_to_end_reproducer_shows_the_fixed_behaviour(name, world):
    assert _observe(name, world).outcome


def test_every_reproducer_is_listed():
    """Every module here is run by `python -m tests.reproducers`."""
    import pathlib
    here = pathlib.Path(__file__).parent
    modules = {p.stem for p in here.glob('*.py')} - {
        '__init__', '__main__', 'common', 'test_reproducers'}
    assert modules == set(ENGINE) | set(END_TO_END)
