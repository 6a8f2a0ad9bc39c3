"""The front door's pure rules (plugins/module_utils/_proxy/front_door.py): which services share a listener,
what is refused before any change, the routing order, and a rendered config that the real `haproxy -c` accepts."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils._proxy.acme_renew import (
    RENEW_SCRIPT, render_renewal_units, renewal_job, renewal_unit_name)
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.front_door import (
    claim_in, claim_line, claim_of, conflict, crt_list_path, listener_file, render_crt_list, render_listener,
    acme_challenge_port, lego_command, render_nginx_listener, strip_lines)
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import render_haproxy_service
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.front_door import front_door_errors
from tests.tls import self_signed

LISTEN = '127.0.0.1:8443'
ACME = dict(email='ops@example.com', directory='https://acme.example.com/dir')


def claim(hosts=(), prefix=None, tls=False, listen=LISTEN, strip=True, redirect=None):
    opts = dict(hosts=list(hosts), path_prefix=prefix, strip_prefix=strip,
                tls=dict(certificate='c', key='k', redirect_from=redirect) if tls else None)
    return claim_of(opts, listen)


def test_a_service_without_hosts_prefix_or_tls_keeps_a_listener_of_its_own():
    assert claim_of(dict(hosts=None, path_prefix=None, tls=None), LISTEN) is None
    c = claim(['App.Example.com', 'api.example.com'], '/api/')
    assert c['hosts'] == ['api.example.com', 'app.example.com'] and c['path_prefix'] == '/api' and c['strip_prefix']
    assert claim(['a.example.com'])['strip_prefix'] is False  # nothing to strip without a prefix
    assert claim_in('# x\n' + claim_line(c) + 'backend web\n') == c


@pytest.mark.parametrize('mine, theirs, refused', [
    (claim(['a.example.com']), claim(['a.example.com']), 'both claim a.example.com/'),
    (claim(['a.example.com', 'b.example.com']), claim(['b.example.com']), 'both claim b.example.com/'),
    (claim(['a.example.com'], '/api'), claim(['a.example.com']), None),            # a prefix of its own
    (claim(['a.example.com'], '/api'), claim(['a.example.com'], '/api/'), 'both claim a.example.com/api'),
    (claim(['a.example.com']), claim(['b.example.com']), None),
    (claim(prefix='/p'), claim(prefix='/p'), 'both claim any host/p'),
    (claim(prefix='/p'), claim(['a.example.com'], '/p'), None),                    # the named host wins, no overlap
    (claim(['a.example.com'], tls=True), claim(['b.example.com']), 'either TLS or plain'),
    (claim(['a.example.com']), claim(['a.example.com'], listen='127.0.0.1:9443'), None),  # another listener
])
def test_two_services_in_one_place_are_refused_naming_both(mine, theirs, refused):
    why = conflict('web', mine, {'api': theirs}, {})
    if refused is None:
        assert why is None
    else:
        assert refused in why and 'web' in why and 'api' in why, why


def test_a_listener_a_service_binds_alone_cannot_be_shared():
    why = conflict('web', claim(['a.example.com']), {}, {'legacy': LISTEN})
    assert 'legacy' in why and LISTEN in why


def test_rules_go_named_host_first_then_the_longest_prefix():
    text = render_listener(LISTEN, {'site': claim(['a.example.com']), 'api': claim(['a.example.com'], '/api'),
                                    'v2': claim(['a.example.com'], '/api/v2'), 'assets': claim(prefix='/assets')},
                           '/etc/cutover/haproxy')
    rules = [line.split()[1] for line in text.splitlines() if line.strip().startswith('use_backend')]
    assert rules == ['v2', 'api', 'site', 'assets']
    assert 'use_backend assets if path_assets\n' in text  # any host
    assert 'http-request return status 404' in text
    assert '    acl path_api path /api\n' in text and '    acl path_api path_beg /api/\n' in text  # not /apiary


def test_a_tls_listener_offers_each_certificate_for_its_hosts():
    claims = {'web': claim(['a.example.com'], tls=True, redirect='127.0.0.1:8080'), 'api': claim(['b.example.com'], tls=True)}
    text = render_listener(LISTEN, claims, '/etc/cutover/haproxy')
    assert 'bind %s ssl crt-list %s' % (LISTEN, crt_list_path('/etc/cutover/haproxy', LISTEN)) in text
    assert 'bind 127.0.0.1:8080\n    http-request redirect scheme https code 301' in text
    assert render_crt_list(claims, '/etc/cutover/haproxy').splitlines() == [
        '/etc/cutover/haproxy/certs/api.pem b.example.com', '/etc/cutover/haproxy/certs/web.pem a.example.com']


def test_strip_prefix_takes_the_prefix_off_and_dots_match_only_dots():
    assert strip_lines(claim(['a.example.com'], '/v1.0')) == '    http-request set-path %[path,regsub(^/v1[.]0/?,/)]\n'
    assert strip_lines(claim(['a.example.com'], '/api', strip=False)) == ''
    assert strip_lines(None) == ''


@pytest.mark.parametrize('proxy, message', [
    (dict(hosts='a.example.com'), 'cutover_proxy.hosts'),
    (dict(hosts=['a.example.com:443']), "entry 'a.example.com:443'"),
    (dict(hosts=['*.example.com']), "entry '*.example.com'"),
    (dict(hosts=['127.0.0.1']), "entry '127.0.0.1'"),
    (dict(hosts=['a.example.com'], path_prefix='api'), 'cutover_proxy.path_prefix'),
    (dict(hosts=['a.example.com'], path_prefix='/a b'), 'cutover_proxy.path_prefix'),
    (dict(hosts=['a.example.com'], path_prefix='/a;b'), 'cutover_proxy.path_prefix'),
    (dict(hosts=['a.example.com'], type='npm'), 'type haproxy, nginx, caddy, not npm'),
    (dict(hosts=['a.example.com'], host='lb'), 'cutover_proxy.host'),
    (dict(tls=dict(certificate='/etc/c.pem')), 'cutover_proxy.tls.key is required'),
    (dict(tls=dict(certificate='relative.pem', key='/k.pem')), 'cutover_proxy.tls.certificate is invalid'),
    (dict(tls=dict(certificate='-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----', key='/k.pem')),
     'does not parse as a PEM certificate'),
    (dict(tls=dict(certificate='/c.pem', key='/k.pem', redirect_from='80')), 'cutover_proxy.tls.redirect_from'),
    (dict(tls=dict(certificate='/c.pem', key='/k.pem', port=443)), 'cutover_proxy.tls.port is not a setting'),
    (dict(type='npm', hosts=['a.example.com'], tls=dict(redirect_from='127.0.0.1:80', acme=ACME)),
     'cutover_proxy.tls.acme is supported for cutover_proxy.type haproxy, nginx, caddy in this release, not npm'),
    (dict(type='caddy', hosts=['a.example.com'], tls=dict(redirect_from='127.0.0.1:80', acme=dict(ACME, renew_days=0))),
     'cutover_proxy.tls.acme.renew_days'),
    (dict(type='caddy', hosts=['a.example.com'], tls=dict(acme=ACME)), 'needs cutover_proxy.tls.redirect_from'),
    (dict(type='caddy', tls=dict(redirect_from='127.0.0.1:80', acme=ACME)), 'needs cutover_proxy.hosts'),
    (dict(type='caddy', hosts=['a.example.com'], tls=dict(redirect_from='127.0.0.1:80', acme=dict(ACME, email='me'))),
     'cutover_proxy.tls.acme.email'),
    (dict(type='caddy', hosts=['a.example.com'],
          tls=dict(redirect_from='127.0.0.1:80', acme=dict(ACME, directory='http://acme.example.com/dir'))),
     'cutover_proxy.tls.acme.directory'),
    (dict(type='caddy', hosts=['a.example.com'], tls=dict(redirect_from='127.0.0.1:80', certificate='/c.pem', acme=ACME)),
     'are exclusive'),
])
def test_front_door_inputs_are_refused_naming_the_field(proxy, message):
    errors = front_door_errors('cutover_proxy', dict(dict(listen=LISTEN), **proxy))
    assert any(message in e for e in errors), errors


def test_a_key_that_is_not_the_certificates_is_refused():
    cert = self_signed('a.example.com')[0]
    other_key = self_signed('b.example.com')[1]
    errors = front_door_errors('cutover_proxy', dict(listen=LISTEN, hosts=['a.example.com'],
                                                     tls=dict(certificate=cert, key=other_key)))
    assert errors == ['cutover_proxy.tls.key is not the key of cutover_proxy.tls.certificate (their public keys differ)']
    assert other_key.splitlines()[1] not in ' '.join(errors)


def two_tls_services_with_certificates(config):
    """The claims of two services on one TLS listener, their certificates written where the proxies read them."""
    (config / 'certs').mkdir(parents=True)
    claims = {'web': claim(['a.example.com'], '/v1.0', tls=True, redirect='127.0.0.1:8081'),
              'api': claim(['b.example.com'], tls=True)}
    for service, c in claims.items():
        cert, key = self_signed(c['hosts'][0])
        (config / 'certs' / ('%s.pem' % service)).write_text(cert + key)
    return claims


@pytest.mark.skipif(shutil.which('haproxy') is None, reason='haproxy is installed by scripts/setup.sh')
def test_the_real_haproxy_accepts_a_rendered_tls_listener_with_two_services(tmp_path):
    config = tmp_path / 'haproxy'
    claims = two_tls_services_with_certificates(config)
    for service, c in claims.items():
        (config / ('service-%s.cfg' % service)).write_text(render_haproxy_service(service, LISTEN, claim=c))
    (config / '00-global.cfg').write_text('defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n'
                                          '    timeout server 1s\n')
    with open(listener_file(str(config), LISTEN), 'w') as f:
        f.write(render_listener(LISTEN, claims, str(config)))
    with open(crt_list_path(str(config), LISTEN), 'w') as f:
        f.write(render_crt_list(claims, str(config)))
    done = subprocess.run(['haproxy', '-c', '-f', str(config)], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_nginx_serves_each_named_host_its_services_and_the_rest_a_404():
    claims = {'site': claim(['a.example.com']), 'api': claim(['a.example.com'], '/api'),
              'assets': claim(prefix='/assets'), 'other': claim(['b.example.com'], '/assets')}
    text = render_nginx_listener(LISTEN, claims, '/etc/cutover/nginx')
    blocks = text.split('server {')[1:]
    a = next(b for b in blocks if 'server_name a.example.com;' in b)
    assert 'proxy_pass http://cutover_api/;' in a and 'location = /api {' in a and 'location /api/ {' in a
    assert 'proxy_pass http://cutover_assets/;' in a and 'return 404' not in a  # site has "/"
    b = next(b for b in blocks if 'server_name b.example.com;' in b)
    assert 'cutover_other' in b and 'cutover_assets' not in b and 'return 404 "no service here\\n";' in b  # named wins
    default = next(b for b in blocks if 'default_server' in b)
    assert 'cutover_assets' in default and 'cutover_site' not in default and 'return 404' in default
    assert text.count('error_page 503 /.cutover-maintenance/') == text.count('proxy_pass')


@pytest.mark.skipif(shutil.which('nginx') is None, reason='nginx is installed by scripts/setup.sh')
def test_the_real_nginx_accepts_a_rendered_tls_listener_with_two_services(tmp_path):
    config = tmp_path / 'nginx'
    claims = two_tls_services_with_certificates(config)
    (config / 'listener.conf').write_text(render_nginx_listener(LISTEN, claims, str(config)))
    (config / 'nginx.conf').write_text(
        'pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n' % (tmp_path, tmp_path)
        + ''.join('    upstream cutover_%s { server 127.0.0.1:9; }\n' % s for s in claims)
        + '    include %s/listener.conf;\n}\n' % config)
    done = subprocess.run(['nginx', '-t', '-q', '-p', str(tmp_path), '-c', str(config / 'nginx.conf')],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_acme_setting_that_is_complete_passes():
    assert front_door_errors('cutover_proxy', dict(type='caddy', listen=LISTEN, hosts=['a.example.com'],
                                                   tls=dict(redirect_from='127.0.0.1:80', acme=ACME))) == []


def test_acme_challenges_go_to_lego_and_everything_else_to_https():
    listener = dict(web=claim(['a.example.com'], tls=True, redirect='127.0.0.1:8080'))
    listener['web']['acme'] = True
    port = acme_challenge_port(LISTEN)
    text = render_listener(LISTEN, listener, '/etc/cutover/haproxy')
    assert 'http-request redirect scheme https code 301 unless acme_challenge' in text
    assert 'server lego 127.0.0.1:%d' % port in text and 30000 <= port < 32000  # below the kernel's ephemeral range
    nginx = render_nginx_listener(LISTEN, listener, '/etc/cutover/nginx')
    assert 'location /.well-known/acme-challenge/ {\n        proxy_pass http://127.0.0.1:%d;' % port in nginx
    argv = lego_command(ACME, ['a.example.com', 'b.example.com'], '/etc/cutover/haproxy/acme/web', port, renew=True, renew_days=20)
    assert argv[-4:] == ['renew', '--days', '20', '--no-random-sleep']
    assert argv.count('--domains') == 2 and '--http.port' in argv and '127.0.0.1:%d' % port in argv
    assert lego_command(ACME, ['a.example.com'], '/x', port, renew=False)[-1] == 'run'


def test_the_renewal_timer_runs_daily_the_script_over_one_config_folder():
    name = renewal_unit_name('/etc/cutover/haproxy/')
    assert name.startswith('cutover-acme-renew-') and name != renewal_unit_name('/etc/cutover/nginx')
    service, timer = render_renewal_units('/usr/bin/python3', '/usr/local/lib/cutover/%s.py' % name, '/etc/cutover/haproxy')
    assert 'Type=oneshot' in service.splitlines()
    assert 'ExecStart=/usr/bin/python3 /usr/local/lib/cutover/%s.py /etc/cutover/haproxy' % name in service.splitlines()
    assert {'OnCalendar=daily', 'Persistent=true', 'WantedBy=timers.target'} <= set(timer.splitlines())
    job = json.loads(renewal_job('web', 'nginx', ['lego', 'renew'], {}, '/c.crt', '/c.key', '/p.pem', reload=['nginx', '-s', 'reload']))
    assert job['reload'] == ['nginx', '-s', 'reload'] and 'admin_socket' not in job
    job = json.loads(renewal_job('web', 'haproxy', ['lego'], {'LEGO_CA_CERTIFICATES': '/ca.pem'}, '/c.crt', '/c.key', '/p.pem',
                                 admin_socket='/run/a.sock'))
    assert job['admin_socket'] == '/run/a.sock' and job['env'] == {'LEGO_CA_CERTIFICATES': '/ca.pem'}
    compile(RENEW_SCRIPT, 'renew.py', 'exec')  # the standalone script the timer runs is Python that parses
