import pytest

from ansible_collections.cutover.deploy.plugins.module_utils._proxy import base
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.haproxy import (
    HAProxy, ProxyError, parse_servers_state, plan_upsert, slot_role,
)
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.nginx import parse_upstream, render_upstream
from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import (
    TCP_CHECK, address_in_use, bind_addresses, check_to_render, haproxy_check_lines, haproxy_members,
    render_haproxy_service, render_nginx_main, rotate_if_past_limit,
)


def test_swap_plan_order_is_pinned():
    assert base.swap_plan('127.0.0.1:1', '127.0.0.1:2') == ['upsert', 'read_back', 'drain']
    assert base.swap_plan(None, '127.0.0.1:2') == ['upsert', 'read_back']
    assert base.swap_plan('127.0.0.1:2', '127.0.0.1:2') == []


@pytest.mark.parametrize('bad', ['', 'host', 'host:', ':80', 'host:0', 'host:70000', 'host:http'])
def test_split_upstream_rejects(bad):
    with pytest.raises(ValueError):
        base.split_upstream(bad)


class FakeDriver(base.Driver):
    name = 'fake'

    def __init__(self, current, lie=False):
        self.current, self.lie, self.calls = current, lie, []

    def read(self, route):
        return self.current

    def upsert(self, route, upstream):
        self.calls.append(('upsert', upstream))
        if not self.lie or upstream != 'new:2':
            self.current = upstream

    def drain(self, route, old_upstream, timeout):
        self.calls.append(('drain', old_upstream))
        return True


def test_run_swap_restores_previous_on_bad_read_back():
    d = FakeDriver('old:1', lie=True)
    with pytest.raises(base.ProxyError):
        base.run_swap(d, 'web', 'new:2', 1)
    assert d.current == 'old:1' and d.calls == [('upsert', 'new:2'), ('upsert', 'old:1')]


def test_run_swap_check_mode_touches_nothing():
    d = FakeDriver('old:1')
    res = base.run_swap(d, 'web', 'new:2', 1, check_mode=True)
    assert res['changed'] and res['previous'] == 'old:1' and d.calls == []


HEADER = ('# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight '
          'srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state '
          'srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port '
          'srv_check_addr srv_agent_addr srv_agent_port')
STATE = '1\n' + HEADER + '''
3 web 1 a 127.0.0.1 2 4 1 1 0 1 0 0 8 0 0 0 - 18090 - 0 0 - - 0
3 web 2 b 127.0.0.1 0 5 1 1 2 1 0 0 8 0 0 0 - 1 - 0 0 - - 0
'''


def test_haproxy_parse_and_roles():
    slots = parse_servers_state(STATE)
    assert [(s['name'], slot_role(s)) for s in slots] == [('a', 'serving'), ('b', 'idle')]


def test_haproxy_upsert_uses_idle_slot_then_drains_live():
    cmds = plan_upsert(parse_servers_state(STATE), '127.0.0.1:20000')
    assert cmds == ['set server %s/b addr 127.0.0.1 port 20000', 'set server %s/b state ready',
                    'set server %s/a state drain']


def test_haproxy_upsert_to_live_is_a_no_op_and_full_slots_fail():
    assert plan_upsert(parse_servers_state(STATE), '127.0.0.1:18090') == []
    both = STATE.replace('0 5 1 1 2', '2 8 1 1 2')  # b draining
    with pytest.raises(ProxyError):
        plan_upsert(parse_servers_state(both), '127.0.0.1:20000')


def test_nginx_render_parse_round_trip():
    assert parse_upstream(render_upstream('my-app', '127.0.0.1:9000')) == '127.0.0.1:9000'
    assert 'upstream cutover_my_app' in render_upstream('my-app', '127.0.0.1:9000')


