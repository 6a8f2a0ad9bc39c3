# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ensure a proxy serves a service: its config (rendered by pure functions) and its process.

Each site writes only what differs (atomically), validates the whole config before it is used
(restoring the old files on a rejection), starts the proxy when it is not running and reloads it
gracefully when its config changed. A route that already exists keeps its live upstream: only a
missing route is created, so re-running never undoes a swap.
"""

from __future__ import annotations

import copy
import errno
import grp
import http.client
import json
import os
import re
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from ansible_collections.cutover.deploy.plugins.module_utils._process import run_bounded, start_detached
from ansible_collections.cutover.deploy.plugins.module_utils._files import is_pem, pem_path, read_text, write_atomic
from ansible_collections.cutover.deploy.plugins.module_utils._proxy._http import admin_endpoint, json_request
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.acme_renew import (
    JOB_FILE, ensure_renewal_timer, renewal_job)
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import ProxyError, wait_until
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.front_door import (
    ACME_CHALLENGE_PATH, DEFAULT_MAINTENANCE_PAGE, DEFAULT_RENEW_DAYS, acme_challenge_port, caddy_acme_policy,
    caddy_cert_tag, caddy_listener_name, caddy_maintenance_handler, caddy_maintenance_id, caddy_redirect_name,
    cert_path, claim_in, claim_line, claim_of, conflict, crt_list_path, front_door_errors, lego_command, lego_files,
    listener_file, maintenance_lines, maintenance_on, maintenance_paths, nginx_listener_file,
    nginx_maintenance_paths, nginx_own_listen_in, own_listen_in, pem_bundle, render_caddy_listener,
    render_caddy_redirect, render_crt_list, render_listener, render_nginx_listener, render_nginx_server, strip_lines)
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import DEFAULT_IMAGE as DEFAULT_HAPROXY_IMAGE, HAProxy, member_slot_names
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.nginx import render_upstream
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.systemd import (
    HANDOVER_VARIABLE, SystemdUnit, render_caddy_unit, render_haproxy_unit, render_nginx_unit, systemd_is_init,
    unit_name, unit_path)
from ansible_collections.cutover.deploy.plugins.module_utils._checks import address_error, route_error, split_address

# the default config locations (proxy option spec): their units are plain cutover-<proxy>.service
DEFAULT_HAPROXY_DIR = '/etc/cutover/haproxy'
DEFAULT_NGINX_CONF = '/etc/cutover/nginx/nginx.conf'
DEFAULT_CADDY_DIR = '/etc/cutover/caddy'
PLACEHOLDER_UPSTREAM = '127.0.0.1:9'  # a new route's upstream before the first deploy (discard port)
# A log a long-running proxy appends to stays below this: nginx's error log is rotated by the next ensure
# (every deploy and status) past it, Caddy rolls its own log at it; one older file is kept.
LOG_LIMIT_MB = 10


def haproxy_version(text):
    """(major, minor) from `haproxy -v` or an image tag (haproxy:2.8-alpine), or None. Pure."""
    found = re.search(r'(?:version |:)(\d+)\.(\d+)', text or '')
    return (int(found.group(1)), int(found.group(2))) if found else None


def acme_ca_path(config_dir, service):
    """Where a service's private ACME root given as PEM text is kept, next to its proxy's config. Pure."""
    return os.path.join(config_dir, 'acme', '%s-ca.pem' % service)


def render_haproxy_global(admin_socket, state_file, user=None, idle_close=True):
    """HAProxy's global section; with user, HAProxy drops root once it has bound its sockets. idle_close:
    HAProxy knows `option idle-close-on-response` (2.6 and later)."""
    drop = '    user %s\n    group %s\n' % (user, user) if user else ''
    return ''.join([
        '# Managed by cutover.deploy (proxy role). Changes here are overwritten.\n'
        'global\n'
        '    stats socket %s mode 600 level admin expose-fd listeners\n'
        '    server-state-file %s\n' % (admin_socket, state_file),
        drop,
        'defaults\n'
        '    mode http\n'
        '    timeout connect 5s\n'
        '    timeout client 60s\n'
        '    timeout server 60s\n'
        '    timeout http-keep-alive 30s\n'
        # a request whose connection a server refused (a replica that died, before the check takes it out) is
        # sent to another serving server of the backend, never answered 503
        '    retries 3\n'
        '    option redispatch 1\n'
        '    retry-on conn-failure empty-response response-timeout\n',
        # on a reload the old process answers the next request of each idle keep-alive connection (then
        # closes it) instead of closing it under a client that may be sending on it: no failed request
        '    option idle-close-on-response\n' if idle_close else '',
        '    load-server-state-from-file global\n'])


def haproxy_check_uri(path):
    """The health path as HAProxy's config may hold it unquoted: the characters HAProxy's parser treats
    specially (quotes, $ and the like, all allowed in a URL path) percent-encoded. Pure."""
    return ''.join(c if c.isalnum() or c in '/._~-=&%+:@,;?' else '%%%02X' % ord(c) for c in path)


def haproxy_check_in(text):
    """The check a rendered service file holds ({type, path, status}), from its text; a TCP one when it has none."""
    uri = re.search(r'^    http-check send meth GET uri (\S+) ', text or '', re.MULTILINE)
    status = re.search(r'^    http-check expect status (\S+)$', text or '', re.MULTILINE)
    if not uri:
        return dict(type='tcp')
    return dict(type='http', path=uri.group(1), status=[int(s) for s in status.group(1).split(',')] if status else [200])


def haproxy_check_lines(check):
    """The backend lines of a check ({type, path, status}): HAProxy's GET for an http one, none for a TCP connect
    (the default of `check`). Pure."""
    if not check or check.get('type', 'http') != 'http':
        return ''
    return ('    option httpchk\n'
            '    http-check send meth GET uri %s ver HTTP/1.1 hdr Host 127.0.0.1 hdr User-Agent cutover-proxy-check\n'
            '    http-check expect status %s\n'
            % (haproxy_check_uri(check['path']), ','.join(str(int(s)) for s in check.get('status') or [200])))


TCP_CHECK = dict(type='tcp')


def check_to_render(current_text, asked, settle):
    """(check, pending): the check a service's config gets, and whether a run must settle it after its swap.
    HAProxy runs one check on every server of a backend, the release serving now as well as the new one, and the
    serving one may not answer the new health path (or no longer answers the old). So a changed check is held at
    a TCP connect, which every listening release passes, until the swap has left only the new release serving
    (settle). asked None: the config keeps its check; a new config takes the asked one, nothing serves yet. Pure."""
    current = haproxy_check_in(current_text)
    if asked is None:
        return current, False
    if settle or current_text is None or haproxy_check_lines(asked) == haproxy_check_lines(current):
        return asked, False
    return TCP_CHECK, haproxy_check_lines(asked) != haproxy_check_lines(TCP_CHECK)


def render_haproxy_service(service, listen, members=(), check=None, claim=None, config_dir=None, pairs=1):
    """A frontend on listen and the service's backend with two slots (both idle until a swap), or
    two slots per member on a shared load balancer; `pairs` pairs of them with replicas. With an http check ({type, path, status}), HAProxy's check
    is the health gate's GET; otherwise a TCP connect. With a claim (front_door.claim_of) the service has no
    frontend of its own: the claim line says where it sits on its listener's (render_listener). With config_dir,
    the backend has maintenance mode's rule (front_door.maintenance_lines), off until its ACL file says on."""
    names = [n for m in sorted(members) for n in member_slot_names(m, pairs)] if members else member_slot_names(None, pairs)
    frontend = claim_line(claim) if claim else ('frontend fe_%(s)s\n'
                                                '    bind %(l)s\n'
                                                '    default_backend %(s)s\n' % dict(s=service, l=listen))
    parts = [
        '# Managed by cutover.deploy (proxy role): service %s.\n' % service,
        frontend,
        'backend %s\n' % service,
        maintenance_lines(config_dir, service) if config_dir else '',
        strip_lines(claim),
        haproxy_check_lines(check),
        # a request a server dropped unanswered (it died under it) is sent again to another, unless sending it
        # twice could do harm
        '    http-request disable-l7-retry if { method POST PATCH }\n',
        # active checks: a slot whose container died (or, with an HTTP check, fails it) is taken out,
        # and put back when the engine has restarted it (on the same pinned port), with no play running.
        # A slot's placeholder is a host name with `init-addr last`: a (re)starting HAProxy takes each slot's
        # address from the server-state file only so (one given as an IP is kept from the config, losing a
        # route to any address but 127.0.0.1 at every restart and reload: haproxy/haproxy#3265)
        '    default-server check inter 1s fall 2 rise 1 weight 100 init-addr last,libc,none\n']
    return ''.join(parts + ['    server %s localhost:1 disabled\n' % n for n in names])


