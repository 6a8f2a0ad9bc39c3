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
import glob
import hashlib
import json
import os
import re
import subprocess
import time

from ansible_collections.cutover.deploy.plugins.module_utils._checks import (
    DNS_LABEL_RE, HOST_PATH_RE, address_error, finite_number, shown,
)
from ansible_collections.cutover.deploy.plugins.module_utils._files import is_pem
from ansible_collections.cutover.deploy.plugins.module_utils._process import run_bounded
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
    claim = dict(listen=listen, hosts=hosts, path_prefix=prefix,
                 strip_prefix=bool(opts.get('strip_prefix', True)) and prefix is not None,
                 tls=bool(tls), redirect_from=(tls or {}).get('redirect_from') or None)
    if (tls or {}).get('acme'):
        claim['acme'] = True  # its certificate comes from the ACME server (Caddy's own), not from tls.certificate
    return claim


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
    acme = any(c.get('acme') for c in claims.values())
    for address in redirects:
        lines += ['frontend fr_%s_%s' % (lid, listener_id(address)), '    bind %s' % address]
        if acme:  # the ACME server's HTTP-01 requests go to lego, while it obtains or renews a certificate
            lines += ['    acl acme_challenge path_beg %s' % ACME_CHALLENGE_PATH,
                      '    http-request redirect scheme https code 301 unless acme_challenge',
                      '    use_backend acme_%s' % lid]
        else:
            lines.append('    http-request redirect scheme https code 301')
    if acme and redirects:
        # lego listens only while it runs: no retry on a refused connection, a 503 at once
        lines += ['backend acme_%s' % lid, '    retries 0', '    server lego 127.0.0.1:%d' % acme_challenge_port(listen)]
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
        done = run_bounded(['openssl', 'x509', '-noout', '-enddate'], 10, stdin_text=pem)
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


# nginx: the same claims, rendered as server blocks (one per host name, and a default one), with maintenance as a
# flag file nginx looks for on every request (no reload to switch it)

def nginx_upstream(service):
    return 'cutover_%s' % service.replace('-', '_')


def nginx_maintenance_paths(config_dir, service):
    """(the flag file whose presence puts the service in maintenance, its page)."""
    folder = os.path.join(config_dir, MAINTENANCE_DIR)
    return os.path.join(folder, '%s.on' % service), os.path.join(folder, '%s.html' % service)


def nginx_location_body(service, strip, config_dir):
    flag = nginx_maintenance_paths(config_dir, service)[0]
    return ('        if (-f %s) {\n            return 503;\n        }\n'
            '        error_page 503 /.cutover-maintenance/%s.html;\n'
            '        proxy_pass http://%s%s;\n'
            '        proxy_http_version 1.1;\n'
            '        proxy_set_header Connection "";\n'
            '        proxy_set_header Host $host;\n' % (flag, service, nginx_upstream(service), '/' if strip else ''))


def nginx_locations(service, claim, config_dir):
    """A service's locations in a server block: `/`, or its prefix exactly and everything under it (a trailing `/`
    on proxy_pass takes the prefix off). Pure."""
    prefix = claim['path_prefix'] if claim else None
    body = nginx_location_body(service, bool(claim and claim['strip_prefix']), config_dir)
    if not prefix:
        return '    location / {\n%s    }\n' % body
    return '    location = %s {\n%s    }\n    location %s/ {\n%s    }\n' % (prefix, body, prefix, body)


def nginx_maintenance_location(config_dir):
    """The pages of maintenance mode, reached only through error_page (internal), with Retry-After. Pure."""
    return ('    location ^~ /.cutover-maintenance/ {\n        internal;\n        alias %s/;\n'
            '        default_type text/html;\n        add_header Retry-After %d always;\n    }\n'
            % (os.path.join(config_dir, MAINTENANCE_DIR), RETRY_AFTER))


def render_nginx_server(listen, config_dir, service, claim=None):
    """A service's own server block (no claim: today's listener of its own). Pure."""
    return ''.join(['server {\n    listen %s;\n' % listen, nginx_locations(service, claim, config_dir),
                    nginx_maintenance_location(config_dir), '}\n'])


