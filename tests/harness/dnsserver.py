# Copyright (C) 2026 The mailman_antibackscatter authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small but real authoritative DNS server for tests, the demo and benchmarks.

It answers over UDP and TCP on the same port from in-memory records, using
dnspython only for wire-format parsing and rendering.  Faults (SERVFAIL,
no answer at all) can be injected per name suffix.

    with DNSServer() as srv:
        srv.add('example.com', 'TXT', 'v=spf1 -all')
        resolver.nameservers = [srv.address]
"""

import socket
import struct
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

__all__ = ['DNSServer']


def _norm(name):
    return name.strip().rstrip('.').lower()


def _under(name, suffix):
    return name == suffix or name.endswith('.' + suffix)


class DNSServer:
    """In-memory authoritative DNS server on loopback (UDP + TCP)."""

    def __init__(self, host='127.0.0.1', port=0, negative_ttl=60):
        self.host = host
        self._requested_port = port
        self.port = None
        self.negative_ttl = negative_ttl
        # name -> {rdtype(int): [(ttl, rdata), ...]}
        self._records = {}
        self._servfail = set()
        self._blackhole = set()
        self._lock = threading.Lock()
        self._count = 0
        self._udp = None
        self._tcp = None
        self._threads = []
        self._running = False

    # -- records ---------------------------------------------------------

    def add(self, name, rdtype, value, ttl=300):
        """Add one record.  TXT values are given as one string (str/bytes)
        and split into 255-byte character-strings automatically."""
        name = _norm(name)
        rdtype_i = dns.rdatatype.from_text(rdtype.upper())
        if rdtype_i == dns.rdatatype.TXT:
            data = value.encode('utf-8') if isinstance(value, str) else bytes(value)
            chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b'']
            rdata = dns.rdtypes.ANY.TXT.TXT(
                dns.rdataclass.IN, dns.rdatatype.TXT, chunks)
        else:
            rdata = dns.rdata.from_text(
                dns.rdataclass.IN, rdtype_i, value, origin=dns.name.root, relativize=False)
        with self._lock:
            self._records.setdefault(name, {}).setdefault(
                rdtype_i, []).append((int(ttl), rdata))

    def remove(self, name, rdtype=None):
        name = _norm(name)
        with self._lock:
            if rdtype is None:
                self._records.pop(name, None)
            else:
                rrs = self._records.get(name, {})
                rrs.pop(dns.rdatatype.from_text(rdtype.upper()), None)
                if not rrs:
                    self._records.pop(name, None)

    def load_zone_text(self, text):
        """Load simple ``name TTL TYPE value`` lines ('#' or ';' comments).
        TXT values may be quoted; the quotes are removed."""
        for line in text.splitlines():
            line = line.strip()
            if not line or line[0] in '#;':
                continue
            parts = line.split(None, 3)
            if len(parts) != 4:
                raise ValueError('bad zone line: %r' % line)
            name, ttl, rdtype, value = parts
            if rdtype.upper() == 'TXT':
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
            self.add(name, rdtype, value, ttl=int(ttl))

    def clear(self):
        """Remove all records and faults."""
        with self._lock:
            self._records.clear()
            self._servfail.clear()
            self._blackhole.clear()

    def servfail(self, suffix):
        with self._lock:
            self._servfail.add(_norm(suffix))

    def blackhole(self, suffix):
        with self._lock:
            self._blackhole.add(_norm(suffix))

    def clear_faults(self):
        with self._lock:
            self._servfail.clear()
            self._blackhole.clear()

    @property
    def query_count(self):
        return self._count

    @property
    def address(self):
        return (self.host, self.port)

    # -- answering -------------------------------------------------------

    def _soa_for(self, qname):
        labels = qname.split('.')
        apex = '.'.join(labels[-2:]) if len(labels) >= 2 else qname
        apex_name = dns.name.from_text(apex or '.')
        soa = dns.rdata.from_text(
            dns.rdataclass.IN, dns.rdatatype.SOA,
            'ns.%s. hostmaster.%s. 1 3600 600 86400 %d'
            % (apex, apex, self.negative_ttl),
            origin=dns.name.root, relativize=False)
        rrset = dns.rrset.RRset(apex_name, dns.rdataclass.IN, dns.rdatatype.SOA)
        rrset.add(soa, self.negative_ttl)
        return rrset

    def _answer(self, wire, udp):
        """Return response wire bytes, or None for no answer at all."""
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return None
        with self._lock:
            self._count += 1
        if not query.question:
            resp = dns.message.make_response(query)
            resp.set_rcode(dns.rcode.FORMERR)
            return resp.to_wire()
        question = query.question[0]
        qname = _norm(question.name.to_text())
        qtype = question.rdtype
        resp = dns.message.make_response(query)
        resp.flags |= dns.flags.AA
        with self._lock:
            if any(_under(qname, s) for s in self._blackhole):
                return None
            if any(_under(qname, s) for s in self._servfail):
                resp.set_rcode(dns.rcode.SERVFAIL)
                return resp.to_wire()
            rrs = self._records.get(qname)
            exists = rrs is not None or any(
                n.endswith('.' + qname) for n in self._records)
            answer = []
            name = qname
            seen = set()
            # Follow CNAMEs inside our own data.
            while rrs is not None and qtype != dns.rdatatype.CNAME \
                    and dns.rdatatype.CNAME in rrs and name not in seen:
                seen.add(name)
                answer.append((name, dns.rdatatype.CNAME, rrs[dns.rdatatype.CNAME]))
                name = _norm(rrs[dns.rdatatype.CNAME][0][1].target.to_text())
                rrs = self._records.get(name)
            if rrs is not None and qtype in rrs:
                answer.append((name, qtype, rrs[qtype]))
        for owner, rdtype, items in answer:
            rrset = dns.rrset.RRset(dns.name.from_text(owner),
                                    dns.rdataclass.IN, rdtype)
            for ttl, rdata in items:
                rrset.add(rdata, ttl)
            resp.answer.append(rrset)
        if not answer or answer[-1][1] != qtype:
            if not exists and not answer:
                resp.set_rcode(dns.rcode.NXDOMAIN)
            resp.authority.append(self._soa_for(qname))
        out = resp.to_wire()
        if udp:
            limit = max(512, query.payload) if query.edns >= 0 else 512
            if len(out) > limit:
                trunc = dns.message.make_response(query)
                trunc.flags |= dns.flags.AA | dns.flags.TC
                out = trunc.to_wire()
        return out

    # -- sockets ---------------------------------------------------------

    def start(self):
        if self._running:
            return self
        for _attempt in range(20):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((self.host, self._requested_port))
            port = udp.getsockname()[1]
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((self.host, port))
            except OSError:
                udp.close()
                tcp.close()
                if self._requested_port:
                    raise
                continue
            break
        else:  # pragma: no cover
            raise OSError('could not bind UDP and TCP to the same port')
        tcp.listen(64)
        udp.settimeout(0.2)
        tcp.settimeout(0.2)
        self._udp, self._tcp, self.port = udp, tcp, port
        self._running = True
        self._threads = [
            threading.Thread(target=self._udp_loop, name='dns-udp', daemon=True),
            threading.Thread(target=self._tcp_loop, name='dns-tcp', daemon=True),
        ]
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        if not self._running:
            return
        self._running = False
        for t in self._threads:
            t.join(2)
        self._udp.close()
        self._tcp.close()
        self._threads = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _udp_loop(self):
        while self._running:
            try:
                wire, peer = self._udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            out = self._answer(wire, udp=True)
            if out is not None:
                try:
                    self._udp.sendto(out, peer)
                except OSError:
                    pass

    def _tcp_loop(self):
        while self._running:
            try:
                conn, _peer = self._tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(conn,),
                             daemon=True).start()

    def _tcp_conn(self, conn):
        conn.settimeout(5)
        try:
            while self._running:
                head = self._recv_exact(conn, 2)
                if head is None:
                    return
                wire = self._recv_exact(conn, struct.unpack('!H', head)[0])
                if wire is None:
                    return
                out = self._answer(wire, udp=False)
                if out is None:
                    continue
                conn.sendall(struct.pack('!H', len(out)) + out)
        except OSError:
            pass
        finally:
            conn.close()

    @staticmethod
    def _recv_exact(conn, n):
        buf = b''
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf
