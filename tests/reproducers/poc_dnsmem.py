"""poc_dnsmem: how much one cache entry of the door's resolver can hold:
a TXT RRset of 60 KB served over TCP after truncation (review B.10).

At 8faf8a4 each such answer stayed cached (81-84 KB per entry, so
`cache_size: 10000` could hold ~800 MB).  Fixed: TXT answers over
MAX_TXT_BYTES are not kept and the cache is bounded by bytes too.
tests/unit/test_resolver.py covers both bounds.
"""

import gc
import os
import tracemalloc

from mailman_antibackscatter.auth.resolver import CachingResolver
from tests.harness.dnsserver import DNSServer
from tests.reproducers.common import Observation, main

NAME = 'poc_dnsmem'
ENTRIES = 50
# 8.4 KB: a tenth of the 84 KB per entry the review measured at 8faf8a4
BOUND_PER_ENTRY = 8.4 * 1024


def observe():
    with DNSServer() as dns:
        for i in range(ENTRIES):
            dns.add('s%d._domainkey.big.attacker.example' % i, 'TXT',
                    os.urandom(30000).hex()[:60000])
        resolver = CachingResolver(nameservers=(dns.address,),
                                   cache_size=10000, timeout=3)
        tracemalloc.start()
        try:
            for i in range(ENTRIES):
                txt = resolver.get_txt(
                    's%d._domainkey.big.attacker.example.' % i)
            cached = len(resolver)
            gc.collect()
            held = tracemalloc.get_traced_memory()[0]
            # what the cache held is what clearing it frees (the DNS
            # server's own threads allocate under tracemalloc too)
            resolver.clear()
            gc.collect()
            held -= tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    per = held / ENTRIES
    answer = len(txt) if txt else 0
    projected = min(per * resolver.cache_size, resolver.cache_bytes)
    return Observation(NAME, [
        'memory per cached 60 KB TXT answer: %.1f KB, %d entries cached '
        '(68.5 KB measured so at 8faf8a4; ~800 MB for 10000)'
        % (per / 1024, cached),
        'bytes of the oversized record kept in the answer: %d; the cache '
        'holds at most %.0f MB' % (answer, projected / 2 ** 20)],
        outcome=answer == 0 and cached == ENTRIES,
        timely=per < BOUND_PER_ENTRY, figures={'kb_per_entry': per / 1024})


if __name__ == '__main__':
    main(observe)
