"""Plain descriptions of the plugin's state, shared by the CLI and REST."""

from importlib.metadata import PackageNotFoundError, version

from mailman.config import config
from mailman_antibackscatter.app import heartbeat
from mailman_antibackscatter.app.keys import key_file_problem
from mailman_antibackscatter.app.list_policy import site_defaults
from mailman_antibackscatter.auth import render_verdict
from mailman_antibackscatter.auth.explain import explain
from mailman_antibackscatter.config.runtime import get_settings, not_protecting
from mailman_antibackscatter.patches import MARK, TARGETS
from mailman_antibackscatter.text import one_line


def installed_version():
    """The version of the installed distribution, from its metadata (one
    place for the version of both distributions: setup.cfg)."""
    try:
        return version('mailman-antibackscatter')
    except PackageNotFoundError:
        return 'unknown (mailman-antibackscatter is not installed)'


def verdict_as_dict(verdict, authserv_id):
    """A JSON-able description of a verdict, for people and for REST; text
    from the message or DNS is on one bounded line each."""
    text = one_line
    return dict(
        status=verdict.status.value,
        reason=text(verdict.reason),
        explanation=text(explain(verdict)),
        from_address=verdict.from_address and text(verdict.from_address),
        mail_from=verdict.mail_from and text(verdict.mail_from),
        client=(None if verdict.client is None else dict(
            ip=verdict.client.ip and text(verdict.client.ip),
            helo=verdict.client.helo and text(verdict.client.helo),
            source=verdict.client.source)),
        spf=(None if verdict.spf is None else dict(
            result=verdict.spf.result, domain=text(verdict.spf.domain),
            identity=verdict.spf.identity)),
        dkim=[dict(result=d.result, domain=text(d.domain),
                   selector=text(d.selector), reason=text(d.reason))
              for d in verdict.dkim],
        arc=(None if verdict.arc is None else dict(
            result=verdict.arc.result,
            sealer=verdict.arc.sealer and text(verdict.arc.sealer),
            trusted=verdict.arc.trusted)),
        dmarc_policy=verdict.dmarc_policy,
        authentication_results=render_verdict(verdict, authserv_id),
        )


def wrapped():
    """{target: is the plugin's wrapper installed} in this process."""
    return {str(t): _is_wrapped(t) for t in TARGETS}


def loaded(runner):
    """What this runner process loaded, for its heartbeat."""
    settings = get_settings()
    return dict(
        version=installed_version(), enabled=settings.enabled,
        not_protecting=not_protecting(),
        digest=heartbeat.settings_digest(settings),
        runner_class=getattr(config, 'runner.' + runner)['class'],
        wrapped=wrapped(),
        configuration_problems=list(settings.problems))


def status():
    """What is installed and in force in this process, and what the
    running Mailman's runners loaded."""
    settings = get_settings()
    return dict(
        version=installed_version(),
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
        wrapped=wrapped(),
        running=heartbeat.running(heartbeat.settings_digest(settings)),
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
