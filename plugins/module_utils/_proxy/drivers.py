# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy option spec (shared by proxy_swap and the roles) and the driver factory."""

from __future__ import annotations

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.base import PROXY_TYPES
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.caddy import DEFAULT_ADMIN as CADDY_ADMIN, Caddy
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import DEFAULT_IMAGE as HAPROXY_IMAGE, HAProxy
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.nginx import Nginx
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.npm import NginxProxyManager


def proxy_option_spec():
    """Suboptions of the `proxy` option (doc fragment: proxy)."""
    return dict(
        type=dict(type='str', default='haproxy', choices=list(PROXY_TYPES) + ['none']),
        listen=dict(type='str', default='127.0.0.1:8080'),
        runtime=dict(type='str', default='auto', choices=['auto', 'systemd', 'container', 'host']),
        image=dict(type='str', default=HAPROXY_IMAGE),
        container_name=dict(type='str'),
        caddy_dir=dict(type='path', default='/etc/cutover/caddy'),
        admin_socket=dict(type='path', default='/run/cutover/haproxy/admin.sock'),
        state_file=dict(type='path', default='/var/lib/cutover/haproxy/server-state'),
        config_dir=dict(type='path', default='/etc/cutover/haproxy'),
        admin_url=dict(type='str', default=CADDY_ADMIN),
        conf=dict(type='path', default='/etc/cutover/nginx/nginx.conf'),
        upstream_dir=dict(type='path', default='/etc/cutover/nginx/upstreams'),
        binary=dict(type='path', default='nginx'),
        pid_file=dict(type='path', default='/run/cutover/nginx/nginx.pid'),
        url=dict(type='str'),
        email=dict(type='str'),
        password=dict(type='str', no_log=True),
        verify_tls=dict(type='bool', default=True),
        timeout=dict(type='float', default=10),
        member=dict(type='str'),
        replicas=dict(type='int', default=1),
        check=dict(type='dict', options=dict(type=dict(type='str', default='http', choices=['http', 'tcp']),
                                             path=dict(type='str'),
                                             status=dict(type='list', elements='int', default=[200]))),
        hosts=dict(type='list', elements='str'),
        path_prefix=dict(type='str'),
        strip_prefix=dict(type='bool', default=True),
        tls=dict(type='dict', options=dict(certificate=dict(type='str'), key=dict(type='str', no_log=True),
                                           redirect_from=dict(type='str'),
                                           acme=dict(type='dict', options=dict(email=dict(type='str'),
                                                                               directory=dict(type='str'),
                                                                               ca_cert=dict(type='str'),
                                                                               renew_days=dict(type='int', default=30))))),
    )


def make_driver(opts):
    """A driver for the `proxy` option dict; raises ValueError naming a missing field."""
    kind = opts['type']
    if kind == 'haproxy':
        return HAProxy(opts['admin_socket'], opts.get('state_file'), opts['timeout'], opts.get('member'))
    if kind == 'caddy':
        return Caddy(opts['admin_url'], opts['timeout'])
    if kind == 'nginx':
        return Nginx(opts['conf'], opts['upstream_dir'], opts['binary'], opts['pid_file'], opts['timeout'])
    if kind == 'npm':
        missing = [k for k in ('url', 'email', 'password') if not opts.get(k)]
        if missing:
            raise ValueError('proxy type npm needs proxy.%s' % ', proxy.'.join(missing))
        return NginxProxyManager(opts['url'], opts['email'], opts['password'], opts['verify_tls'], opts['timeout'])
    if kind == 'none':
        raise ValueError('proxy.type is none: there is no proxy route to swap')
    raise ValueError('invalid proxy.type %r (valid: %s, none)' % (kind, ', '.join(PROXY_TYPES)))