SHARED = '1\n' + HEADER + '''
3 web 1 h1_a 10.231.0.11 2 0 1 1 2 1 0 0 14 0 0 0 - 30001 - 0 0 - - 0
3 web 2 h1_b 127.0.0.1 0 5 1 1 2 1 0 0 8 0 0 0 - 1 - 0 0 - - 0
3 web 3 h2_a 10.231.0.12 2 0 1 1 2 1 0 0 14 0 0 0 - 30002 - 0 0 - - 0
3 web 4 h2_b 127.0.0.1 0 5 1 1 2 1 0 0 8 0 0 0 - 1 - 0 0 - - 0
'''


class ReadOnlyHAProxy(HAProxy):
    """The driver's slot logic over a fixed `show servers state` answer (no socket)."""

    def command(self, cmd):
        return SHARED


def test_a_member_reads_and_swaps_only_its_own_slots():
    h2 = ReadOnlyHAProxy(member='h2')
    assert [s['name'] for s in h2.slots('web')] == ['h2_a', 'h2_b']
    assert h2.read('web') == '10.231.0.12:30002'
    assert plan_upsert(h2.slots('web'), '10.231.0.12:30009') == [
        'set server %s/h2_b addr 10.231.0.12 port 30009', 'set server %s/h2_b state ready', 'set server %s/h2_a state drain']
    with pytest.raises(base.RouteNotFound):
        ReadOnlyHAProxy(member='h3').slots('web')
    with pytest.raises(base.RouteNotFound):  # no member: the backend's own slots a and b, absent here
        ReadOnlyHAProxy().slots('web')


def test_a_shared_backend_renders_two_slots_per_member_and_only_gains_members():
    text = render_haproxy_service('web', '10.231.0.10:80', {'h2', 'h1'})
    assert [ln.split()[1] for ln in text.splitlines() if ln.startswith('    server ')] == ['h1_a', 'h1_b', 'h2_a', 'h2_b']
    assert haproxy_members(text) == {'h1', 'h2'}
    single = render_haproxy_service('web', '127.0.0.1:80')
    assert [ln.split()[1] for ln in single.splitlines() if ln.startswith('    server ')] == ['a', 'b']
    assert haproxy_members(single) == set()


def test_a_proxy_log_is_rotated_only_past_its_limit_and_the_proxy_reopens(tmp_path):
    log, reopened = tmp_path / 'error.log', []
    assert rotate_if_past_limit(str(log), lambda: reopened.append(1), limit_bytes=10) is False  # no log yet
    log.write_bytes(b'0123456789')
    assert rotate_if_past_limit(str(log), lambda: reopened.append(1), limit_bytes=10) is False and not reopened
    (tmp_path / 'error.log.1').write_bytes(b'older')
    log.write_bytes(b'0123456789+')
    assert rotate_if_past_limit(str(log), lambda: reopened.append(1), limit_bytes=10) is True and reopened == [1]
    assert (tmp_path / 'error.log.1').read_bytes() == b'0123456789+' and not log.exists()  # one older file kept


def test_nginx_error_log_is_on_disk_not_in_run():
    text = render_nginx_main('/etc/cutover/nginx/upstreams', '/etc/cutover/nginx/sites', '/run/cutover/nginx',
                             '/etc/cutover/nginx/error.log')
    assert 'error_log /etc/cutover/nginx/error.log;' in text and 'pid /run/cutover/nginx/nginx.pid;' in text


