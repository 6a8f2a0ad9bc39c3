import math

import pytest

from ansible_collections.cutover.deploy.plugins.module_utils import _validate as v
from ansible_collections.cutover.deploy.plugins.module_utils._naming import service_error


@pytest.mark.parametrize('value', ['127.0.0.1:8080', '[::1]:8080', 'lb.example.com:443', '0.0.0.0:80', 'app:8080'])
def test_addresses_accepted(value):
    assert v.address_error('listen', value) is None


@pytest.mark.parametrize('value', ['127.0.0.1:8080\n  bind 127.0.0.1:9999', '127.0.0.1:8080;', ' 127.0.0.1:80',
                                   '127.0.0.1:0', '127.0.0.1:99999', 'a b:80', '127.0.0.1', '[::1:80',
                                   'host_x:80', '127.0.0.1:80\n', 'x;}server{:80', '127.0.0.1:８０'])
def test_addresses_refused_naming_the_field(value):
    err = v.address_error('cutover_proxy.listen', value)
    assert err and err.startswith('cutover_proxy.listen') and 'host:port' in err


@pytest.mark.parametrize('value', ['web;disable frontend x', '/etc/ld.so', 'web\n', '..', 'a..b', '', 'a b', 'a{b}',
                                   '-web', 'web/x'])
def test_routes_refused(value):
    assert v.route_error('route', value)


@pytest.mark.parametrize('value', ['web', 'app.example.com', 'web_2-x'])
def test_routes_accepted(value):
    assert v.route_error('route', value) is None


def test_service_names_are_full_matches():
    assert service_error('web') is None
    assert service_error('web\n') and service_error('Web') and service_error('web;x')


@pytest.mark.parametrize('value', ['data:/data', '/srv/web:/srv:ro', 'data:/data:rw,z'])
def test_volumes_accepted(value):
    assert v.volume_error('volumes', value) is None


@pytest.mark.parametrize('value', ['data', 'data:/data:rx', 'data:/data\n', 'da ta:/data', 'data:rel', '/a:/b:ro:x'])
def test_volumes_refused(value):
    assert v.volume_error('volumes', value)


def test_env_names_and_secret_values_never_shown():
    assert v.env_error('env', {'GOOD_1': 'x'}) is None
    assert v.env_error('env', {'1BAD': 'x'})
    err = v.env_error('env', {'TOKEN': 'hunter2\0'}, secret=True)
    assert 'TOKEN' in err and 'hunter2' not in err


def test_regex_and_path():
    assert v.regex_error('cutover_health.body_regex', '(').startswith('cutover_health.body_regex')
    assert v.regex_error('x', 'ok|ready') is None
    assert v.http_path_error('path', '/health?x=1') is None
    assert v.http_path_error('path', '/health\r\nX: 1')


def test_check_inputs_lists_every_bad_field_and_accepts_good_input():
    good = dict(service='web', release='', proxy={'listen': '127.0.0.1:8080'}, volumes=['d:/d'], env={'A': '1'},
                public_env={}, labels={'team': 'x'}, health={'path': '/health'}, prefix='cutover_')
    assert v.check_inputs(good) == (True, 'inputs are valid')
    bad = dict(good, proxy={'listen': '1.2.3.4:80\nbind x', 'route': 'a;b'}, release='r;1')
    ok, msg = v.check_inputs(bad)
    assert not ok and 'cutover_proxy.listen' in msg and 'cutover_proxy.route' in msg and 'cutover_release' in msg


@pytest.mark.parametrize('value', [0, 1, '3', '25%', '100%', [1, '50%', 5]])
def test_serial_accepted(value):
    assert v.serial_error('cutover_serial', value) is None


@pytest.mark.parametrize('value', [-1, 1.5, '0%', '101%', 'all', '25 %', [], [0], [1, 'x'], None, True])
def test_serial_refused_naming_what_is_valid(value):
    err = v.serial_error('cutover_serial', value)
    assert err and err.startswith('cutover_serial') and ('percentage' in err or 'empty' in err)