def render_nginx_listener(listen, claims, config_dir):
    """Every server block of one shared listener: one per host name, with the locations of the services claiming it
    (and of those claiming any host, where no named one has their prefix), and a default server for the rest; a
    path no service claims gets a 404. With TLS each host's block has its service's certificate. Pure."""
    tls = any(c['tls'] for c in claims.values())
    ordered = sorted(claims.items(), key=_order)
    anywhere = [(s, c) for s, c in ordered if not c['hosts']]
    first_cert = next((s for s, c in ordered if c['tls']), None)
    lines = ['# Managed by cutover.deploy (proxy role): the services on %s. Changes here are overwritten.\n' % listen]

    def server(names, here, cert_service):
        prefixes = set()
        block = 'server {\n    listen %s%s%s;\n' % (listen, ' ssl' if tls else '', '' if names else ' default_server')
        block += '    server_name %s;\n' % ' '.join(names) if names else ''
        if tls and cert_service:
            cert = cert_path(config_dir, cert_service)
            block += '    ssl_certificate %s;\n    ssl_certificate_key %s;\n' % (cert, cert)
        for service, claim in here:
            if (claim['path_prefix'] or '/') in prefixes:
                continue  # a named host's service wins over one for any host with the same prefix
            prefixes.add(claim['path_prefix'] or '/')
            block += nginx_locations(service, claim, config_dir)
        if '/' not in prefixes:
            block += '    location / {\n        return 404 "%s";\n    }\n' % NOT_FOUND_BODY
        return block + nginx_maintenance_location(config_dir) + '}\n'

    for host in sorted({h for c in claims.values() for h in c['hosts']}):
        named = [(s, c) for s, c in ordered if host in c['hosts']]
        lines.append(server([host], named + anywhere, next((s for s, c in named if c['tls']), first_cert)))
    lines.append(server([], anywhere, first_cert))
    acme = any(c.get('acme') for c in claims.values())
    for address in sorted({c['redirect_from'] for c in claims.values() if c.get('redirect_from')}):
        challenge = ('    location %s {\n        proxy_pass http://127.0.0.1:%d;\n        proxy_set_header Host $host;\n    }\n'
                     % (ACME_CHALLENGE_PATH, acme_challenge_port(listen))) if acme else ''
        lines.append('server {\n    listen %s;\n%s    location / {\n        return 301 https://$host$request_uri;\n    }\n}\n'
                     % (address, challenge))
    return ''.join(lines)


def nginx_own_listen_in(text):
    """The address a service's own server block binds (a service file without a claim), or None. Pure."""
    found = re.search(r'^server \{\n    listen (\S+);$', text or '', re.MULTILINE)
    return found.group(1) if found else None


def nginx_listener_file(sites_dir, listen):
    # a leading "_": no service name starts so, so no service's file is ever taken for a listener's
    return os.path.join(sites_dir, '_listener-%s.conf' % listener_id(listen))


# Caddy: the same claims, as one server object per shared listener in Caddy's config (through its admin API); the
# claims themselves are kept in files, since Caddy's JSON has no room for them

def caddy_listener_name(listen):
    return 'cutover-listener-%s' % listener_id(listen)  # never cutover_<service>: a service's own server


def caddy_redirect_name(address):
    return 'cutover-redirect-%s' % listener_id(address)


def caddy_cert_tag(service):
    return 'cutover-%s' % service


def caddy_maintenance_id(service):
    return 'cutover-maintenance-%s' % service


def caddy_maintenance_handler(service, page):
    """The handler that answers every request of the service's route with 503 and the page while it is there (its
    @id names it, to take it out again). Pure."""
    return {'@id': caddy_maintenance_id(service), 'handler': 'static_response', 'status_code': 503,
            'headers': {'Retry-After': [str(RETRY_AFTER)], 'Content-Type': ['text/html; charset=utf-8']}, 'body': page}


def caddy_route(service, claim, upstreams, maintenance=None):
    """One service's route on a shared listener: matched by host and path, its prefix stripped, proxied by the
    reverse_proxy handler whose @id is the service (what a swap patches); in maintenance, the 503 handler first.
    Pure."""
    match = {}
    if claim['hosts']:
        match['host'] = list(claim['hosts'])
    if claim['path_prefix']:
        match['path'] = [claim['path_prefix'], claim['path_prefix'] + '/*']
    handle = [maintenance] if maintenance else []
    handle += [{'handler': 'rewrite', 'strip_path_prefix': claim['path_prefix']}] if claim['strip_prefix'] else []
    handle.append({'handler': 'reverse_proxy', '@id': service, 'upstreams': upstreams})
    route = {'handle': handle, 'terminal': True}
    if match:
        route['match'] = [match]
    return route


