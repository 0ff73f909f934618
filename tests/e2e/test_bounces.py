"""Bounces on a real Mailman: only reports of mail the list really sent count.

(a) a member's real delivery fails: the DSN goes to the exact envelope sender
    the SMTP sink saw, and the member's bounce score rises;
(b) 50 forged DSNs naming members (untagged, wrongly tagged, expired, another
    member's tag) change no score and reach no owner;
(c) 50 backscatter reports of mail the list never sent (standard and
    non-standard formats) reach nobody;
(d) genuine bounces of a notice (welcome) and of a digest are recognized;
(e) with the default (bulk chunks, one tag per message) reaching the bounce
    threshold only sends a probe: a forged report through a member's shared
    tag disables nobody, a genuine one followed by the probe's bounce does;
(f) with per_recipient_return_path every copy is the same bytes, only the
    envelope sender differs.
"""

import json
import re
import secrets
import time

import pytest

from mailman_antibackscatter.auth.returnpath import (
    make_tag, parse_keyfile, tag_local)
from tests.harness.scenario import SPAMMER, list_address

pytestmark = pytest.mark.e2e

LIST = list_address('bnc')               # the default: shared (bulk) paths
VLIST = list_address('bncv')             # per_recipient_return_path: yes
PLIST = list_address('bncp')             # personalized: one mail per member
DLIST = list_address('bncd')             # digests
OWNER = 'bounce-owner@example.org'
ANNE, CAROL, DAVE, ERIN = (
    '{}@example.org'.format(n) for n in ('anne', 'carol', 'dave', 'erin'))
FRANK, GINA, HANK = (
    '{}@example.org'.format(n) for n in ('frank', 'gina', 'hank'))
DOMAIN = LIST.split('@')[1]


@pytest.fixture(scope='module')
def lists(world):
    mm = world.mailman
    mm.create_list(LIST)
    mm.create_list(VLIST)
    # This list opts in to per-recipient return paths.
    mm.rest('PATCH', 'plugins/antibackscatter/lists/' + mm.list_id(VLIST),
            json=dict(per_recipient_return_path=True))
    mm.create_list(PLIST, personalize='individual')
    mm.create_list(DLIST)
    for fqdn in (LIST, VLIST, PLIST, DLIST):
        mm.add_member(fqdn, OWNER, role='owner')
    for member in (ANNE, CAROL, DAVE, ERIN):
        mm.add_member(LIST, member)
        mm.add_member(VLIST, member)
    for member in (ANNE, CAROL, HANK):
        mm.add_member(PLIST, member)
    mm.add_member(DLIST, ANNE)
    mm.add_member(DLIST, GINA)
    member = mm.member(DLIST, GINA)
    mm.rest('PATCH', member['self_link'].split('/3.1/', 1)[1],
            data=dict(delivery_mode='mime_digests'))
    return mm


def post(world, to, subject):
    """Anne posts (authentic, DKIM-signed); returns the Message-ID."""
    return world.send(sender=ANNE, to=to, sign=True, subject=subject)


def delivery_to(world, address, subject):
    return world.sink.wait_for(
        lambda d: d.sent_to(address) and subject.encode() in d.data)


def wait_score(mm, fqdn, address, score):
    """Wait until the bounces runner's periodic step has scored it."""
    mm.wait_idle()
    for _ in range(120):
        if mm.bounce_score(fqdn, address) >= score:
            return
        time.sleep(0.25)
    raise AssertionError('{} on {}: bounce score stayed {}; antibackscatter '
                         'log:\n{}'.format(
                             address, fqdn, mm.bounce_score(fqdn, address),
                             mm.log('antibackscatter')[-3000:]))


def bounces_report(mm):
    return mm.mailman('antibackscatter', 'bounces').stdout


def counters(mm, list_fqdn, **at_least):
    """{reason: count} for one list from `mailman antibackscatter bounces`.

    The gate writes its counters in batches once its queue is empty; with
    *at_least* (reason=n, dashes as underscores) this waits for them.
    """
    list_id = mm.list_id(list_fqdn)
    for _ in range(20):
        out = mm.mailman('antibackscatter', 'bounces', list_id,
                         '--json').stdout
        found = json.loads(out).get(list_id, {})
        if all(found.get(reason.replace('_', '-'), 0) >= n
               for reason, n in at_least.items()):
            break
        time.sleep(0.5)
    return found