def test_rollout_settings_each_named():
    errors = v.rollout_errors(dict(serial='x', max_fail_percentage=101, batch_pause=-1, failure_action='pause',
                                   id='bad id'))
    assert [e.split()[0] for e in errors] == ['cutover_serial', 'cutover_max_fail_percentage', 'cutover_batch_pause',
                                              'cutover_failure_action', 'cutover_rollout_id']
    assert '(valid: stop, rollback)' in errors[3]
    assert v.rollout_errors(dict(serial=1, max_fail_percentage='25', batch_pause='0.5', failure_action='rollback',
                                 id='')) == []


def test_shared_load_balancer_checks():
    good = dict(proxy=dict(host='lb1'), host='web1', publish_address='10.231.0.11', inventory_hosts=['lb1', 'web1'])
    assert v.shared_proxy_errors(good) == []
    assert v.shared_proxy_errors(dict(good, proxy=dict(host='lb2')))[0].startswith('cutover_proxy.host')
    assert 'proxy.type haproxy' in v.shared_proxy_errors(dict(good, proxy=dict(host='lb1', type='caddy')))[0]
    loop = v.shared_proxy_errors(dict(good, publish_address='127.0.0.1'))
    assert loop and loop[0].startswith('cutover_publish_address') and 'loopback' in loop[0]
    # the load balancer deploying to itself may publish on loopback
    assert v.shared_proxy_errors(dict(good, host='lb1', publish_address='127.0.0.1')) == []
    assert v.shared_proxy_errors(dict(good, host='web 1'))  # not fit for an HAProxy server name
    assert v.shared_proxy_errors(dict(good, proxy={})) == []


def test_pull_and_publish_address_checked_with_the_deploy_inputs():
    errors = v.deploy_input_errors(dict(service='web', pull='sometimes', publish_address='a b'))
    assert any(e.startswith('cutover_pull') and 'missing, always, never' in e for e in errors)
    assert any(e.startswith('cutover_publish_address') for e in errors)


def test_shared_settings_each_named_with_what_is_valid():
    errors = v.settings_errors(dict(health=dict(path='/h', retries=3), proxy=dict(type='traefik', runtime='vm'),
                                    engine=dict(type='containerd'),
                                    numbers=dict(stop_timeout=-1, liveness_window=0, history_limit=0, lock_wait='x',
                                                 drain_timeout='2.5')))
    assert errors[0] == "cutover_health has unknown keys ['retries'] (valid: path, status, body_regex, interval, timeout, successes)"
    assert 'cutover_proxy.type' in errors[1] and 'haproxy, caddy, nginx, npm, none' in errors[1]
    assert 'cutover_proxy.runtime' in errors[2] and 'auto, systemd, container, host' in errors[2]
    assert "cutover_engine.type 'containerd' is invalid (valid: docker, podman)" == errors[3]
    named = [e.split()[0] for e in errors[4:]]
    assert named == ['cutover_history_limit', 'cutover_liveness_window', 'cutover_lock_wait', 'cutover_stop_timeout']
    assert v.settings_errors(dict(engine=dict(type='podman'), numbers=dict(stop_timeout='0', gate_timeout=5))) == []