def render_caddy_listener(listen, claims, upstreams, maintenance=None):
    """The server object of one shared listener: a route per service in routing order, then a 404; with TLS each
    service's certificate (loaded with its tag) offered for its host names by SNI, the first one to the rest.
    upstreams: {service: the upstreams its reverse_proxy has now}; maintenance: {service: its 503 handler, for
    those in maintenance now}. Pure."""
    ordered = sorted(claims.items(), key=_order)
    routes = [caddy_route(s, c, upstreams[s], (maintenance or {}).get(s)) for s, c in ordered]
    routes.append({'handle': [{'handler': 'static_response', 'status_code': 404, 'body': NOT_FOUND_BODY.replace('\\n', '\n')}]})
    server = {'listen': [listen], 'routes': routes, 'automatic_https': {'disable': True}}
    with_tls = [(s, c) for s, c in ordered if c['tls']]
    if with_tls:
        by_name = [caddy_policy(s, c, dict(sni=list(c['hosts']))) for s, c in with_tls if c['hosts']]
        server['tls_connection_policies'] = by_name + [caddy_policy(*with_tls[0])]  # the first: no SNI
    return server


def caddy_policy(service, claim, match=None):
    """A TLS connection policy: the service's loaded certificate by its tag, or (ACME) the one Caddy manages for the
    name the client asks for. Pure."""
    policy = {} if claim.get('acme') else {'certificate_selection': {'any_tag': [caddy_cert_tag(service)]}}
    if match:
        policy['match'] = match
    return policy


def caddy_acme_policy(service, hosts, acme, ca_file):
    """Caddy's automation policy for a service's ACME certificates (its @id names the service): HTTP-01 only,
    answered by the front door's plain listener. Pure."""
    issuer = {'module': 'acme', 'ca': acme['directory'], 'email': acme['email'],
              'challenges': {'tls-alpn': {'disabled': True}}}
    if ca_file:
        issuer['trusted_roots_pem_files'] = [ca_file]
    return {'@id': 'cutover-acme-%s' % service, 'subjects': list(hosts), 'issuers': [issuer]}


def render_caddy_redirect(address):
    """A plain listener that sends every request to the same URL over HTTPS. Pure."""
    return {'listen': [address], 'automatic_https': {'disable': True},
            'routes': [{'handle': [{'handler': 'static_response', 'status_code': 301,
                                    'headers': {'Location': ['https://{http.request.host}{http.request.uri}']}}]}]}


def caddy_managed_certificate(caddy_dir, host):
    """The certificate file Caddy keeps for host (obtained from an ACME server), or None before it has one."""
    found = sorted(glob.glob(os.path.join(caddy_dir, 'data', 'caddy', 'certificates', '*', host, '%s.crt' % host)))
    return found[0] if found else None


# ACME on HAProxy and nginx: lego (an established ACME client, one static binary in every distribution) obtains and
# renews the certificate, answering HTTP-01 on loopback behind the front door's plain listener

ACME_CHALLENGE_PATH = '/.well-known/acme-challenge/'
DEFAULT_RENEW_DAYS = 30


# lego's HTTP-01 ports: below Linux's default ephemeral range (32768-60999), so no container port the engine has the
# kernel pick, and no outgoing connection's source port, holds one when lego starts
ACME_CHALLENGE_PORTS = range(30000, 32000)


def acme_challenge_port(listen):
    """The loopback port lego answers HTTP-01 on while it runs, one per listener (the listener's frontend sends the
    challenges there). Pure."""
    return ACME_CHALLENGE_PORTS.start + int(listener_id(listen), 16) % len(ACME_CHALLENGE_PORTS)


def lego_command(acme, hosts, folder, port, renew, renew_days=DEFAULT_RENEW_DAYS):
    """lego's arguments to obtain (renew False) or renew when due the certificate for hosts, kept in folder. Pure."""
    argv = ['lego', '--accept-tos', '--email', acme['email'], '--server', acme['directory'], '--path', folder,
            '--http', '--http.port', '127.0.0.1:%d' % port, '--key-type', 'ec256']
    for host in hosts:
        argv += ['--domains', host]
    return argv + (['renew', '--days', str(int(renew_days)), '--no-random-sleep'] if renew else ['run'])


def lego_files(folder, hosts):
    """(certificate with its chain, key) lego writes for hosts (named after the first)."""
    name = sorted(hosts)[0]
    return (os.path.join(folder, 'certificates', '%s.crt' % name), os.path.join(folder, 'certificates', '%s.key' % name))


# The checks of the front door's options (proxy.hosts, path_prefix, strip_prefix and tls): pure, run by the
# settings step on the controller and by the modules that ensure a proxy.
PATH_PREFIX_RE = re.compile(r'(/[A-Za-z0-9._~-]+)+/?')
FRONT_DOOR_KEYS = ('hosts', 'path_prefix', 'tls')
FRONT_DOOR_PROXIES = ('haproxy', 'nginx', 'caddy')


def host_names_error(field, hosts):
    """proxy.hosts: a list of DNS names (no IP addresses, no wildcards, no port)."""
    if not isinstance(hosts, list) or not hosts:
        return '%s %s is invalid: give a list of host names such as [app.example.com]' % (field, shown(hosts))
    for name in hosts:
        labels = name.split('.') if isinstance(name, str) else []
        if not labels or len(name) > 253 or not all(DNS_LABEL_RE.fullmatch(label) for label in labels) \
                or all(label.isdigit() for label in labels):
            return ('%s entry %s is invalid: use a DNS name such as app.example.com (letters, digits, "-" and ".", no '
                    'port, no wildcard)' % (field, shown(name)))
    return None


def _public_key_pem(kind, text):
    """The SubjectPublicKeyInfo PEM of a PEM certificate or unencrypted private key; raises ValueError/TypeError when
    it does not parse, ImportError without `cryptography` (the controller has it: ansible-core requires it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    data = text.strip().encode()
    if kind == 'certificate':
        public = x509.load_pem_x509_certificate(data).public_key()
    else:
        public = serialization.load_pem_private_key(data, password=None).public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def pem_error(field, value, kind):
    """A PEM certificate or key given as text must parse; a path must be absolute (it is read on the host)."""
    if not isinstance(value, str) or not value.strip():
        return ('%s is required with %s: PEM text or the absolute path of a PEM file on the host'
                % (field, field.rsplit('.', 1)[0]))
    if not is_pem(value):
        if not HOST_PATH_RE.fullmatch(value):  # the value is not shown: it may be a key pasted wrongly
            return '%s is invalid: give PEM text (-----BEGIN ...) or the absolute path of a PEM file on the host' % field
        return None
    try:
        _public_key_pem(kind, value)
    except ImportError:
        return None
    except (ValueError, TypeError) as exc:
        return '%s does not parse as a PEM %s%s: %s' % (
            field, kind, ' without a passphrase' if kind == 'key' else '', str(exc).splitlines()[0][:200])
    return None


def key_mismatch_error(prefix, tls):
    """The key of proxy.tls must be the certificate's (both given as PEM text; a path is read on the host)."""
    if not (is_pem(tls.get('certificate')) and is_pem(tls.get('key'))):
        return None
    try:
        if _public_key_pem('certificate', tls['certificate']) != _public_key_pem('key', tls['key']):
            return '%s.tls.key is not the key of %s.tls.certificate (their public keys differ)' % (prefix, prefix)
    except (ImportError, ValueError, TypeError):
        return None  # reported by pem_error
    return None


EMAIL_RE = re.compile(r'[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}')
ACME_PROXIES = ('haproxy', 'nginx', 'caddy')  # Caddy by itself; HAProxy and nginx with lego (_proxy/site.ensure_acme)


def acme_errors(prefix, proxy, tls):
    """proxy.tls.acme: where certificates come from instead of proxy.tls.certificate and key."""
    field, acme = prefix + '.tls.acme', tls['acme']
    if not isinstance(acme, dict):
        return ['%s is invalid: use a mapping with email, directory and (optionally) ca_cert' % field]
    errors = []
    kind = proxy.get('type') or 'haproxy'
    if kind not in ACME_PROXIES:
        errors.append('%s is supported for %s.type %s in this release, not %s (give tls.certificate and tls.key)'
                      % (field, prefix, ', '.join(ACME_PROXIES), kind))
    unknown = sorted(set(acme) - {'email', 'directory', 'ca_cert', 'renew_days'})
    if unknown:
        errors.append('%s.%s is not a setting (valid: email, directory, ca_cert, renew_days)' % (field, unknown[0]))
    days = finite_number(acme.get('renew_days', 30))
    if days is None or days != int(days) or not 1 <= days <= 3650:
        errors.append('%s.renew_days %s is invalid: use whole days from 1 to 3650' % (field, shown(acme.get('renew_days'))))
    if not isinstance(acme.get('email'), str) or not EMAIL_RE.fullmatch(acme['email']):
        errors.append('%s.email %s is invalid: the account email the ACME server knows you by, such as ops@example.com'
                      % (field, shown(acme.get('email'))))
    directory = acme.get('directory')
    if not isinstance(directory, str) or not directory.startswith('https://') or any(c in directory for c in ' \t\r\n"\''):
        errors.append('%s.directory %s is invalid: the https:// URL of the ACME directory, such as '
                      'https://acme-v02.api.letsencrypt.org/directory' % (field, shown(directory)))
    if acme.get('ca_cert') is not None:
        errors.append(pem_error(field + '.ca_cert', acme['ca_cert'], 'certificate'))
    if tls.get('certificate') is not None or tls.get('key') is not None:
        errors.append('%s and %s.tls.certificate/key are exclusive: the ACME server issues the certificate' % (field, prefix))
    if not proxy.get('hosts'):
        errors.append('%s needs %s.hosts: the names to obtain a certificate for' % (field, prefix))
    if not tls.get('redirect_from'):
        errors.append('%s needs %s.tls.redirect_from: the plain listener (for example 0.0.0.0:80) that answers the '
                      "ACME server's HTTP-01 challenge" % (field, prefix))
    return errors


def front_door_errors(prefix, proxy):
    """proxy.hosts, path_prefix, strip_prefix and tls: names, paths and PEM that land in HAProxy's config."""
    given = [k for k in FRONT_DOOR_KEYS if proxy.get(k) not in (None, '', [], {})]
    if not given:
        return []
    errors = []
    kind = proxy.get('type') or 'haproxy'
    if kind not in FRONT_DOOR_PROXIES:
        errors.append('%s.%s is supported for %s.type %s, not %s' % (
            prefix, given[0], prefix, ', '.join(FRONT_DOOR_PROXIES), kind))
    if proxy.get('host') is not None:
        errors.append('%s.%s and %s.host (a shared load balancer) do not go together in this release'
                      % (prefix, given[0], prefix))
    if 'hosts' in given:
        errors.append(host_names_error(prefix + '.hosts', proxy['hosts']))
    prefix_value = proxy.get('path_prefix')
    if 'path_prefix' in given and (not isinstance(prefix_value, str) or not PATH_PREFIX_RE.fullmatch(prefix_value)):
        errors.append('%s.path_prefix %s is invalid: use a path such as /api (segments of letters, digits, ".", "_", '
                      '"~" and "-")' % (prefix, shown(prefix_value)))
    if proxy.get('strip_prefix') is not None and not isinstance(proxy['strip_prefix'], bool):
        errors.append('%s.strip_prefix %s is invalid: use true or false' % (prefix, shown(proxy['strip_prefix'])))
    tls = proxy.get('tls')
    if 'tls' in given:
        if not isinstance(tls, dict):
            return errors + ['%s.tls is invalid: use a mapping with certificate and key' % prefix]
        unknown = sorted(set(tls) - {'certificate', 'key', 'redirect_from', 'acme'})
        if unknown:
            errors.append('%s.tls.%s is not a setting (valid: certificate, key, redirect_from, acme)' % (prefix, unknown[0]))
        if tls.get('acme') is not None:
            errors += acme_errors(prefix, proxy, tls)
        else:
            errors.append(pem_error(prefix + '.tls.certificate', tls.get('certificate'), 'certificate'))
            errors.append(pem_error(prefix + '.tls.key', tls.get('key'), 'key'))
            errors.append(key_mismatch_error(prefix, tls))
        if tls.get('redirect_from') is not None:
            errors.append(address_error(prefix + '.tls.redirect_from', tls['redirect_from']))
            if tls['redirect_from'] == proxy.get('listen'):
                errors.append('%s.tls.redirect_from is %s.listen itself: give the plain listener, such as 0.0.0.0:80'
                              % (prefix, prefix))
    return [e for e in errors if e]