def test_a_bulk_delivery_failure_scores_the_member(world, lists):
    mm = lists
    subject = 'bulk post {}'.format(secrets.token_hex(3))
    post(world, LIST, subject)
    delivery = delivery_to(world, CAROL, subject)
    mail_from = delivery.mail_from
    # One tag for the chunk, bound to the list, the day and the message.
    assert re.match(r'^bnc-bounces\+l[0-9a-z]\d{3}[0-9a-f]{16}\+[0-9a-f]{10}@'
                    + DOMAIN, mail_from), mail_from
    assert delivery.sent_to(ANNE) and delivery.sent_to(DAVE)
    world.deliver_report(
        world.dsn(to=mail_from, failed=CAROL, original=delivery.data),
        rcpt_to=mail_from)
    wait_score(mm, LIST, CAROL, 1)


def test_a_per_recipient_return_paths_are_the_same_bytes_not_replayable(
        world, lists):
    """With the option, members of one domain still get a tag each."""
    mm = lists
    subject = 'default post {}'.format(secrets.token_hex(3))
    post(world, VLIST, subject)
    to_carol = delivery_to(world, CAROL, subject)
    to_dave = delivery_to(world, DAVE, subject)
    assert to_carol is not to_dave
    assert to_carol.rcpt_tos == (CAROL,) and to_dave.rcpt_tos == (DAVE,)
    for member in (ANNE, ERIN):
        delivery_to(world, member, subject)
    copies = [d for d in world.sink.deliveries if subject.encode() in d.data]
    assert sorted(r for d in copies for r in d.rcpt_tos) == sorted(
        (ANNE, CAROL, DAVE, ERIN))
    # Serialized once: only the envelope differs from copy to copy.
    assert len({d.data for d in copies}) == 1
    assert len({d.mail_from for d in copies}) == 4
    assert re.match(r'^bncv-bounces\+v[0-9a-z]\d{3}[0-9a-f]{16}\+'
                    r'carol=example\.org@' + DOMAIN, to_carol.mail_from)
    # Carol uses her own return path to report Erin, then rewrites it to
    # name Erin: neither counts.
    world.deliver_report(
        world.dsn(to=to_carol.mail_from, failed=ERIN,
                  original=to_carol.data),
        rcpt_to=to_carol.mail_from, client=SPAMMER)
    replay = to_carol.mail_from.replace('carol=example.org',
                                        'erin=example.org')
    world.deliver_report(
        world.dsn(to=replay, failed=ERIN, original=to_carol.data),
        rcpt_to=replay, client=SPAMMER)
    # Dave's MX really bounces Dave's copy: that one counts.
    world.deliver_report(
        world.dsn(to=to_dave.mail_from, failed=DAVE, original=to_dave.data),
        rcpt_to=to_dave.mail_from)
    wait_score(mm, VLIST, DAVE, 1)
    assert mm.bounce_score(VLIST, ERIN) == 0
    found = counters(mm, VLIST, bounce_forged_dropped=1, bounce_genuine=2)
    # The report on Carol's own path counts for Carol (the tag decides who
    # failed), never for Erin whom its body names.
    assert found.get('bounce-forged-dropped', 0) >= 1
    wait_score(mm, VLIST, CAROL, 1)


def test_a_verp_delivery_failure_scores_that_member_only(world, lists):
    mm = lists
    subject = 'personal post {}'.format(secrets.token_hex(3))
    post(world, PLIST, subject)
    to_hank = delivery_to(world, HANK, subject)
    to_carol = delivery_to(world, CAROL, subject)
    assert re.match(r'^bncp-bounces\+v[0-9a-z]\d{3}[0-9a-f]{16}\+'
                    r'hank=example\.org@' + DOMAIN, to_hank.mail_from)
    # Carol turns her own return path into one naming Hank: refused.
    replay = to_carol.mail_from.replace('carol=example.org', 'hank=example.org')
    world.deliver_report(
        world.dsn(to=replay, failed=HANK, original=to_carol.data),
        rcpt_to=replay, client=SPAMMER)
    # The report Hank's MX really sends names him in the envelope; the body
    # may even name somebody else: the tag decides who failed.
    world.deliver_report(
        world.dsn(to=to_hank.mail_from, failed='alias@example.org',
                  original=to_hank.data), rcpt_to=to_hank.mail_from)
    wait_score(mm, PLIST, HANK, 1)
    assert mm.bounce_score(PLIST, CAROL) == 0
    assert mm.bounce_score(PLIST, ANNE) == 0
    found = counters(mm, PLIST, bounce_forged_dropped=1, bounce_genuine=1)
    assert found.get('bounce-forged-dropped', 0) >= 1
    assert found.get('bounce-genuine', 0) >= 1


