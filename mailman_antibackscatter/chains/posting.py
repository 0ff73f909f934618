"""The built-in posting chain with the list-backscatter and forged-member
checks added."""

from mailman.chains.builtin import BuiltInChain
from mailman.core.i18n import _
from mailman.interfaces.chain import LinkAction

# Not in __all__: this class keeps Mailman's chain name and is installed by
# patches.install_components() in place of the built-in chain, so every list
# that uses the default posting chain gets it without a database change.
__all__ = []


def _with_authentication_links(descriptions):
    # First of all: a delivery report or auto-reply to the list is dropped
    # before any rule can hold it with an owner notice or answer it.
    result = [('list-backscatter', LinkAction.jump,
               'antibackscatter-list-backscatter')]
    for description in descriptions:
        result.append(description)
        if description[0] == 'banned-address':
            # After bans and the Approved: password, before membership
            # decides anything: a forged member post is set aside.
            result.append(('forged-member', LinkAction.jump,
                           'antibackscatter-forged-member'))
    if len(result) == len(descriptions) + 1:
        raise RuntimeError('banned-address link missing from the built-in '
                           'posting chain; cannot place forged-member')
    return tuple(result)


class AuthenticatedPostingChain(BuiltInChain):
    """Mailman's built-in posting chain plus the list-backscatter and
    forged-member rules."""

    name = BuiltInChain.name
    description = _('The built-in moderation chain, with sender '
                    'authentication.')
    _link_descriptions = _with_authentication_links(
        BuiltInChain._link_descriptions)
