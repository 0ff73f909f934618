"""The one object of another library the web distribution rebinds.

Postorius' ``list_nav`` template tag is wrapped so that its list menu gets
the "Sender authentication" item (web/nav.py says why).  This is the web
distribution's counterpart of the core's patches.py, which a Postorius site
does not have: the two distributions share no module.
"""

import importlib
import inspect
import logging

log = logging.getLogger(__name__)
MARK = '_antibackscatter_original'
LIST_NAV_MODULE = 'postorius.templatetags.nav_helpers'
LIST_NAV_PARAMETERS = ('context', 'current', 'title', 'subtitle')


def _list_nav():
    """(nav_helpers module, its unwrapped list_nav), or a reason why not."""
    try:
        module = importlib.import_module(LIST_NAV_MODULE)
        tag = module.list_nav
    except (ImportError, AttributeError) as error:
        return None, '{}.list_nav not found: {}'.format(LIST_NAV_MODULE,
                                                        error)
    original = getattr(tag, MARK, tag)
    found = tuple(inspect.signature(original).parameters)
    if found != LIST_NAV_PARAMETERS:
        return None, '{}.list_nav has parameters {}, expected {}'.format(
            LIST_NAV_MODULE, found, LIST_NAV_PARAMETERS)
    return module, original


def install_list_nav(make_wrapper):
    """Wrap Postorius' `list_nav` tag (once) with `make_wrapper(original)`.

    Returns False, with a log line, when Postorius no longer has the tag
    as expected; its menu is then drawn unchanged.
    """
    module, original = _list_nav()
    if module is None:
        log.warning('no "Sender authentication" menu item: %s', original)
        return False
    if getattr(module.list_nav, MARK, None) is not None:
        return False
    wrapper = make_wrapper(original)
    setattr(wrapper, MARK, original)
    module.list_nav = wrapper
    module.register.simple_tag(wrapper, takes_context=True, name='list_nav')
    return True