def _key_ring(mm):
    return parse_keyfile((mm.var_dir / 'antibackscatter.key').read_text())


def test_b_forged_reports_change_nothing(world, lists):
    mm = lists
    subject = 'forgery base {}'.format(secrets.token_hex(3))
    post(world, LIST, subject)
    delivery = delivery_to(world, DAVE, subject)
    mm.wait_idle()
    owner_before = len(world.sent_to(OWNER))
    before = counters(mm, LIST).get('bounce-forged-dropped', 0)
    ring = _key_ring(mm)
    real_tag = delivery.mail_from.split('+', 1)[1].split('@')[0]
    day = int(real_tag[2:5])
    expired = make_tag(ring.current, 'l', mm.list_id(LIST), '', day - 30)
    other_list = make_tag(ring.current, 'l', mm.list_id(PLIST), '', day)
    wrong_key = 'l' + real_tag[1] + real_tag[2:5] + secrets.token_hex(8)
    targets = [
        'bnc-bounces@' + DOMAIN,                              # untagged
        'bnc-bounces+dave=example.org@' + DOMAIN,             # stock VERP
        'bnc-bounces+{}@{}'.format(wrong_key, DOMAIN),        # bad MAC
        'bnc-bounces+{}@{}'.format(expired, DOMAIN),          # expired
        'bnc-bounces+{}@{}'.format(other_list, DOMAIN),       # other list
        '{}@{}'.format(tag_local('bnc-bounces', real_tag,     # bulk tag
                                 'dave=example.org'), DOMAIN),  # + VERP part
        ]
    tagged_forms = 0
    for number in range(50):
        target = targets[number % len(targets)]
        victim = (ANNE, DAVE, ERIN)[number % 3]
        # The untagged ones name a stranger: a real tag naming a member is
        # what the bulk path trusts (see docs/bounces.md).
        world.deliver_report(
            world.dsn(to=target, failed=victim,
                      original='Message-ID: <never-{}@x>\n'.format(number)),
            rcpt_to=target, client=SPAMMER)
        tagged_forms += '+' in target and '=' not in target.split('+')[1]
    # A genuine report last: once it is scored, the forged ones before it
    # have been through the runner too.
    world.deliver_report(
        world.dsn(to=delivery.mail_from, failed=DAVE, original=delivery.data),
        rcpt_to=delivery.mail_from)
    wait_score(mm, LIST, DAVE, 1)
    assert mm.bounce_score(LIST, ANNE) == 0
    assert mm.bounce_score(LIST, ERIN) == 0
    assert len(world.sent_to(OWNER)) == owner_before
    found = counters(mm, LIST,
                     bounce_forged_dropped=before + tagged_forms)
    # Untagged ones count as backscatter, tag-shaped ones as forgeries.
    assert found.get('bounce-forged-dropped', 0) - before >= tagged_forms
    for member in (ANNE, ERIN):
        assert mm.member(LIST, member).get('last_bounce_received') is None


def test_c_backscatter_reaches_nobody(world, lists):
    mm = lists
    world.sink.clear()
    before = counters(mm, LIST).get('bounce-backscatter-dropped', 0)
    for number in range(50):
        spam = ('From: {list}\nTo: someone{n}@victim.example\n'
                'Subject: cheap pills {n}\nMessage-ID: <spam-{n}-{r}@{dom}>\n'
                '\nBuy now.\n').format(list=LIST, n=number, dom=DOMAIN,
                                       r=secrets.token_hex(4))
        builder = world.dsn if number % 2 else world.qmail_bounce
        failed = 'someone{}@victim.example'.format(number)
        if number % 5 == 0:
            failed = CAROL      # backscatter naming a member
        world.deliver_report(
            builder(to='bnc-bounces@' + DOMAIN, failed=failed,
                    original=spam),
            rcpt_to='bnc-bounces@' + DOMAIN, client=SPAMMER)
    mm.wait_idle()
    found = counters(mm, LIST, bounce_backscatter_dropped=before + 50)
    assert found.get('bounce-backscatter-dropped', 0) - before == 50
    assert world.sink.deliveries == []
    # The admin's report shows them in the backscatter column.
    report = bounces_report(mm)
    assert 'backscatter' in report
    row = next(line for line in report.splitlines()
               if line.startswith(mm.list_id(LIST)))
    assert int(row.split()[4]) == found['bounce-backscatter-dropped']


