# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The front door: many services on one listener, routed by host name and path prefix, with TLS by SNI.

A service whose proxy options name `hosts`, a `path_prefix` or `tls` claims a place on its listener instead of a
listener of its own. Each service's HAProxy file keeps its claim in a comment line (so the host is the only record,
and a service removed with its file leaves the listener), and the listener's frontend is rendered from every
claim on it. A deploy of a service already on the listener leaves that frontend as it is: no reload, only the
backend's slots change through the Runtime API. Pure functions, apart from reading the claims out of the files.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import re
import subprocess
import time

from ansible_collections.cutover.deploy.plugins.module_utils._time import iso

CLAIM_PREFIX = '# cutover-claim '
CERT_DIR = 'certs'
NOT_FOUND_BODY = 'no service here\\n'


def claim_of(opts, listen):
    """The place a service asks for on its listener ({listen, hosts, path_prefix, strip_prefix, tls}), or None for a
    listener of its own (today's behaviour: no hosts, no prefix, no TLS). Pure."""
    hosts = sorted({h.lower() for h in opts.get('hosts') or []})
    prefix = (opts.get('path_prefix') or '').rstrip('/') or None
    tls = opts.get('tls') or None
    if not hosts and prefix is None and not tls:
        return None
    return dict(listen=listen, hosts=hosts, path_prefix=prefix,
                strip_prefix=bool(opts.get('strip_prefix', True)) and prefix is not None,
                tls=bool(tls), redirect_from=(tls or {}).get('redirect_from') or None)


def claim_line(claim):
    return CLAIM_PREFIX + json.dumps(claim, sort_keys=True) + '\n'


def claim_in(text):
    """The claim a rendered service file holds, or None. Pure."""
    for line in (text or '').splitlines():
        if line.startswith(CLAIM_PREFIX):
            try:
                found = json.loads(line[len(CLAIM_PREFIX):])
            except ValueError:
                return None
            return found if isinstance(found, dict) else None
    return None


def own_listen_in(text):
    """The address a service file's own frontend binds (a service without a claim), or None. Pure."""
    found = re.search(r'^frontend fe_\S+\n    bind (\S+)$', text or '', re.MULTILINE)
    return found.group(1) if found else None


def listener_id(listen):
    """A short stable name for a listener address (file and frontend names). Pure."""
    return hashlib.sha256(listen.encode()).hexdigest()[:10]


def listener_file(config_dir, listen):
    return os.path.join(config_dir, 'listener-%s.cfg' % listener_id(listen))


def crt_list_path(config_dir, listen):
    return os.path.join(config_dir, CERT_DIR, 'listener-%s.crtlist' % listener_id(listen))


def cert_path(config_dir, service):
    return os.path.join(config_dir, CERT_DIR, '%s.pem' % service)


def _host_text(hosts):
    return ', '.join(hosts) if hosts else 'any host'


def conflict(service, claim, others, own_listens):
    """Why service cannot take claim on its listener, naming the other service, or None. others: {service: claim}
    of the other services in the same config; own_listens: {service: address} of those with a listener of their
    own. Pure."""
    listen = claim['listen']
    for other, address in sorted(own_listens.items()):
        if other != service and address == listen:
            return ('proxy.listen %s is the own listener of service %s (no hosts, no path_prefix, no tls): give %s '
                    'proxy.hosts too, or another listen address' % (listen, other, other))
    for other, theirs in sorted(others.items()):
        if other == service or theirs.get('listen') != listen:
            continue
        if theirs.get('tls') != claim['tls']:
            return ('proxy.listen %s is %s for service %s and %s for service %s: one listener is either TLS or plain'
                    % (listen, 'TLS' if theirs.get('tls') else 'plain HTTP', other,
                       'TLS' if claim['tls'] else 'plain HTTP', service))
        same_hosts = set(theirs.get('hosts') or ['*']) & set(claim['hosts'] or ['*'])
        if same_hosts and (theirs.get('path_prefix') or '/') == (claim['path_prefix'] or '/'):
            return ('services %s and %s both claim %s%s on %s: give one of them other proxy.hosts or another '
                    'proxy.path_prefix' % (other, service, ', '.join(sorted(same_hosts)).replace('*', 'any host'),
                                           claim['path_prefix'] or '/', listen))
    return None


def _order(item):
    """Routing order: a host name before any host, then the longest prefix first."""
    service, claim = item
    return (not claim['hosts'], -len(claim['path_prefix'] or ''), service)