def test_git_source_paths_must_stay_in_the_repository():
    from ansible_collections.cutover.deploy.plugins.module_utils._source import (
        https_auth_env, mask_credentials, source_errors)
    ok = dict(type='git', repo='https://git.example.com/a/web.git', ref='v1.2', context='app', dockerfile='Dockerfile')
    assert source_errors(ok) == [] and source_errors({}) == [] and source_errors({'type': 'image'}) == []
    for bad, words in ((dict(context='../x'), ['cutover_source.context', '".."']),
                       (dict(dockerfile='/etc/passwd'), ['cutover_source.dockerfile', 'absolute']),
                       (dict(context='a/../../b'), ['".."']),
                       (dict(ref='--upload-pack=x'), ['cutover_source.ref']),
                       (dict(ref='a..b'), ['cutover_source.ref']),
                       (dict(repo=''), ['cutover_source.repo']),
                       (dict(repo='-oProxyCommand=x'), ['cutover_source.repo']),
                       (dict(type='svn'), ['cutover_source.type', 'image, git']),
                       (dict(branch='main'), ["unknown keys ['branch']"]),
                       (dict(password='x'), ['needs cutover_source.username'])):
        text = ' | '.join(source_errors(dict(ok, **bad)))
        for word in words:
            assert word in text, (bad, text)
    assert 'hunter2' not in ' '.join(source_errors(dict(ok, repo='https://u:hunter2@h/x\n')))
    assert mask_credentials('fatal: https://u:hunter2@git.example.com/x failed') == 'fatal: https://***@git.example.com/x failed'
    env = https_auth_env('deploy', 'tok')
    assert env['GIT_CONFIG_KEY_0'] == 'http.extraHeader' and env['GIT_CONFIG_VALUE_0'] == 'Authorization: Basic ZGVwbG95OnRvaw=='


def test_credentials_in_a_git_url_are_refused_and_never_shown():
    """A token or password in repo's URL would reach -vvv invocations, AWX job events and git's command line
    (/proc/*/cmdline): refused, with the fields to use instead; a user name alone over SSH is fine."""
    from ansible_collections.cutover.deploy.plugins.module_utils._source import (  # pylint: disable=import-outside-toplevel
        source_errors, url_secret)
    for repo, secret in (('https://u:hunter2@git.example.com/x.git', 'hunter2'),
                         ('HTTPS://ghp_token123@github.com/a/b.git', 'ghp_token123'),
                         ('http://u:p@h/x', 'u:p'),
                         ('ssh://git:hunter2@h/x.git', 'hunter2')):
        assert secret in url_secret(repo), repo  # http(s): all of the userinfo; else the password
        text = ' | '.join(source_errors(dict(type='git', repo=repo)))
        assert 'cutover_source.repo' in text and 'has credentials in its URL' in text, text
        assert 'cutover_source.username and cutover_source.password' in text and secret not in text, text
    for repo in ('ssh://git@h/x.git', 'git@github.com:a/b.git', 'https://git.example.com/x.git', '/srv/x.git',
                 'file:///srv/x.git'):
        assert url_secret(repo) is None and source_errors(dict(type='git', repo=repo)) == [], repo


def test_git_source_and_image_are_exclusive():
    errors = v.deploy_input_errors(dict(service='web', image='web:1', source=dict(type='git', repo='/srv/web.git')))
    assert any('cutover_image and cutover_source type git are exclusive' in e for e in errors), errors


HEALTH_TABLE = [
    ({'interval': 0}, 'cutover_health.interval 0 is invalid: use a number above 0'),
    ({'interval': -1}, 'cutover_health.interval'),
    ({'timeout': 'soon'}, 'cutover_health.timeout'),
    ({'successes': 0}, 'cutover_health.successes 0 is invalid: use a whole number of at least 1'),
    ({'successes': 1.5}, 'cutover_health.successes'),
    ({'status': 700}, 'cutover_health.status'),
    ({'status': []}, 'cutover_health.status'),
    ({'status': ['ok']}, 'cutover_health.status'),
]


def test_health_values_are_checked_before_green_starts():
    for health, message in HEALTH_TABLE:
        errors = v.settings_errors(dict(health=health))
        assert len(errors) == 1 and errors[0].startswith(message), (health, errors)
    assert v.settings_errors(dict(health=dict(path='/h', interval=0.2, timeout='30', successes=2, status=[200, 204]))) == []
    assert v.settings_errors(dict(health=dict(status=200))) == []