def test_d_bounce_of_a_notice_and_of_a_digest(world, lists):
    mm = lists
    # A notice: the welcome message to a new member.
    mm.add_member(LIST, FRANK, send_welcome_message=True)
    welcome = world.sink.wait_for(lambda d: d.sent_to(FRANK))
    assert '+v' in welcome.mail_from and 'frank=example.org' in \
        welcome.mail_from
    world.deliver_report(
        world.dsn(to=welcome.mail_from, failed=FRANK, original=welcome.data),
        rcpt_to=welcome.mail_from)
    wait_score(mm, LIST, FRANK, 1)
    # A digest.
    subject = 'digest post {}'.format(secrets.token_hex(3))
    post(world, DLIST, subject)
    mm.wait_idle()
    mm.mailman('digests', '--list', DLIST, '--send')
    digest = world.sink.wait_for(lambda d: d.sent_to(GINA))
    assert digest.mail_from.startswith('bncd-bounces+')
    world.deliver_report(
        world.qmail_bounce(to=digest.mail_from, failed=GINA,
                           original=digest.data),
        rcpt_to=digest.mail_from)
    wait_score(mm, DLIST, GINA, 1)


def test_probe_bounce_disables_through_mailmans_token(world, lists):
    """A threshold of 1; Mailman's verp_probes is off (tests/e2e/conftest.py)
    but the plugin probes anyway."""
    mm = lists
    probe_list, kate = list_address('bncprobe'), 'kate@example.org'
    mm.create_list(probe_list, bounce_score_threshold=1)
    mm.add_member(probe_list, OWNER, role='owner')
    mm.add_member(probe_list, kate, send_welcome_message=True)
    welcome = world.sink.wait_for(lambda d: d.sent_to(kate))
    world.deliver_report(
        world.dsn(to=welcome.mail_from, failed=kate, original=welcome.data),
        rcpt_to=welcome.mail_from)
    # The score reaches the threshold: Mailman sends a probe, tagged.
    probe = world.sink.wait_for(is_probe(kate), timeout=60)
    assert re.match(r'^bncprobe-bounces\+p[0-9a-z]\d{3}[0-9a-f]{16}\+\w+@',
                    probe.mail_from), probe.mail_from
    report = world.dsn(to=probe.mail_from, failed=kate, original=probe.data)
    world.deliver_report(report, rcpt_to=probe.mail_from)
    wait_disabled(mm, probe_list, kate)
    # The token is used up: the same report again is dropped as forged.
    world.deliver_report(report, rcpt_to=probe.mail_from)
    mm.wait_idle()
    found = counters(mm, probe_list, bounce_probe=1, bounce_forged_dropped=1)
    assert found.get('bounce-probe') == 1
    assert found.get('bounce-forged-dropped') == 1


def delivery_status(mm, fqdn, address):
    """The member's own delivery status; unset means Mailman's default."""
    member = mm.member(fqdn, address)
    preferences = member['self_link'].split('/3.1/', 1)[1] + '/preferences'
    return (mm.rest('GET', preferences).json().get('delivery_status')
            or 'enabled (default)')


def wait_disabled(mm, fqdn, address):
    for _ in range(120):
        if delivery_status(mm, fqdn, address) == 'by_bounces':
            return
        time.sleep(0.25)
    raise AssertionError('{} on {} was not disabled; antibackscatter log:\n'
                         '{}'.format(address, fqdn,
                                     mm.log('antibackscatter')[-3000:]))


def is_probe(address):
    return lambda d: (d.sent_to(address)
                      and b'mailing list probe message' in d.data)