def render_listener(listen, claims, config_dir):
    """The frontend of one shared listener: a use_backend rule per service (host names, then the longest path
    prefix first), 404 for a request no service claims, TLS with each service's certificate by SNI, and an
    optional plain listener that redirects to HTTPS. claims: {service: claim} on this listener. Pure."""
    lid = listener_id(listen)
    tls = any(c['tls'] for c in claims.values())
    bind = 'bind %s ssl crt-list %s' % (listen, crt_list_path(config_dir, listen)) if tls else 'bind %s' % listen
    lines = ['# Managed by cutover.deploy (proxy role): the services on %s. Changes here are overwritten.' % listen,
             'frontend fl_%s' % lid, '    ' + bind]
    rules = []
    for service, claim in sorted(claims.items(), key=_order):
        conditions = []
        if claim['hosts']:
            lines.append('    acl host_%s req.hdr(host),field(1,:),lower -m str %s' % (service, ' '.join(claim['hosts'])))
            conditions.append('host_%s' % service)
        if claim['path_prefix']:
            lines.append('    acl path_%s path %s' % (service, claim['path_prefix']))
            lines.append('    acl path_%s path_beg %s/' % (service, claim['path_prefix']))
            conditions.append('path_%s' % service)
        rules.append('    use_backend %s%s' % (service, (' if ' + ' '.join(conditions)) if conditions else ''))
    lines += rules + ['    default_backend nf_%s' % lid,
                      'backend nf_%s' % lid,
                      '    http-request return status 404 content-type text/plain string "%s"' % NOT_FOUND_BODY]
    redirects = sorted({c['redirect_from'] for c in claims.values() if c.get('redirect_from')})
    for address in redirects:
        lines += ['frontend fr_%s_%s' % (lid, listener_id(address)), '    bind %s' % address,
                  '    http-request redirect scheme https code 301']
    return '\n'.join(lines) + '\n'


def render_crt_list(claims, config_dir):
    """HAProxy's crt-list of a TLS listener: each service's certificate, offered for its host names (SNI); the first
    is the default for a client that sends none. Pure."""
    return ''.join('%s%s\n' % (cert_path(config_dir, service), ''.join(' ' + h for h in claim['hosts']))
                   for service, claim in sorted(claims.items(), key=_order) if claim['tls'])


def strip_lines(claim):
    """The backend line that takes a claimed path prefix off before the request reaches the app (/api/x -> /x,
    /api -> /). Pure."""
    if not claim or not claim.get('strip_prefix') or not claim.get('path_prefix'):
        return ''
    # the prefix is checked on the controller (letters, digits, "/", ".", "_", "~", "-"); a "." is a class here
    pattern = claim['path_prefix'].replace('.', '[.]')
    return '    http-request set-path %%[path,regsub(^%s/?,/)]\n' % pattern


def pem_bundle(certificate, key):
    """HAProxy's certificate file: the certificate (chain) then its key. Pure."""
    return certificate.strip() + '\n' + key.strip() + '\n'


def certificate_not_after(pem):
    """Unix seconds at which the first certificate in pem expires, or None when it cannot be read here (the host's
    Python `cryptography`, else the `openssl` command)."""
    try:
        from cryptography import x509
        cert = x509.load_pem_x509_certificate(pem.encode())
        expires = getattr(cert, 'not_valid_after_utc', None) or cert.not_valid_after
        return calendar.timegm(expires.utctimetuple())
    except ImportError:
        pass
    except (ValueError, TypeError):
        return None
    try:
        done = subprocess.run(['openssl', 'x509', '-noout', '-enddate'], input=pem, capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'notAfter=(.+ GMT)', done.stdout)
    try:
        return calendar.timegm(time.strptime(found.group(1), '%b %d %H:%M:%S %Y GMT')) if found else None
    except ValueError:
        return None


def certificate_record(path, hosts, not_after):
    """What a service's state keeps of its certificate (status and the metrics read it). Pure."""
    return dict(path=path, hosts=list(hosts), not_after=iso(not_after))


MAINTENANCE_DIR = 'maintenance'
MAINTENANCE_ON = 'on'
RETRY_AFTER = 60
DEFAULT_MAINTENANCE_PAGE = ('<!doctype html>\n<html><head><meta charset="utf-8"><title>Down for maintenance</title></head>\n'
                            '<body><h1>Down for maintenance</h1><p>We will be back shortly.</p></body></html>\n')


def maintenance_paths(config_dir, service):
    """(the ACL file whose one entry `on` puts the service in maintenance, the page it then answers with)."""
    folder = os.path.join(config_dir, MAINTENANCE_DIR)
    return os.path.join(folder, '%s.acl' % service), os.path.join(folder, '%s.html' % service)


def maintenance_lines(config_dir, service):
    """The backend lines of maintenance mode: while the ACL file (or HAProxy's copy, changed at run time with
    `add acl`/`del acl`) holds `on`, every request gets the page with 503 and Retry-After, and none reaches a
    server. Pure."""
    acl, page = maintenance_paths(config_dir, service)
    return ('    acl cutover_maintenance str(%s) -m str -f %s\n'
            '    http-request return status 503 content-type "text/html; charset=utf-8" file %s hdr Retry-After %d '
            'if cutover_maintenance\n' % (MAINTENANCE_ON, acl, page, RETRY_AFTER))


def maintenance_on(acl_text):
    """Whether an ACL file puts its service in maintenance. Pure."""
    return MAINTENANCE_ON in (acl_text or '').split()
