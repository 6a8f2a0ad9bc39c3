from ansible_collections.cutover.deploy.plugins.module_utils._state import select_image_prune, select_reap


def c(name, created, running=True):
    return dict(name=name, id='%s%s' % (name, '0' * 20), created=created, running=running)


CONTAINERS = [c('web-1', '1'), c('web-2', '2', running=False), c('web-3', '3'), c('web-4', '4')]


def names(items):
    return sorted(i['name'] for i in items)


def test_removes_everything_but_keep():
    remove, stop, kept = select_reap(CONTAINERS, keep=['web-4'])
    assert names(remove) == ['web-1', 'web-2', 'web-3'] and stop == [] and names(kept) == ['web-4']


def test_live_is_never_removed_even_if_not_kept():
    remove, kept = select_reap(CONTAINERS, keep=['web-4'], live='web-1')[::2]
    assert 'web-1' not in names(remove) and 'web-1' in names(kept)


def test_keep_by_id_prefix():
    remove = select_reap(CONTAINERS, keep=['web-3' + '0' * 8])[0]
    assert 'web-3' not in names(remove)


def test_keep_stopped_parks_most_recent_old():
    remove, stop, kept = select_reap(CONTAINERS, keep=['web-4'], keep_stopped=2)
    assert names(remove) == ['web-1']
    assert names(stop) == ['web-3']  # web-2 is already stopped: parked without a stop
    assert names(kept) == ['web-2', 'web-3', 'web-4']


def test_nothing_to_do_is_empty():
    assert select_reap([c('web-4', '4')], keep=['web-4']) == ([], [], [c('web-4', '4')])


def test_keep_stopped_keeps_the_last_good_release_never_a_failed_green():
    # web-3 was a green whose gate failed (newer than web-2, the last good release before web-4)
    was_live = ['web-4', 'web-2', 'web-1']
    remove, stop, kept = select_reap(CONTAINERS, keep=['web-4'], keep_stopped=1, was_live=was_live)
    assert names(kept) == ['web-2', 'web-4']
    assert names(remove) == ['web-1', 'web-3']


def test_rollback_candidates_are_succeeded_releases_newest_first():
    from ansible_collections.cutover.deploy.plugins.module_utils._state import rollback_candidates
    state = dict(history=[dict(number=1, outcome='succeeded', container='web-1'),
                          dict(number=2, outcome='succeeded', container='web-2'),
                          dict(number=3, outcome='failed', container='web-3'),
                          dict(number=4, outcome='succeeded', container='web-4')])
    assert rollback_candidates(state) == ['web-4', 'web-2', 'web-1']


def test_built_images_are_pruned_beyond_the_kept_releases_and_never_in_use_or_new():
    now = 100000
    built = [dict(id='sha256:%s' % n, created=now - 7200) for n in ('a', 'b', 'c', 'd', 'e', 'f')]
    built.append(dict(id='sha256:g', created=now - 60))  # built a minute ago: another run may deploy it next
    history = [dict(image_id='sha256:a', outcome='succeeded'), dict(image_id='sha256:b', outcome='succeeded'),
               dict(image_id='sha256:c', outcome='failed'), dict(image_id='sha256:d', outcome='succeeded'),
               dict(image_id='sha256:e', outcome='succeeded')]
    live = dict(image_id='sha256:e')
    # in use: a kept stopped container of release a (Podman may give ids without the sha256: prefix)
    doomed = select_image_prune(built, ['a'], history, live, 1, now, 3600)
    assert [b['id'] for b in doomed] == ['sha256:b', 'sha256:c', 'sha256:f']  # d: the one earlier release kept
    assert [b['id'] for b in select_image_prune(built, [], history, live, 0, now, 3600)] == [
        'sha256:a', 'sha256:b', 'sha256:c', 'sha256:d', 'sha256:f']
    assert [b['id'] for b in select_image_prune(built, [], history, live, 10, now, 0)] == ['sha256:c', 'sha256:f', 'sha256:g']
    assert select_image_prune([], ['x'], history, live, 1, now, 3600) == []