@pytest.fixture(scope='module')
def probe_list(world, lists):
    """A list with the defaults and a bounce threshold of 1."""
    mm = lists
    fqdn = list_address('bncbulk')
    mm.create_list(fqdn, bounce_score_threshold=1)
    mm.add_member(fqdn, OWNER, role='owner')
    for member in (ANNE, CAROL, DAVE, ERIN):
        mm.add_member(fqdn, member)
    return fqdn


def report_own_copy(world, fqdn, reader, failed, **client):
    """Post; a report naming *failed* goes to *reader*'s return path."""
    subject = 'shared tag {}'.format(secrets.token_hex(3))
    post(world, fqdn, subject)
    copy = delivery_to(world, reader, subject)
    world.deliver_report(
        world.dsn(to=copy.mail_from, failed=failed, original=copy.data),
        rcpt_to=copy.mail_from, **client)
    return copy


def test_e_forged_report_through_a_shared_tag_only_sends_a_probe(
        world, lists, probe_list):
    mm = lists
    # Carol reports Dave through the return path she sees: it names a
    # member, so Dave's score reaches the threshold...
    to_carol = report_own_copy(world, probe_list, CAROL, DAVE,
                               client=SPAMMER)
    assert to_carol.sent_to(DAVE), 'one chunk, one shared tag'
    # ...which only sends Dave a probe, with a token of its own.
    probe = world.sink.wait_for(is_probe(DAVE), timeout=60)
    assert re.match(r'^bncbulk-bounces\+p[0-9a-z]\d{3}[0-9a-f]{16}\+\w+@',
                    probe.mail_from), probe.mail_from
    assert probe.rcpt_tos == (DAVE,)
    # Without the probe's token, Carol cannot finish the job: a guessed
    # token, the probe's tag on a guessed token, her shared tag again.
    tag = probe.mail_from.split('+')[1]
    guessed = secrets.token_hex(20)
    for target in ('bncbulk-bounces+{}@{}'.format(guessed, DOMAIN),
                   'bncbulk-bounces+{}+{}@{}'.format(tag, guessed, DOMAIN),
                   to_carol.mail_from):
        world.deliver_report(
            world.dsn(to=target, failed=DAVE, original=to_carol.data),
            rcpt_to=target, client=SPAMMER)
    for _ in range(40):
        found = counters(mm, probe_list)
        if sum(found.values()) >= 4:
            break
        time.sleep(0.5)
    assert found.get('bounce-forged-dropped', 0) >= 1, found
    assert found.get('bounce-probe', 0) == 0, found
    mm.wait_idle()
    assert delivery_status(mm, probe_list, DAVE) == 'enabled (default)'
    assert len([d for d in world.sink.deliveries if is_probe(DAVE)(d)]) == 1


def test_e_genuine_bounce_then_the_probes_bounce_disables(
        world, lists, probe_list):
    mm = lists
    # Erin's MX bounces the shared copy: a probe, not a disable.
    report_own_copy(world, probe_list, ERIN, ERIN)
    probe = world.sink.wait_for(is_probe(ERIN), timeout=60)
    assert delivery_status(mm, probe_list, ERIN) == 'enabled (default)'
    # The probe bounces too: now Erin is disabled.
    world.deliver_report(
        world.dsn(to=probe.mail_from, failed=ERIN, original=probe.data),
        rcpt_to=probe.mail_from)
    wait_disabled(mm, probe_list, ERIN)
    assert delivery_status(mm, probe_list, CAROL) == 'enabled (default)'


