"""Plain descriptions of the plugin's state, shared by the CLI and REST."""

from mailman.config import config
from mailman_antibackscatter import __version__
from mailman_antibackscatter.app.keys import key_file_problem
from mailman_antibackscatter.app.list_policy import site_defaults
from mailman_antibackscatter.auth import render_verdict
from mailman_antibackscatter.config.runtime import get_settings, not_protecting
from mailman_antibackscatter.patches import MARK, TARGETS


def verdict_as_dict(verdict, authserv_id):
    """A JSON-able description of a verdict, for people and for REST."""
    return dict(
        status=verdict.status.value,
        reason=verdict.reason,
        from_address=verdict.from_address,
        mail_from=verdict.mail_from,
        client=(None if verdict.client is None else dict(
            ip=verdict.client.ip, helo=verdict.client.helo,
            source=verdict.client.source)),
        spf=(None if verdict.spf is None else dict(
            result=verdict.spf.result, domain=verdict.spf.domain,
            identity=verdict.spf.identity)),
        dkim=[dict(result=d.result, domain=d.domain, selector=d.selector,
                   reason=d.reason) for d in verdict.dkim],
        arc=(None if verdict.arc is None else dict(
            result=verdict.arc.result, sealer=verdict.arc.sealer,
            trusted=verdict.arc.trusted)),
        dmarc_policy=verdict.dmarc_policy,
        authentication_results=render_verdict(verdict, authserv_id),
        )


def status():
    """What is installed and in force in this process."""
    settings = get_settings()
    wrapped = {str(t): _is_wrapped(t) for t in TARGETS}
    return dict(
        version=__version__,
        enabled=settings.enabled,
        not_protecting=not_protecting(),
        authserv_id=settings.engine.authserv_id,
        runners=dict(
            lmtp=getattr(config, 'runner.lmtp')['class'],
            command=getattr(config, 'runner.command')['class'],
            bounces=getattr(config, 'runner.bounces')['class']),
        outgoing=config.mta.outgoing,
        bounces=dict(
            enabled=settings.bounces_enabled,
            tag_lifetime_days=settings.tag_lifetime_days,
            grace_period_days=settings.grace_period.days),
        wrapped=wrapped,
        # Site defaults of the per-list options (lists may override them).
        policy=site_defaults(),
        ratelimit=dict(
            enabled=settings.ratelimit_enabled,
            per_recipient=settings.ratelimit_per_recipient,
            per_domain=settings.ratelimit_per_domain,
            window_seconds=int(settings.window.total_seconds())),
        dns=dict(
            nameservers=['{}:{}'.format(h, p)
                         for h, p in settings.engine.nameservers],
            timeout=settings.engine.dns_timeout),
        configuration_problems=list(settings.problems) + [
            problem for problem in [key_file_problem(config.VAR_DIR)]
            if problem],
        )


def _is_wrapped(target):
    try:
        return getattr(target.current(), MARK, None) is not None
    except Exception:
        return False