@pytest.mark.parametrize('settings, field', [
    (dict(health=dict(interval=float('inf'))), 'cutover_health.interval'),
    (dict(health=dict(timeout='nan')), 'cutover_health.timeout'),
    (dict(numbers=dict(gate_timeout=float('inf'))), 'cutover_gate_timeout'),
    (dict(numbers=dict(lock_wait='.inf')), 'cutover_lock_wait'),
    (dict(numbers=dict(drain_timeout=float('nan'))), 'cutover_drain_timeout'),
])
def test_nan_and_infinity_are_refused_in_settings(settings, field):
    """NaN passes every range test (each comparison is false) and infinity never ends a wait."""
    assert any(e.startswith(field + ' ') for e in v.settings_errors(settings)), v.settings_errors(settings)


@pytest.mark.parametrize('canary, field', [
    (dict(min_success_rate=float('nan')), 'cutover_canary.min_success_rate'),
    (dict(interval=float('inf')), 'cutover_canary.interval'),
    (dict(max_response_ms='nan'), 'cutover_canary.max_response_ms'),
    (dict(steps=[float('inf')]), 'cutover_canary.steps'),
    (dict(steps=[10, float('nan')]), 'cutover_canary.steps'),
])
def test_nan_and_infinity_are_refused_in_the_canary(canary, field):
    errors = v.canary_errors(canary)
    assert any(e.startswith(field + ' ') for e in errors), errors


def test_module_float_options_must_be_finite():
    """Modules run by hand skip the controller's checks, so each refuses NaN and infinity itself, naming the option
    (nested ones by their path)."""
    from ansible_collections.cutover.deploy.plugins.module_utils._module import non_finite_option  # pylint: disable=import-outside-toplevel
    spec = dict(timeout=dict(type='float'), name=dict(type='str'),
                canary=dict(type='dict', options=dict(interval=dict(type='float'), steps=dict(type='list'))))
    assert non_finite_option(spec, dict(timeout=1.5, name='inf', canary=dict(interval=3.0, steps=[10]))) is None
    assert non_finite_option(spec, dict(timeout=float('inf'), canary=None)) == ('timeout', float('inf'))
    name, value = non_finite_option(spec, dict(timeout=2.0, canary=dict(interval=float('nan'))))
    assert name == 'canary.interval' and math.isnan(value)


def test_a_killed_build_s_private_folder_is_found_and_a_running_one_kept():
    from ansible_collections.cutover.deploy.plugins.modules.image_build import abandoned_private_dirs  # pylint: disable=import-outside-toplevel
    names = ['.cutover-git-100.5000-abc', '.cutover-git-200.7000-def', '.cutover-git-300.9000-ghi', '.cutover-git-200-old',
             '.cutover-git-400-old', '.cutover-git-x1y2z3', 'repo-0123456789abcdef', 'known_hosts']
    # 200 runs with the recorded start time; 300 is a pid given to another process since (a new start time);
    # an older release's name has the pid only
    running = {200: '7000', 300: '9999'}

    def alive(pid, start):
        return pid in running if start is None else running.get(pid) == start
    assert abandoned_private_dirs(names, alive) == [
        '.cutover-git-100.5000-abc', '.cutover-git-300.9000-ghi', '.cutover-git-400-old', '.cutover-git-x1y2z3']


def test_clones_unused_for_a_month_and_a_service_s_old_clone_are_removed_never_ours():
    from ansible_collections.cutover.deploy.plugins.modules.image_build import CLONE_MAX_AGE, unused_clones  # pylint: disable=import-outside-toplevel
    now = 10 * CLONE_MAX_AGE
    entries = [('repo-aaaa', True, now - CLONE_MAX_AGE - 1), ('repo-bbbb', True, now - 60), ('repo-cccc', True, 0),
               ('web', True, now), ('api', True, 0), ('.cutover-git-1.2-x', False, 0), ('repo-aaaa.lock', False, 0)]
    assert unused_clones(entries, 'repo-cccc', 'web', now) == ['repo-aaaa', 'web']