def test_a_digest_to_several_members_shares_one_tag_and_only_probes(
        world, lists):
    """With the bulk default a digest to several members goes out in one
    transaction with one tag; a report through it names a member, so it
    raises that member's score and, at the threshold, only probes."""
    mm = lists
    fqdn = list_address('bncdigests')
    ivy, jack = 'ivy@example.org', 'jack@example.org'
    mm.create_list(fqdn, bounce_score_threshold=1)
    mm.add_member(fqdn, OWNER, role='owner')
    mm.add_member(fqdn, ANNE)
    for member in (ivy, jack):
        mm.add_member(fqdn, member)
        mm.rest('PATCH', mm.member(fqdn, member)['self_link'].split(
            '/3.1/', 1)[1], data=dict(delivery_mode='mime_digests'))
    post(world, fqdn, 'digest item {}'.format(secrets.token_hex(3)))
    mm.wait_idle()
    mm.mailman('digests', '--list', fqdn, '--send')
    digest = world.sink.wait_for(lambda d: d.sent_to(ivy))
    assert sorted(digest.rcpt_tos) == [ivy, jack], digest.rcpt_tos
    assert re.match(r'^bncdigests-bounces\+l[0-9a-z]\d{3}[0-9a-f]{16}\+'
                    r'[0-9a-f]{10}@' + DOMAIN, digest.mail_from), \
        digest.mail_from
    # Ivy (or her MX) reports Jack through the shared tag: a probe to
    # Jack, and he stays enabled until the probe itself bounces.
    world.deliver_report(
        world.dsn(to=digest.mail_from, failed=jack, original=digest.data),
        rcpt_to=digest.mail_from)
    probe = world.sink.wait_for(is_probe(jack), timeout=60)
    assert probe.rcpt_tos == (jack,)
    assert delivery_status(mm, fqdn, jack) == 'enabled (default)'
    assert mm.bounce_score(fqdn, ivy) == 0


def test_key_rotation_keeps_old_tags_valid(world, lists):
    mm = lists
    listing = mm.mailman('antibackscatter', 'keys', 'list').stdout
    assert 'signing' in listing
    secret_hex = re.compile(r'[0-9a-f]{32}')
    assert not secret_hex.search(listing)
    subject = 'before rotation {}'.format(secrets.token_hex(3))
    post(world, PLIST, subject)
    old = delivery_to(world, ANNE, subject)
    old_kid = old.mail_from.split('+')[1][1]
    rotated = mm.mailman('antibackscatter', 'keys', 'rotate').stdout
    assert not secret_hex.search(rotated)
    assert 'verifying until' in rotated
    # Mail sent now carries the new key id...
    subject = 'after rotation {}'.format(secrets.token_hex(3))
    post(world, PLIST, subject)
    new = delivery_to(world, ANNE, subject)
    assert new.mail_from.split('+')[1][1] != old_kid
    # ...and a late report of mail signed with the old key still counts.
    world.deliver_report(
        world.dsn(to=old.mail_from, failed=ANNE, original=old.data),
        rcpt_to=old.mail_from)
    wait_score(mm, PLIST, ANNE, 1)


def test_roll_out_grace_period_saves_untagged_bounces_of_mail_really_sent(
        world, lists):
    """During the grace period (fresh site: 7 days), an untagged report
    counts only if it quotes a Message-ID the list sent to the address it
    names: a bounce of mail that left before the MTA saw tagged senders."""
    mm = lists
    glist = list_address('bncg')
    mm.create_list(glist)
    mm.add_member(glist, OWNER, role='owner')
    for member in (ANNE, CAROL):
        mm.add_member(glist, member)
    subject = 'grace post {}'.format(secrets.token_hex(3))
    post(world, glist, subject)
    to_carol = delivery_to(world, CAROL, subject)
    untagged = 'bncg-bounces@' + DOMAIN
    owner_before = len(world.sent_to(OWNER))
    # Quotes a Message-ID the list sent, but not to the address it names.
    world.deliver_report(
        world.dsn(to=untagged, failed='stranger@example.org',
                  original=to_carol.data),
        rcpt_to=untagged, client=SPAMMER)
    # Names Carol, but quotes a message the list never sent.
    world.deliver_report(
        world.dsn(to=untagged, failed=CAROL,
                  original='Message-ID: <never-sent-{}@x>\n'.format(
                      secrets.token_hex(4))),
        rcpt_to=untagged, client=SPAMMER)
    # Carol's MX bounces the copy it really got, to the old, untagged path.
    world.deliver_report(
        world.dsn(to=untagged, failed=CAROL, original=to_carol.data),
        rcpt_to=untagged)
    wait_score(mm, glist, CAROL, 1)
    found = counters(mm, glist, bounce_grace_accepted=1,
                     bounce_backscatter_dropped=2)
    assert found.get('bounce-grace-accepted') == 1
    assert found.get('bounce-backscatter-dropped') == 2
    assert mm.bounce_score(glist, ANNE) == 0
    assert len(world.sent_to(OWNER)) == owner_before