def test_haproxy_checks_what_the_gate_checks_and_a_run_that_does_not_decide_keeps_it():
    from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import haproxy_check_in  # pylint: disable=import-outside-toplevel
    from ansible_collections.cutover.deploy.plugins.module_utils._settings import proxy_check  # pylint: disable=import-outside-toplevel
    assert proxy_check({}, {'path': '/health', 'status': [200, 204]}, 'health') == {
        'check': {'type': 'http', 'path': '/health', 'status': [200, 204]}}
    assert proxy_check({}, {'path': '/up', 'status': 204}, 'health')['check']['status'] == [204]
    assert proxy_check({'type': 'haproxy'}, {}, 'health') == {'check': {'type': 'tcp'}}
    assert proxy_check({'type': 'nginx'}, {'path': '/health'}, 'health') == {}
    assert proxy_check({}, {'path': '/health'}, 'keep') == {}  # status: the config keeps its check
    assert proxy_check({}, {'path': '/health'}, 'tcp') == {'check': {'type': 'tcp'}}  # rollback
    assert proxy_check({'check': {'type': 'tcp'}}, {'path': '/health'}, 'health') == {}  # the user's own wins
    assert proxy_check({}, {'path': '/health'}, 'health', shared=True) == {}  # one check for every member
    text = render_haproxy_service('web', '127.0.0.1:8080', check=dict(type='http', path="/ready?x='1'$", status=[200, 204]))
    assert "uri /ready?x=%271%27%24 ver HTTP/1.1" in text and 'http-check expect status 200,204\n' in text
    again = haproxy_check_in(text)
    assert render_haproxy_service('web', '127.0.0.1:8080', check=again) == text  # read back, rendered the same
    tcp = render_haproxy_service('web', '127.0.0.1:8080', check=dict(type='tcp'))
    assert 'httpchk' not in tcp and haproxy_check_in(tcp) == {'type': 'tcp'}
    assert render_haproxy_service('web', '127.0.0.1:8080') == tcp


HTTP_UP = dict(type='http', path='/up', status=[200])
HTTP_READY = dict(type='http', path='/ready', status=[200])


@pytest.mark.parametrize('current, asked, settle, expected', [
    (None, HTTP_UP, False, (HTTP_UP, False)),  # a new config: nothing serves yet
    (HTTP_UP, None, False, (HTTP_UP, False)),  # status: keeps what it has
    (HTTP_UP, HTTP_UP, False, (HTTP_UP, False)),  # the same check: nothing to hold
    (TCP_CHECK, HTTP_UP, False, (TCP_CHECK, True)),  # the serving release may not answer /up
    (HTTP_READY, HTTP_UP, False, (TCP_CHECK, True)),  # nor the new release /ready
    (HTTP_UP, TCP_CHECK, False, (TCP_CHECK, False)),  # a rollback's TCP connect is safe at once
    (TCP_CHECK, HTTP_UP, True, (HTTP_UP, False)),  # after the swap: the new release passed it
])
def test_a_changed_haproxy_check_is_held_at_tcp_until_the_swap(current, asked, settle, expected):
    text = None if current is None else render_haproxy_service('web', '127.0.0.1:8080', check=current)
    check, pending = check_to_render(text, asked, settle)
    assert (haproxy_check_lines(check), pending) == (haproxy_check_lines(expected[0]), expected[1])


def test_a_reload_keeps_idle_keep_alive_connections_where_haproxy_can():
    from ansible_collections.cutover.deploy.plugins.module_utils._proxy.site import (  # pylint: disable=import-outside-toplevel
        haproxy_version, render_haproxy_global)
    assert haproxy_version('HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/') == (2, 6)
    assert haproxy_version('localhost:5000/haproxy:2.8-alpine') == (2, 8)
    assert haproxy_version('cutover-haproxy:local') is None
    assert 'option idle-close-on-response\n' in render_haproxy_global('/run/a.sock', '/var/lib/s')
    assert 'idle-close' not in render_haproxy_global('/run/a.sock', '/var/lib/s', idle_close=False)  # 2.4 and older


def test_the_addresses_a_config_binds_are_read_once_each_with_their_options_left_off():
    service = render_haproxy_service('web', '127.0.0.1:8080')
    listener = 'frontend fr_x\n    bind [::1]:8443 ssl crt-list /etc/cutover/haproxy/x.crt-list\n'
    assert bind_addresses([service, listener, service, None]) == ['127.0.0.1:8080', '[::1]:8443']


def test_an_address_is_in_use_only_while_something_listens_on_it():
    import socket  # pylint: disable=import-outside-toplevel
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as HAProxy binds
        listener.bind(('127.0.0.1', 0))
        address = '127.0.0.1:%d' % listener.getsockname()[1]
        listener.listen()
        port = address.split(':')[1]
        assert address_in_use(address) and address_in_use('*:' + port) and address_in_use('0.0.0.0:' + port)
    assert not address_in_use(address) and not address_in_use('not an address')