def haproxy_pairs(text):
    """How many pairs of slots a rendered service file gives each member (or the backend itself): 1, or the
    replicas it was rendered for. Pure."""
    found = re.findall(r'^    server (?:\S+_)?b(\d*) (?:localhost|127\.0\.0\.1):1 disabled$', text or '', re.MULTILINE)
    return max([int(n or 1) for n in found] or [1])


def haproxy_members(text):
    """The members whose slots a rendered service file holds (a shared backend), from its text."""
    found = re.findall(r'^    server (\S+)_a (?:localhost|127\.0\.0\.1):1 disabled$', text or '', re.MULTILINE)
    return set(found)


def render_nginx_main(upstream_dir, sites_dir, run_dir, error_log):
    """nginx's main config: pid and temp files in run_dir (/run), the error log on disk (error_log)."""
    temps = ''.join('    %s_temp_path %s/%s;\n' % (k, run_dir, k) for k in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'))
    return ('# Managed by cutover.deploy (proxy role). Changes here are overwritten.\n'
            'worker_processes auto;\npid %(r)s/nginx.pid;\nerror_log %(e)s;\n'
            'events { worker_connections 1024; }\n'
            'http {\n    access_log off;\n    keepalive_timeout 30s;\n%(t)s'
            '    include %(u)s/*.conf;\n    include %(s)s/*.conf;\n}\n'
            % dict(r=run_dir, e=error_log, u=upstream_dir, s=sites_dir, t=temps))


def rotate_if_past_limit(path, reopen, limit_bytes=LOG_LIMIT_MB * 1024 * 1024):
    """Past the limit, the log becomes path.1 (replacing the one before) and reopen() makes the proxy write a
    new file. Returns whether it rotated."""
    try:
        if os.path.getsize(path) <= limit_bytes:
            return False
    except OSError:
        return False
    os.replace(path, path + '.1')
    reopen()
    return True


def caddy_logging(caddy_dir):
    """Caddy's own logs in caddy_dir/caddy.log, rolled by Caddy itself (it logs every config change: each swap)."""
    return {'logs': {'default': {'writer': {'output': 'file', 'filename': os.path.join(caddy_dir, 'caddy.log'),
                                            'roll_size_mb': LOG_LIMIT_MB, 'roll_keep': 1}}}}


def caddy_server_config(service, listen):
    return {'listen': [listen], 'automatic_https': {'disable': True},
            'routes': [{'handle': [{'handler': 'reverse_proxy', '@id': service,
                                    'upstreams': [{'dial': PLACEHOLDER_UPSTREAM}]}]}]}


class FileSet:
    """Desired files; apply() writes the ones that differ (a desired None removes the file) and can put the old
    ones back. Secret files (a private key) are written owner-only and never shown in a diff."""

    def __init__(self, desired, keep_existing=(), secret=()):
        self.desired = desired  # {path: text, or None for no file}
        self.keep_existing = set(keep_existing)  # created when missing, never rewritten (live routes)
        self.secret = set(secret)
        self.old = {}

    def changes(self):
        out = {}
        for path, text in self.desired.items():
            current = read_text(path)
            if current == text or (path in self.keep_existing and current is not None):
                continue
            out[path] = (current, text)
        return out

    def shown(self, path, text):
        """What a diff shows of a file's text."""
        if text is None:
            return ''
        return '(certificate and private key, not shown)\n' if path in self.secret else text

    def diff(self, pending):
        """Ansible's before/after of the pending changes (changes()), secrets masked."""
        return dict(before=''.join('# %s\n%s' % (p, self.shown(p, old)) for p, (old, new) in sorted(pending.items())),
                    after=''.join('# %s\n%s' % (p, self.shown(p, new)) for p, (old, new) in sorted(pending.items())))

    def _put(self, path, text):
        if text is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            write_atomic(path, text, mode=0o600 if path in self.secret else 0o644)

    def apply(self):
        changed = self.changes()
        for path, (current, text) in changed.items():
            self.old[path] = current
            self._put(path, text)
        return sorted(changed)

    def restore(self):
        for path, text in self.old.items():
            self._put(path, text)


def pid_alive(pid_file, name):
    """The pid in pid_file if that process runs and is `name`, else None."""
    text = read_text(pid_file)
    if not text or not text.split()[0].isdigit():
        return None
    pid = int(text.split()[0])
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            if name.encode() not in f.read():
                return None
    except OSError:
        return None
    return pid


def bind_addresses(texts):
    """The addresses HAProxy configuration texts bind (`bind ADDRESS ...`), once each, in order. Pure."""
    found = []
    for text in texts:
        for address in re.findall(r'^\s*bind (\S+)', text or '', re.MULTILINE):
            if address not in found:
                found.append(address)
    return found


def address_in_use(address):
    """Whether a process listens on address (host:port) now: our own bind of it fails. With SO_REUSEADDR a bind
    passes over closing connections, never over a listener. Anything but a clear "in use" (a name that does not
    resolve, a port we may not bind) is left for the proxy's own start to report."""
    try:  # HAProxy's wildcards: '*:80' and ':80'
        host, port = split_address(re.sub(r'^\*?:', '0.0.0.0:', address))
    except ValueError:
        return False
    try:
        with socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        return exc.errno == errno.EADDRINUSE
    return False


def run(cmd, what, timeout=30):
    try:
        proc = run_bounded(cmd, timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProxyError('%s: cannot run %s: %s' % (what, cmd[0], exc))
    if proc.returncode != 0:
        raise ProxyError('%s failed: %s' % (what, (proc.stderr or proc.stdout).strip()[-800:]))
    return proc


class FrontDoorSite:
    """What HAProxy's and nginx's sites share of the front door: each service's file in service_dir() says where the
    service sits (a claim line) or binds a listener of its own; listener_files() renders one shared listener from the
    claims on it. Needs self.config_dir and self.front_door (the proxy options hosts, path_prefix, strip_prefix, tls)."""

    SERVICE_FILE = None  # a service's file name in service_dir(), with %s for the service

    def service_dir(self):
        return self.config_dir

    def service_file(self, service):
        return os.path.join(self.service_dir(), self.SERVICE_FILE % service)

    def own_listen(self, text):
        """The address a service file without a claim binds, or None."""
        raise NotImplementedError

    def listener_files(self, listen, on):
        """{path: text, or None for no file} of one listener with the claims on it ({} left: it goes)."""
        raise NotImplementedError

    def own_files(self, service):
        """The files that are the service's own in this proxy's config (its service file first)."""
        raise NotImplementedError

    def removal_files(self, service):
        """The files once service is gone: its own, its place on a shared listener and its certificate."""
        current = read_text(self.service_file(service))
        desired, secret = dict.fromkeys(self.own_files(service)), ()
        if claim_in(current):
            front, secret = self.front_door_files(service, None, claim_in(current))
            desired.update(front)
        return FileSet(desired, secret=secret)

    def other_services(self, service):
        """({service: claim}, {service: own listen address}) of the other services in this config folder."""
        claims, own = {}, {}
        folder = self.service_dir()
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            found = re.fullmatch(re.escape(self.SERVICE_FILE).replace('%s', '(.+)'), name)
            if not found or found.group(1) == service or name.startswith('_'):  # '_': a listener's file
                continue
            text = read_text(os.path.join(folder, name))
            if claim_in(text):
                claims[found.group(1)] = claim_in(text)
            elif self.own_listen(text):
                own[found.group(1)] = self.own_listen(text)
        return claims, own

    def front_door_files(self, service, claim, before):
        """({path: text or None}, secret paths): each listener this service is on or leaves, and the service's
        certificate file. Raises ProxyError when another service holds the same place (naming it) or a certificate
        cannot be read."""
        others, own = self.other_services(service)
        if claim:
            why = conflict(service, claim, others, own)
            if why:
                raise ProxyError(why)
        files, cert = {}, cert_path(self.config_dir, service)
        for listen in sorted({c['listen'] for c in (claim, before) if c}):
            on = {s: c for s, c in others.items() if c['listen'] == listen}
            if claim and claim['listen'] == listen:
                on[service] = claim
            files.update(self.listener_files(listen, on))
        if claim and claim.get('acme'):  # lego's certificate once it has one (ensure_acme), a stand-in until then
            files[cert] = read_text(cert) or bootstrap_certificate(claim['hosts'][0])
        else:
            files[cert] = self.certificate_bundle() if claim and claim['tls'] else None
        return files, [cert]

    def certificate_bundle(self):
        """The service's certificate and key as one PEM (proxy.tls: PEM text, or paths on this host)."""
        return pem_bundle(*self.certificate_parts())

    def certificate_parts(self):
        """(certificate, key) PEM text of proxy.tls, a path read on this host; ProxyError names a missing file."""
        tls = self.front_door['tls']
        parts = []
        for field in ('certificate', 'key'):
            value = tls.get(field) or ''
            if not is_pem(value):
                text = read_text(value) if os.path.isabs(value) else None
                if text is None:
                    raise ProxyError('proxy.tls.%s: no file %s on this host (give PEM text or the path of a PEM file)'
                                     % (field, value))
                value = text
            parts.append(value)
        return parts[0], parts[1]


class HAProxyHostSite(FrontDoorSite):
    """HAProxy as a host process: config folder of .cfg files, daemon mode, seamless soft reload."""

    def __init__(self, opts):
        self.config_dir = opts['config_dir']
        self.run_dir = os.path.dirname(opts['admin_socket'])
        self.admin_socket = opts['admin_socket']
        self.state_file = opts['state_file']
        self.pid_file = os.path.join(self.run_dir, 'haproxy.pid')
        self.binary = 'haproxy'
        self.member = opts.get('member')
        self.replicas = int(opts.get('replicas') or 1)
        self.check = opts.get('check')
        self.settle_check = opts.get('settle_check', False)
        self.check_pending = False  # set by files(): a changed check is held at TCP until the swap
        self.front_door = {k: opts.get(k) for k in ('hosts', 'path_prefix', 'strip_prefix', 'tls')}
        self.cert_files = set()  # set by files(): the certificate files HAProxy can take at run time

    def run_as(self):
        """The unprivileged user HAProxy drops to (Debian's package creates `haproxy`), or None."""
        try:
            pwd.getpwnam('haproxy')
            grp.getgrnam('haproxy')
            return 'haproxy'
        except KeyError:
            return None

    def files(self, service, listen):
        version = self.version()
        global_cfg = render_haproxy_global(self.admin_socket, self.state_file, self.run_as(),
                                           idle_close=version is None or version >= (2, 6))
        path = self.service_file(service)
        # A shared backend only ever gains members: a run on some of the app hosts (--limit) must not
        # take the others' slots away.
        current = read_text(path)
        members = haproxy_members(current) | {self.member} if self.member else ()
        if self.check and self.check.get('type', 'http') == 'http' and not self.check.get('path'):
            raise ProxyError('proxy.check.path is required with proxy.check.type http')
        check, self.check_pending = check_to_render(current, self.check, self.settle_check)
        claim = claim_of(self.front_door, listen)
        acl, page = maintenance_paths(self.config_dir, service)
        desired = {os.path.join(self.config_dir, '00-global.cfg'): global_cfg,
                   # slots only grow: a release with fewer replicas is swapped in before the others' slots may go
                   path: render_haproxy_service(service, listen, members, check, claim, self.config_dir,
                                                max(self.replicas, haproxy_pairs(current))),
                   acl: '', page: DEFAULT_MAINTENANCE_PAGE}  # created off; the maintenance step changes them
        secret = ()
        if claim or claim_in(current):  # a place on a shared listener, taken, moved or left
            front, secret = self.front_door_files(service, claim, claim_in(current))
            desired.update(front)
        self.cert_files = set(secret)
        return FileSet(desired, keep_existing=[acl, page], secret=secret)

    SERVICE_FILE = 'service-%s.cfg'

    def own_listen(self, text):
        return own_listen_in(text)

    def listener_files(self, listen, on):
        tls = any(c['tls'] for c in on.values())
        return {listener_file(self.config_dir, listen): render_listener(listen, on, self.config_dir) if on else None,
                crt_list_path(self.config_dir, listen): render_crt_list(on, self.config_dir) if tls else None}

    def own_files(self, service):
        return (self.service_file(service),) + maintenance_paths(self.config_dir, service)

    def hot_updates(self, pending):
        """{path: text} of the pending files HAProxy takes at run time: changed certificates it already serves, when
        nothing else changed. Anything else ({}) needs a reload."""
        certs = {p: new for p, (old, new) in pending.items() if p in self.cert_files and old is not None and new is not None}
        return certs if certs and len(certs) == len(pending) else {}

    def hot_update(self, path, text):
        HAProxy(self.admin_socket, self.state_file).set_certificate(path, text)

    def reload_command(self):
        return None  # a new certificate goes in through the Runtime API (admin_socket)

    def version(self):
        """The (major, minor) of the haproxy binary, or None when it does not say."""
        try:
            done = run_bounded([self.binary, '-v'], 10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return haproxy_version(done.stdout)

    def running(self):
        return pid_alive(self.pid_file, 'haproxy')

    def unsupervised_pids(self):
        """The pids of an HAProxy this config runs as a host process (`haproxy -D`: runtime host, or an older
        release's), which a unit or a container takes the listening sockets from."""
        if not HAProxyHostSite.running(self):
            return []
        return [int(pid) for pid in (read_text(self.pid_file) or '').split() if pid.isdigit()]

    @staticmethod
    def soft_stop(pids):
        """The old processes finish what they hold (SIGUSR1), once a new one serves on the same sockets."""
        for pid in pids:
            try:
                os.kill(pid, signal.SIGUSR1)
            except OSError:
                pass

    def validate(self):
        run([self.binary, '-c', '-q', '-f', self.config_dir], 'haproxy -c')

    def refuse_taken_addresses(self):
        """Before HAProxy's first start, raise ProxyError naming the addresses this configuration binds that another
        process listens on: HAProxy would start beside another HAProxy on the same port (SO_REUSEPORT) and share its
        requests. An HAProxy of ours running unsupervised shares them on purpose: it hands its sockets over."""
        if self.unsupervised_pids():
            return
        names = sorted(n for n in os.listdir(self.config_dir) if n.endswith('.cfg'))
        taken = [a for a in bind_addresses(read_text(os.path.join(self.config_dir, n)) for n in names) if address_in_use(a)]
        if taken:
            raise ProxyError('%s: another process listens there. HAProxy binds with SO_REUSEPORT, so it would start '
                             'beside it and the kernel would split the requests between the two. Give proxy.listen '
                             '(cutover_proxy.listen) a free address, or stop what listens there' % ', '.join(taken))

    def start(self):
        os.makedirs(self.run_dir, exist_ok=True)
        os.makedirs(os.path.dirname(self.state_file), exist_ok=True)
        if not os.path.exists(self.state_file):
            write_atomic(self.state_file, '')
        run([self.binary, '-D', '-f', self.config_dir, '-p', self.pid_file], 'starting haproxy')
        if not wait_until(lambda: os.path.exists(self.admin_socket) and self.running(), 10):
            raise ProxyError('haproxy started but its admin socket %s did not appear' % self.admin_socket)

    def reload(self):
        HAProxy(self.admin_socket, self.state_file).save_state()  # the new process loads the slots from it
        old = read_text(self.pid_file).split()
        run([self.binary, '-D', '-f', self.config_dir, '-p', self.pid_file, '-x', self.admin_socket, '-sf'] + old,
            'reloading haproxy')

    def stop(self):
        for pid in (read_text(self.pid_file) or '').split():
            try:
                os.kill(int(pid), 15)
            except (OSError, ValueError):
                pass

    def supervision(self):
        return dict(runtime='host', supervised=False, running=bool(self.running()))


class SystemdSupervised:
    """What every proxy run as a unit of Cutover's own shares (self.unit: a SystemdUnit)."""

    def unit_running(self):
        return self.unit.active()

    def start_unit(self):
        try:
            self.unit.daemon_reload()
            self.unit.enable()
            self.unit.start()
        except ProxyError as exc:
            raise ProxyError('%s; its log: %s' % (exc, self.unit.failure_log()))

    def repairs(self):
        return [] if self.unit.enabled() else ['enable %s' % self.unit.service]

    def repair(self):
        self.unit.enable()

    def stop(self):
        self.unit.stop_and_disable()

    def supervision(self):
        shown = self.unit.show()
        return dict(runtime='systemd', supervised=True, unit=self.unit.service,
                    active=shown.get('ActiveState') == 'active', enabled=shown.get('UnitFileState') == 'enabled',
                    restarts=int(shown['NRestarts']) if shown.get('NRestarts', '').isdigit() else None)


class HAProxySystemdSite(SystemdSupervised, HAProxyHostSite):
    """HAProxy as a systemd unit of Cutover's own (proxy/systemd.py): master-worker, enabled, Restart=always.
    A host still running the unsupervised HAProxy of an older release hands its listening sockets over to the
    unit's first start (-x), then finishes its connections (soft stop): no connection is refused on the way."""

    def __init__(self, opts):
        super().__init__(opts)
        self.binary = shutil.which('haproxy') or '/usr/sbin/haproxy'
        self.unit = SystemdUnit(unit_name('haproxy', self.config_dir, DEFAULT_HAPROXY_DIR))
        self.handover_file = os.path.join(self.run_dir, 'handover.env')

    def files(self, service, listen):
        files = super().files(service, listen)
        files.desired[unit_path(self.unit.name)] = render_haproxy_unit(self.binary, self.config_dir, self.pid_file,
                                                                       self.handover_file, self.run_dir)
        return files

    def running(self):
        return self.unit_running()

    def start(self):
        for d in (self.run_dir, os.path.dirname(self.state_file)):
            os.makedirs(d, exist_ok=True)
        if not os.path.exists(self.state_file):
            write_atomic(self.state_file, '')
        old = self.unsupervised_pids()
        if old:
            HAProxy(self.admin_socket, self.state_file).save_state()  # the unit's process loads the slots from it
            write_atomic(self.handover_file, '%s=-x %s\n' % (HANDOVER_VARIABLE, self.admin_socket), mode=0o600)
        try:
            self.start_unit()
        finally:
            if os.path.exists(self.handover_file):
                os.unlink(self.handover_file)
        if not wait_until(lambda: os.path.exists(self.admin_socket) and self.unit.active(), 15):
            raise ProxyError('%s started but its admin socket %s did not appear' % (self.unit.service, self.admin_socket))
        self.soft_stop(old)  # the unit serves on the same sockets now

    def reload(self):
        HAProxy(self.admin_socket, self.state_file).save_state()  # the new workers load the slots from it
        self.unit.daemon_reload_if_needed()
        self.unit.reload()


class NginxHostSite(FrontDoorSite):
    """nginx as a host process with Cutover's own main config; graceful `nginx -s reload`."""

    SERVICE_FILE = '%s.conf'

    def __init__(self, opts):
        self.conf = opts['conf']
        self.config_dir = os.path.dirname(self.conf)
        self.upstream_dir = opts['upstream_dir']
        self.pid_file = opts['pid_file']
        self.run_dir = os.path.dirname(self.pid_file)
        self.error_log = os.path.join(self.config_dir, 'error.log')
        self.binary = opts.get('binary') or 'nginx'
        self.front_door = {k: opts.get(k) for k in ('hosts', 'path_prefix', 'strip_prefix', 'tls')}

    def service_dir(self):
        return os.path.join(self.config_dir, 'sites')

    def own_listen(self, text):
        return nginx_own_listen_in(text)

    def listener_files(self, listen, on):
        return {nginx_listener_file(self.service_dir(), listen): render_nginx_listener(listen, on, self.config_dir)
                if on else None}

    def files(self, service, listen):
        upstream = os.path.join(self.upstream_dir, '%s.conf' % service)
        main = render_nginx_main(self.upstream_dir, self.service_dir(), self.run_dir, self.error_log)
        path, page = self.service_file(service), nginx_maintenance_paths(self.config_dir, service)[1]
        current = read_text(path)
        claim = claim_of(self.front_door, listen)
        server = claim_line(claim) if claim else render_nginx_server(listen, self.config_dir, service)
        desired = {self.conf: main, upstream: render_upstream(service, PLACEHOLDER_UPSTREAM),
                   path: '# Managed by cutover.deploy (proxy role): service %s.\n%s' % (service, server),
                   page: DEFAULT_MAINTENANCE_PAGE}
        secret = ()
        if claim or claim_in(current):
            front, secret = self.front_door_files(service, claim, claim_in(current))
            desired.update(front)
        return FileSet(desired, keep_existing=[upstream, page], secret=secret)

    def own_files(self, service):
        return (self.service_file(service), os.path.join(self.upstream_dir, '%s.conf' % service)) \
            + nginx_maintenance_paths(self.config_dir, service)

    def running(self):
        return pid_alive(self.pid_file, 'nginx')

    def validate(self):
        os.makedirs(self.run_dir, exist_ok=True)
        run([self.binary, '-t', '-q', '-c', self.conf], 'nginx -t')

    def start(self):
        run([self.binary, '-c', self.conf], 'starting nginx')
        if not wait_until(self.running, 10):
            raise ProxyError('nginx started but wrote no pid file %s' % self.pid_file)

    def reload(self):
        run([self.binary, '-c', self.conf, '-s', 'reload'], 'reloading nginx')

    def reload_command(self):
        """What reloads this nginx from outside a play (the ACME renewal timer)."""
        return [shutil.which(self.binary) or self.binary, '-c', self.conf, '-s', 'reload']

    def stop(self):
        run_bounded([self.binary, '-c', self.conf, '-s', 'quit'], 30)

    def supervision(self):
        return dict(runtime='host', supervised=False, running=bool(self.running()))

    def rotate_logs(self):
        rotate_if_past_limit(self.error_log, lambda: run([self.binary, '-c', self.conf, '-s', 'reopen'], 'nginx -s reopen'))


class NginxSystemdSite(SystemdSupervised, NginxHostSite):
    """nginx as a systemd unit of Cutover's own. An nginx already running unsupervised for this config (an older
    release's) cannot hand its sockets over: with runtime systemd it is quit gracefully and the unit started
    (connections are refused in between); `auto` leaves it as it is (proxy_runtime)."""

    def __init__(self, opts):
        super().__init__(opts)
        self.binary = shutil.which(self.binary) or self.binary
        self.unit = SystemdUnit(unit_name('nginx', self.conf, DEFAULT_NGINX_CONF))

    def files(self, service, listen):
        files = super().files(service, listen)
        files.desired[unit_path(self.unit.name)] = render_nginx_unit(self.binary, self.conf, self.pid_file)
        return files

    def running(self):
        return self.unit_running()

    def start(self):
        os.makedirs(self.run_dir, exist_ok=True)
        if NginxHostSite.running(self):
            NginxHostSite.stop(self)
            wait_until(lambda: not NginxHostSite.running(self), 30)
        self.start_unit()
        if not wait_until(lambda: NginxHostSite.running(self), 10):
            raise ProxyError('%s started but nginx wrote no pid file %s' % (self.unit.service, self.pid_file))

    def reload(self):
        self.unit.daemon_reload_if_needed()
        self.unit.reload()

    def reload_command(self):
        return ['systemctl', 'reload', self.unit.service]


# in the actions of a run that held a changed HAProxy check at TCP: its swap must settle it (proxy_site settle_check)
CHECK_HELD = 'hold the changed check at tcp until the swap'


def ensure_site(site, service, listen, check_mode):
    """Write what differs, validate, then start or reload. Returns (changed, actions, diff). A log past its
    limit is rotated on the way: bookkeeping, not a change."""
    files = site.files(service, listen)
    held = [CHECK_HELD] if getattr(site, 'check_pending', False) else []  # bookkeeping for the caller, not a change
    pending = files.changes()
    running = site.running()
    if running and not check_mode and hasattr(site, 'rotate_logs'):
        site.rotate_logs()
    repairs = site.repairs() if running and hasattr(site, 'repairs') else []  # a unit someone disabled
    # a changed certificate alone is loaded at run time (HAProxy's Runtime API), without a reload
    hot = site.hot_updates(pending) if running and hasattr(site, 'hot_updates') else {}
    actions = ['%s %s' % ('remove' if new is None else 'write', p) for p, (old, new) in sorted(pending.items())]
    if not running:
        actions.append('start')
    elif hot:
        actions += ['load %s at run time' % p for p in sorted(hot)]
    elif pending:
        actions.append('reload')
    actions += repairs
    diff = files.diff(pending)
    if check_mode or not actions:
        return bool(actions), actions + held, diff
    files.apply()
    try:
        site.validate()
        if not running and hasattr(site, 'refuse_taken_addresses'):
            site.refuse_taken_addresses()
    except ProxyError:
        files.restore()
        raise
    if not running:
        site.start()
    elif hot:
        for path, text in sorted(hot.items()):
            site.hot_update(path, text)
    elif pending:
        site.reload()
        time.sleep(0.2)
    if repairs:
        site.repair()
    return True, actions + held, diff


class HAProxyContainerSite(HAProxyHostSite):
    """HAProxy as a container on the same engine (host network; config, socket and state folders
    bind-mounted), in master-worker mode so a reload is a USR2 to the container."""

    def __init__(self, opts, engine):
        super().__init__(opts)
        self.engine = engine
        # one container per configuration folder, named as its unit would be (two instances never share one)
        self.name = opts.get('container_name') or unit_name('haproxy', self.config_dir, DEFAULT_HAPROXY_DIR)
        self.image = opts.get('image') or DEFAULT_HAPROXY_IMAGE

    def container(self):
        return self.engine.get_container(self.name)

    def run_as(self):
        return None  # the image is the bare binary and its libraries: no user database to drop to

    def version(self):
        return haproxy_version(self.image)  # from the tag (haproxy:2.6); none for a local build: a current one

    def running(self):
        c = self.container()
        return c is not None and c.status == 'running'

    def validate(self):
        c = self.container()
        if c is None or c.status != 'running':
            return  # a first start validates: a rejected config makes the container exit, reported below
        code, out = c.exec_run(['haproxy', '-c', '-q', '-f', self.config_dir])
        if code != 0:
            raise ProxyError('haproxy -c (in container %s) failed: %s' % (self.name, out.decode('utf-8', 'replace')[-800:]))

    def start(self):
        state_dir = os.path.dirname(self.state_file)
        for d in (self.run_dir, state_dir):
            os.makedirs(d, exist_ok=True)
        if not os.path.exists(self.state_file):
            write_atomic(self.state_file, '')
        old = self.container()
        if old is not None:
            self.engine.call('removing stopped proxy container %s' % self.name, old.remove, force=True)
        self.engine.ensure_image(self.image, 'missing')
        # a host still running the unsupervised HAProxy of an older release: the container takes its listening
        # sockets over (-x, through the admin socket in the bind-mounted run folder), then it finishes its
        # connections (soft stop); no connection is refused on the way
        unsupervised = self.unsupervised_pids()
        if unsupervised:
            HAProxy(self.admin_socket, self.state_file).save_state()  # the container's process loads the slots
        api = self.engine.client.api
        host_config = api.create_host_config(
            network_mode='host', restart_policy={'Name': 'unless-stopped'},
            binds=['%s:%s:ro' % (self.config_dir, self.config_dir), '%s:%s' % (self.run_dir, self.run_dir),
                   '%s:%s' % (state_dir, state_dir)])
        handover = ['-x', self.admin_socket] if unsupervised else []
        # as root inside, as the host's HAProxy starts (the official image's user could not bind ports below 1024)
        created = self.engine.call('creating proxy container %s' % self.name, api.create_container, self.image,
                                   command=['haproxy', '-W', '-db', '-f', self.config_dir] + handover, name=self.name,
                                   user='0:0', host_config=host_config,
                                   labels={'io.cutover.proxy': 'haproxy', 'io.cutover.config': self.config_dir})
        self.engine.call('starting proxy container %s' % self.name, api.start, created['Id'])
        # only once the container's HAProxy serves does the old process get its soft stop
        if not wait_until(lambda: self.serving_apart_from(unsupervised), 15):
            c = self.container()
            logs = c.logs(tail=20).decode('utf-8', 'replace') if c is not None else ''
            raise ProxyError('proxy container %s did not come up (admin socket %s): %s' % (self.name, self.admin_socket, logs))
        self.soft_stop(unsupervised)
        if unsupervised and os.path.exists(self.pid_file):
            os.unlink(self.pid_file)  # those pids are not ours to signal any more

    def serving_apart_from(self, old_pids):
        """Whether the container runs and an HAProxy other than old_pids answers on the admin socket: with -x the
        container's process shares that socket with the old one, whose pids (this host's) it does not have."""
        if not self.running():
            return False
        try:
            info = HAProxy(self.admin_socket, timeout=1).command('show info')
        except ProxyError:
            return False
        pid = re.search(r'^Pid: (\d+)', info, re.M)
        return pid is not None and int(pid.group(1)) not in old_pids

    def reload(self):
        HAProxy(self.admin_socket, self.state_file).save_state()
        self.engine.call('reloading proxy container %s' % self.name, self.container().kill, signal='USR2')

    def stop(self):
        c = self.container()
        if c is not None:
            c.remove(force=True)

    def supervision(self):
        c = self.container()
        policy = ((c.attrs.get('HostConfig') or {}).get('RestartPolicy') or {}).get('Name') if c is not None else None
        return dict(runtime='container', supervised=policy in ('always', 'unless-stopped'), container=self.name,
                    restart_policy=policy or None, running=c is not None and c.status == 'running')


def bootstrap_certificate(host):
    """A self-signed certificate for host, valid a day: what a TLS listener starts with until the ACME server's."""
    with tempfile.TemporaryDirectory(prefix='cutover-bootstrap-') as tmp:
        cert, key = os.path.join(tmp, 'cert.pem'), os.path.join(tmp, 'key.pem')
        run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key,
             '-out', cert, '-days', '1', '-subj', '/CN=%s' % host], 'openssl (a stand-in certificate until the ACME one)')
        return pem_bundle(read_text(cert), read_text(key))


def challenges_reach_lego(redirect_from, host):
    """Whether the plain listener passes ACME challenges on (to lego's port) instead of redirecting them, as the
    config just written says: a reload takes effect a moment after it is asked for, and the ACME server's
    validation must not meet the old config."""
    address, port = split_address(redirect_from)
    address = {'0.0.0.0': '127.0.0.1', '::': '::1'}.get(address, address)  # all addresses: this host's loopback
    try:
        conn = http.client.HTTPConnection(address, port, timeout=2)
        conn.request('GET', ACME_CHALLENGE_PATH + 'cutover-route-check', headers={'Host': host})
        status = conn.getresponse().status
        conn.close()
    except (OSError, http.client.HTTPException):
        return False
    return status != 301


def ensure_acme(site, opts, service, check_mode):
    """HAProxy and nginx with proxy.tls.acme: lego obtains the certificate for proxy.hosts (HTTP-01, answered behind
    the front door's plain listener), or renews it when it has fewer than acme.renew_days days left; a new one is
    loaded at run time (HAProxy's Runtime API) or with a graceful reload (nginx). Returns the actions; raises
    ProxyError with lego's last words."""
    acme, hosts = opts['tls']['acme'], sorted(h.lower() for h in opts.get('hosts') or [])
    folder = os.path.join(site.config_dir, 'acme', service)
    crt, key = lego_files(folder, hosts)
    renew = os.path.exists(crt) and os.path.exists(key)
    if check_mode:  # whether a renewal is due, only lego knows: a run tells
        return [] if renew else ['obtain a certificate for %s' % ', '.join(hosts)]
    env = dict(os.environ)
    if acme.get('ca_cert'):  # a private ACME server: the root its own HTTPS chains to
        env['LEGO_CA_CERTIFICATES'] = pem_path(acme['ca_cert'], acme_ca_path(site.config_dir, service), write=True)
    if not wait_until(lambda: challenges_reach_lego(opts['tls']['redirect_from'], hosts[0]), 15, interval=0.2):
        raise ProxyError('the plain listener %s does not pass ACME challenges on yet (a reload still under way?)'
                         % opts['tls']['redirect_from'])
    argv = lego_command(acme, hosts, folder, acme_challenge_port(opts['listen']), renew,
                        acme.get('renew_days') or DEFAULT_RENEW_DAYS)
    try:
        done = run_bounded(argv, 300, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProxyError('lego (the ACME client; install it, e.g. apt-get install lego) could not run: %s' % exc)
    if done.returncode != 0:
        raise ProxyError('lego could not %s the certificate of %s from %s: %s' % (
            'renew' if renew else 'obtain', ', '.join(hosts), acme['directory'], (done.stderr or done.stdout).strip()[-800:]))
    bundle, path = pem_bundle(read_text(crt) or '', read_text(key) or ''), cert_path(site.config_dir, service)
    # what the daily timer needs to renew it with no play (acme_renew), and the timer itself on a systemd host
    job = renewal_job(service, opts['type'], lego_command(acme, hosts, folder, acme_challenge_port(opts['listen']), True,
                                                          acme.get('renew_days') or DEFAULT_RENEW_DAYS),
                      {k: v for k, v in env.items() if k == 'LEGO_CA_CERTIFICATES'}, crt, key, path,
                      admin_socket=getattr(site, 'admin_socket', None), reload=site.reload_command())
    job_path = os.path.join(folder, JOB_FILE)
    if read_text(job_path) != job:
        write_atomic(job_path, job)
    actions = ensure_renewal_timer(site.config_dir, check_mode)
    if bundle == read_text(path):
        return actions
    actions.append('%s the certificate of %s from %s' % ('renewed' if renew else 'obtained', ', '.join(hosts), acme['directory']))
    write_atomic(path, bundle, mode=0o600)
    if opts['type'] == 'haproxy':
        site.hot_update(path, bundle)
        actions.append('load %s at run time' % path)
    else:
        site.validate()
        site.reload()
        actions.append('reload')
    return actions


def caddy_set(config, path, value):
    """The one admin API request that sets path (keys from the config root) to value, or deletes it (value None),
    creating it at the deepest level that exists already (Caddy's POST sets a missing key, and needs its parent).
    config (the plan's own copy) is changed as the request will change Caddy's, so the next request is planned
    against what Caddy will have then."""
    node, depth = config, 0
    while depth < len(path) - 1 and isinstance(node.get(path[depth]), dict):
        node, depth = node[path[depth]], depth + 1
    if value is None:
        node.pop(path[depth], None)
        return 'DELETE', '/config/' + '/'.join(path), None
    if depth == len(path) - 1 and path[depth] in node:  # it exists: PATCH replaces it (a POST appends to an array)
        node[path[depth]] = value
        return 'PATCH', '/config/' + '/'.join(path), value
    payload = value
    for key in reversed(path[depth + 1:]):
        payload = {key: payload}
    node[path[depth]] = payload
    return 'POST', '/config/' + '/'.join(path[:depth + 1]), payload


def caddy_handlers(servers, id_prefix=''):
    """{@id: handler} of every handler of these servers' routes whose @id starts with id_prefix."""
    found = {}
    for server in servers.values():
        for route in server.get('routes') or []:
            for handler in route.get('handle') or []:
                if str(handler.get('@id') or '').startswith(id_prefix) and handler.get('@id'):
                    found[handler['@id']] = handler
    return found


def caddy_upstreams(servers):
    """{@id: upstreams} of every reverse_proxy handler of these servers (the live routes, swapped or not)."""
    return {i: h.get('upstreams') or [] for i, h in caddy_handlers(servers).items() if h.get('handler') == 'reverse_proxy'}


def caddy_route_path(servers, service):
    """The admin API path of the handle list of the route whose reverse_proxy is the service's, or None."""
    for name, server in sorted(servers.items()):
        for i, route in enumerate(server.get('routes') or []):
            if any(h.get('@id') == service and h.get('handler') == 'reverse_proxy' for h in route.get('handle') or []):
                return '/config/apps/http/servers/%s/routes/%d/handle' % (name, i)
    return None


class CaddyHostSite(FrontDoorSite):
    """Caddy as a host process driven through its admin API (`caddy run --resume`, autosaved config)."""

    def __init__(self, opts):
        self.front_door = {k: opts.get(k) for k in ('hosts', 'path_prefix', 'strip_prefix', 'tls')}
        self.admin_url = opts['admin_url']
        self.base, self.unix_socket, self.headers = admin_endpoint(self.admin_url)
        self.config_dir = opts.get('caddy_dir') or '/etc/cutover/caddy'
        # Caddy's own form of the admin address: unix//path, or host:port
        self.admin_listen = 'unix/' + self.unix_socket if self.unix_socket else self.base.split('://', 1)[-1]

    def _call(self, method, path, payload=None):
        return json_request(method, self.base + path, 'Caddy admin API (admin_url %s)' % self.admin_url, payload,
                            headers=self.headers, unix_socket=self.unix_socket)

    def running(self):
        try:
            self._call('GET', '/config/')
            return True
        except ProxyError:
            return False

    def base_config(self):
        return os.path.join(self.config_dir, 'base.json')

    def write_base(self):
        """The config Caddy starts from (its admin address and log); --resume then loads the routes it saved."""
        if self.unix_socket:  # only root may reach the admin socket
            os.makedirs(os.path.dirname(self.unix_socket), mode=0o700, exist_ok=True)
            os.chmod(os.path.dirname(self.unix_socket), 0o700)
        write_atomic(self.base_config(), json.dumps({'admin': {'listen': self.admin_listen},
                                                     'logging': caddy_logging(self.config_dir)}) + '\n')

    def start(self):
        base = self.base_config()
        self.write_base()
        env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(self.config_dir, 'config'),
                   XDG_DATA_HOME=os.path.join(self.config_dir, 'data'))
        # what Caddy prints before its config (and so its own log) is loaded: one start's worth, not appended
        start_detached(['caddy', 'run', '--resume', '--config', base], env, os.path.join(self.config_dir, 'caddy.start.log'))
        if not wait_until(self.running, 15):
            raise ProxyError('caddy did not answer on %s after starting' % self.admin_url)

    def claim_file(self, service):
        return os.path.join(self.config_dir, 'claims', '%s.json' % service)

    def claims(self):
        """{service: claim} of the services on shared listeners of this Caddy (the claims folder)."""
        folder, out = os.path.join(self.config_dir, 'claims'), {}
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            if name.endswith('.json'):
                try:
                    out[name[:-len('.json')]] = json.loads(read_text(os.path.join(folder, name)) or 'null')
                except ValueError:
                    continue
        return {k: v for k, v in out.items() if isinstance(v, dict)}

    def certificate_entry(self, service):
        certificate, key = self.certificate_parts()
        return {'certificate': certificate, 'key': key, 'tags': [caddy_cert_tag(service)]}

    def front_door_plan(self, config, service, claim, before):
        """(requests, actions, diff): what puts service on its shared listener (claim), or takes it off the one it was
        on (before), as admin API calls; every other service keeps its route and its live upstreams. Raises
        ProxyError when another service holds the same place."""
        config = copy.deepcopy(config)  # changed request by request (caddy_set), as Caddy's will be
        servers = copy.deepcopy(((config.get('apps') or {}).get('http') or {}).get('servers') or {})
        others = {s: c for s, c in self.claims().items() if s != service}
        own = {name[len('cutover_'):]: srv['listen'][0] for name, srv in servers.items()
               if name.startswith('cutover_') and srv.get('listen') and name != 'cutover_%s' % service}
        if claim:
            why = conflict(service, claim, others, own)
            if why:
                raise ProxyError(why)
        on_listeners = dict(others, **({service: claim} if claim else {}))
        requests, actions, before_text, after_text = [], [], {}, {}
        # certificates first: the listener's policies select them by tag
        tls_app = (config.get('apps') or {}).get('tls') or {}
        loaded = (tls_app.get('certificates') or {}).get('load_pem') or []
        tag = caddy_cert_tag(service)
        mine = [self.certificate_entry(service)] if claim and claim['tls'] and not claim.get('acme') else []
        desired_pem = [e for e in loaded if tag not in (e.get('tags') or [])]
        at = next((i for i, e in enumerate(loaded) if tag in (e.get('tags') or [])), len(desired_pem))
        desired_pem[at:at] = mine  # in its place: an unchanged certificate changes nothing
        if desired_pem != loaded:
            requests.append(caddy_set(config, ('apps', 'tls', 'certificates', 'load_pem'), desired_pem))
            actions.append('load the certificate of %s' % service if mine else 'remove the certificate of %s' % service)
        # ACME: Caddy's automation policy for the service's names, and those names among the ones it keeps certificates for
        acme = (self.front_door.get('tls') or {}).get('acme') if claim and claim.get('acme') else None
        policies = ((tls_app.get('automation') or {}).get('policies')) or []
        policy_id = 'cutover-acme-%s' % service
        desired_policies = [x for x in policies if x.get('@id') != policy_id]
        at = next((i for i, x in enumerate(policies) if x.get('@id') == policy_id), len(desired_policies))
        desired_policies[at:at] = [caddy_acme_policy(service, claim['hosts'], acme, self.acme_ca_file(service))] if acme else []
        if desired_policies != policies:
            requests.append(caddy_set(config, ('apps', 'tls', 'automation', 'policies'), desired_policies))
            actions.append('%s the ACME policy of %s' % ('set' if acme else 'remove', service))
        automated = (tls_app.get('certificates') or {}).get('automate') or []
        leaving = set(before['hosts']) if before and before.get('acme') else set()
        desired_names = [n for n in automated if n not in leaving or (acme and n in claim['hosts'])]
        desired_names += [h for h in (claim['hosts'] if acme else []) if h not in desired_names]
        if desired_names != automated:
            requests.append(caddy_set(config, ('apps', 'tls', 'certificates', 'automate'), desired_names))
            actions.append('obtain and renew certificates for %s' % ', '.join(claim['hosts']) if acme else
                           'stop renewing the certificates of %s' % service)
        if claim and 'cutover_%s' % service in servers:  # from a listener of its own to a shared one
            requests.append(caddy_set(config, ('apps', 'http', 'servers', 'cutover_%s' % service), None))
            actions.append('remove the own listener of %s' % service)
            before_text['cutover_%s' % service] = servers['cutover_%s' % service]
        upstreams, maintenance = caddy_upstreams(servers), caddy_handlers(servers, 'cutover-maintenance-')
        for listen in sorted({c['listen'] for c in (claim, before) if c}):
            name, on = caddy_listener_name(listen), {s: c for s, c in on_listeners.items() if c['listen'] == listen}
            desired = render_caddy_listener(listen, on, {s: upstreams.get(s) or [{'dial': PLACEHOLDER_UPSTREAM}]
                                                         for s in on},
                                            {s: maintenance['cutover-maintenance-' + s] for s in on
                                             if 'cutover-maintenance-' + s in maintenance}) if on else None
            if desired != servers.get(name):
                requests.append(caddy_set(config, ('apps', 'http', 'servers', name), desired))
                actions.append('%s the listener %s' % ('set' if desired else 'remove', listen))
                before_text[name], after_text[name] = servers.get(name), desired
        wanted = {caddy_redirect_name(c['redirect_from']): c['redirect_from'] for c in on_listeners.values()
                  if c.get('redirect_from')}
        for name in sorted(set(wanted) | {n for n in servers if n.startswith('cutover-redirect-')}):
            desired = render_caddy_redirect(wanted[name]) if name in wanted else None
            if desired != servers.get(name):
                requests.append(caddy_set(config, ('apps', 'http', 'servers', name), desired))
                actions.append('%s the redirect %s' % ('set' if desired else 'remove', name))
        if requests:
            actions.append('reload')  # Caddy applies each config change with a graceful reload
        diff = dict(before=json.dumps(before_text, indent=1, sort_keys=True) + '\n',
                    after=json.dumps(after_text, indent=1, sort_keys=True) + '\n')
        return requests, actions, diff

    def set_maintenance(self, service, want_on, page):
        """Put the 503 handler in front of the service's proxy handler, or take it out, through the admin API."""
        servers = ((self._call('GET', '/config/').get('apps') or {}).get('http') or {}).get('servers') or {}
        path = caddy_route_path(servers, service)
        if path is None:
            raise ProxyError('Caddy has no route for %s: deploy it first' % service)
        present = caddy_maintenance_id(service) in caddy_handlers(servers, 'cutover-maintenance-')
        if present:
            self._call('DELETE', '/id/%s' % caddy_maintenance_id(service))
        if want_on:
            self._call('PUT', path + '/0', caddy_maintenance_handler(service, page))

    def acme_ca_file(self, service, write=False):
        """The file of the ACME server's root that Caddy trusts (proxy.tls.acme.ca_cert: a path, or PEM text kept
        next to Caddy's config, written with `write`), or None."""
        given = ((self.front_door.get('tls') or {}).get('acme') or {}).get('ca_cert')
        return pem_path(given, acme_ca_path(self.config_dir, service), write) if given else None

    def apply_front_door(self, service, claim, before, config, check_mode):
        requests, actions, diff = self.front_door_plan(config, service, claim, before)
        if claim and claim.get('acme') and not check_mode:
            self.acme_ca_file(service, write=True)
        if not check_mode:
            for request in requests:
                self._call(*request)
            if claim:
                write_atomic(self.claim_file(service), json.dumps(claim, sort_keys=True) + '\n')
            elif os.path.exists(self.claim_file(service)):
                os.unlink(self.claim_file(service))
        return actions, diff

    def ensure(self, service, listen, check_mode):
        """Create or update only this service's server object (or its place on a shared listener's), never the
        rest of the config."""
        actions = []
        if not self.running():
            actions.append('start')
            if check_mode:
                return True, actions + ['add route %s' % service], {}
            self.start()
        name = 'cutover_%s' % service
        config = self._call('GET', '/config/') or {}
        logging = caddy_logging(self.config_dir)
        if config.get('logging') != logging:  # a Caddy started by an older release (--resume keeps its config)
            actions.append('log to %s' % logging['logs']['default']['writer']['filename'])
            if not check_mode:
                self._call('POST', '/config/logging', logging)
        claim, before = claim_of(self.front_door, listen), self.claims().get(service)
        if claim or before:
            more, diff = self.apply_front_door(service, claim, before, config, check_mode)
            if claim:
                return bool(actions + more), actions + more, diff
            if not check_mode:  # its place on a shared listener left: back to a listener of its own
                config = self._call('GET', '/config/') or {}
            actions += more
        servers = ((config.get('apps') or {}).get('http') or {}).get('servers') or {}
        current = servers.get(name)
        if current and current.get('listen') == [listen]:
            return bool(actions), actions, {}
        if current:  # keep the live upstreams, change only the listen address
            desired = dict(current, listen=[listen])
            target = ('PATCH', '/config/apps/http/servers/%s/listen' % name, [listen])
        else:
            desired = caddy_server_config(service, listen)
            target = self._create_target(config, name, desired)
        actions.append('%s route %s on %s' % ('update' if current else 'add', service, listen))
        diff = dict(before='%s\n' % (current or ''), after='%s\n' % desired)
        if not check_mode:
            self._call(*target)
        return True, actions, diff

    def supervision(self):
        return dict(runtime='host', supervised=False, running=self.running())

    def remove(self, service, check_mode):
        """Delete only this service's server object (its listener and route); Caddy autosaves the rest."""
        if not self.running():
            if check_mode:
                return True, ['start', 'remove route %s' % service], {}
            self.start()  # --resume brings the saved config back, this service's server with it
        name = 'cutover_%s' % service
        config = self._call('GET', '/config/') or {}
        before = self.claims().get(service)
        if before:  # its place on a shared listener
            actions, diff = self.apply_front_door(service, None, before, config, check_mode)
            return bool(actions), actions, diff
        current = (((config.get('apps') or {}).get('http') or {}).get('servers') or {}).get(name)
        if current is None:
            return False, [], {}
        if not check_mode:
            self._call('DELETE', '/config/apps/http/servers/%s' % name)
        return True, ['remove route %s' % service], dict(before='%s\n' % current, after='')

    @staticmethod
    def _create_target(config, name, desired):
        """The one request that adds our server object at the deepest path that exists already."""
        apps = config.get('apps')
        if apps is None:
            return 'PUT', '/config/apps', {'http': {'servers': {name: desired}}}
        http = apps.get('http')
        if http is None:
            return 'PUT', '/config/apps/http', {'servers': {name: desired}}
        if http.get('servers') is None:
            return 'PUT', '/config/apps/http/servers', {name: desired}
        return 'PUT', '/config/apps/http/servers/%s' % name, desired


class CaddySystemdSite(SystemdSupervised, CaddyHostSite):
    """Caddy as a systemd unit of Cutover's own, resuming the config it autosaved. One already running
    unsupervised is stopped through its admin API first with runtime systemd (`auto` leaves it)."""

    def __init__(self, opts):
        super().__init__(opts)
        self.binary = shutil.which('caddy') or '/usr/bin/caddy'
        self.unit = SystemdUnit(unit_name('caddy', self.config_dir, DEFAULT_CADDY_DIR))

    def unit_text(self):
        return render_caddy_unit(self.binary, self.config_dir, self.base_config(),
                                 os.path.dirname(self.unix_socket) if self.unix_socket else None)

    def running(self):
        return self.unit_running() and CaddyHostSite.running(self)

    def start(self):
        if CaddyHostSite.running(self):
            self._call('POST', '/stop')
            wait_until(lambda: not CaddyHostSite.running(self), 30)
        self.write_base()
        self.start_unit()
        if not wait_until(lambda: CaddyHostSite.running(self), 15):
            raise ProxyError('%s started but Caddy did not answer on %s' % (self.unit.service, self.admin_url))

    def ensure(self, service, listen, check_mode):
        """The unit file first (a changed one is loaded, used from the next start), then the host site's ensure."""
        unit = FileSet({unit_path(self.unit.name): self.unit_text()})
        actions = ['write %s' % path for path in sorted(unit.changes())]
        running = self.running()
        actions += self.repairs() if running else []
        if actions and not check_mode:
            unit.apply()
            self.unit.daemon_reload()
            if running and self.repairs():
                self.repair()
        changed, more, diff = CaddyHostSite.ensure(self, service, listen, check_mode)
        return changed or bool(actions), actions + more, diff


def proxy_runtime(asked, kind, systemd_booted, unit_written=False, unsupervised_running=False, local_engine=False):
    """What the proxy runs as on this host. `auto`: a systemd unit where systemd is PID 1; elsewhere HAProxy is a
    container with a restart policy on the host's own engine (local_engine), and what has neither is a host process.
    HAProxy hands its listening sockets over to the unit or the container; nginx and Caddy cannot, so one of them
    already running unsupervised (an older release's) stays as it is under `auto` (runtime systemd moves it). Pure."""
    if asked != 'auto':
        return asked
    if not systemd_booted:
        return 'container' if kind == 'haproxy' and local_engine else 'host'
    if kind == 'haproxy' or unit_written:
        return 'systemd'
    return 'host' if unsupervised_running else 'systemd'


def local_engine(url):
    """Whether the engine at url runs on this host (a unix socket that is there): the one a proxy container can run
    on, in this host's network. A remote engine (tcp://, ssh://) or none at all gets no proxy container."""
    return bool(url) and url.startswith('unix://') and os.path.exists(url[len('unix://'):])


SITES = dict(haproxy=dict(host=HAProxyHostSite, systemd=HAProxySystemdSite),
             nginx=dict(host=NginxHostSite, systemd=NginxSystemdSite),
             caddy=dict(host=CaddyHostSite, systemd=CaddySystemdSite))


def make_site(opts, engine, engine_url=None):
    """The site object for the proxy of opts on this host (NPM is the user's own: none). engine: a function
    returning the Engine at engine_url, called only for a proxy that runs as a container."""
    kind = opts['type']
    booted = systemd_is_init()
    runtime = opts['runtime']
    if runtime == 'auto' and booted and kind != 'haproxy':
        unit = SITES[kind]['systemd'](opts).unit
        ours = os.path.exists(unit_path(unit.name)) or unit.active()  # a unit whose file someone removed runs on
        runtime = proxy_runtime(runtime, kind, booted, ours, not ours and bool(SITES[kind]['host'](opts).running()))
    else:
        runtime = proxy_runtime(runtime, kind, booted, local_engine=local_engine(engine_url))
    if runtime == 'container':
        return HAProxyContainerSite(opts, engine())
    return SITES[kind][runtime](opts)


def ensure_proxy(opts, service, check_mode, engine, engine_url=None):
    """Ensure the proxy of opts serves service (call under the proxy lock); (changed, actions, diff,
    supervision: how the proxy is kept running, see the sites' supervision()).
    engine: a function returning the Engine at engine_url, called only for a proxy that runs as a container."""
    if opts['type'] == 'npm':
        return False, [], {}, dict(runtime='external', supervised=None)  # run by the user
    site = make_site(opts, engine, engine_url)
    if opts['type'] == 'caddy':
        changed, actions, diff = site.ensure(service, opts['listen'], check_mode)
    else:
        changed, actions, diff = ensure_site(site, service, opts['listen'], check_mode)
        if (opts.get('tls') or {}).get('acme'):  # with the listener up, its plain side answers the ACME server
            more = ensure_acme(site, opts, service, check_mode)
            changed, actions = changed or bool(more), actions + more
    return changed, actions, diff, site.supervision()


def maintenance_files(opts, service):
    """(the file that says the service is in maintenance, its page) on this proxy, or None where Cutover has no
    maintenance mode (Nginx Proxy Manager). HAProxy: an ACL file holding `on`; nginx: a flag file that exists, which
    nginx itself looks for; Caddy: the same flag file, the record of the 503 handler put in its config."""
    if opts['type'] == 'haproxy':
        return maintenance_paths(opts['config_dir'], service)
    if opts['type'] == 'nginx':
        return nginx_maintenance_paths(os.path.dirname(opts['conf']), service)
    if opts['type'] == 'caddy':
        return nginx_maintenance_paths(opts.get('caddy_dir') or DEFAULT_CADDY_DIR, service)
    return None


def route_check(opts, service):
    """The check HAProxy's config runs on the service's servers now ({type, path, status}), or None: another proxy,
    a shared load balancer's route (read on its own host), or no config yet."""
    if opts['type'] != 'haproxy' or opts.get('member'):
        return None
    text = read_text(os.path.join(opts['config_dir'], HAProxyHostSite.SERVICE_FILE % service))
    return haproxy_check_in(text) if text is not None else None


def in_maintenance(opts, service):
    """Whether the service's route is in maintenance, or None where there is no maintenance mode."""
    paths = maintenance_files(opts, service)
    if paths is None:
        return None
    return maintenance_on(read_text(paths[0])) if opts['type'] == 'haproxy' else os.path.exists(paths[0])


def remove_route(opts, service, check_mode, engine, engine_url=None):
    """Take service off the proxy of opts (call under the proxy lock): its own listener, or its place on a shared one;
    the other services keep theirs (HAProxy and nginx reload gracefully once, Caddy changes only that server).
    Returns (changed, actions, diff). A proxy that is not running gets its files changed for its next start.
    Nginx Proxy Manager's hosts are the user's own: left as they are."""
    if opts['type'] == 'npm':
        return False, [], {}
    site = make_site(opts, engine, engine_url)
    if opts['type'] == 'caddy':
        return site.remove(service, check_mode)
    files = site.removal_files(service)
    pending = files.changes()
    running = site.running()
    actions = ['remove %s' % p if new is None else 'write %s' % p for p, (old, new) in sorted(pending.items())]
    if pending and running:
        actions.append('reload')
    diff = files.diff(pending)
    if check_mode or not pending:
        return bool(pending), actions, diff
    files.apply()
    if running:
        try:
            site.validate()
        except ProxyError:
            files.restore()
            raise
        site.reload()
    return True, actions, diff


def proxy_opts_error(opts, route):
    """What is wrong with the proxy options for a site, or None. Pure."""
    err = address_error('proxy.listen', opts['listen']) or route_error('route', route) or \
        next(iter(front_door_errors('proxy', opts)), None)
    if err:
        return err
    if opts['runtime'] == 'container' and opts['type'] != 'haproxy':
        return 'proxy.runtime container is supported for proxy.type haproxy (valid for %s: auto, systemd, host)' % opts['type']
    return None
