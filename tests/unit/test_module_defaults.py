"""The per-module module_defaults the roles give the engine options with (_cutover_engine_args) are checked
against meta/runtime.yml: every module a block runs on the engine, directly or through the roles and task files
it includes, gets them, and only engine modules are listed."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ENGINE_ARGS = '{{ _cutover_engine_args }}'
PREFIX = 'cutover.deploy.'


def engine_group():
    runtime = yaml.safe_load((REPO / 'meta' / 'runtime.yml').read_text())
    return set(runtime['action_groups']['engine'])


def task_file(role, name='main'):
    return REPO / 'roles' / role / 'tasks' / ('%s.yml' % name)


def engine_defaults(task):
    """The modules a task or block gives the engine options itself (alone, or combined with more)."""
    return {k[len(PREFIX):] for k, v in (task.get('module_defaults') or {}).items()
            if k.startswith(PREFIX) and '_cutover_engine_args' in str(v)}


def modules_run(tasks, seen=None):
    """Cutover modules the tasks run without the engine options given on the way, following blocks,
    include_role/import_role and include_tasks."""
    seen = set() if seen is None else seen
    found = set()
    for task in tasks or []:
        found |= modules_run_by(task, seen) - engine_defaults(task)
    return found


def modules_run_by(task, seen):
    """The Cutover modules one task runs, itself or through what it includes."""
    found = set()
    for key in ('block', 'rescue', 'always'):
        found |= modules_run(task.get(key), seen)
    for key, value in task.items():
        if key.startswith(PREFIX):
            found.add(key[len(PREFIX):])
    include = task.get('ansible.builtin.include_role') or task.get('ansible.builtin.import_role')
    if include:
        name = include['name']
        if '{{' in name:  # the deploy role's strategy dispatch: any strategy role
            targets = [task_file(r) for r in ('blue_green', 'recreate', 'compose', 'rolling')]
        else:
            targets = [task_file(name.replace(PREFIX, ''), include.get('tasks_from', 'main'))]
        for path in targets:
            if path not in seen:
                seen.add(path)
                found |= modules_run(yaml.safe_load(path.read_text()), seen)
    if 'ansible.builtin.include_tasks' in task:
        path = REPO / 'roles' / 'deploy' / 'tasks' / task['ansible.builtin.include_tasks']
        if path not in seen and path.exists():
            seen.add(path)
            found |= modules_run(yaml.safe_load(path.read_text()), seen)
    return found


def blocks_with_engine_defaults(tasks):
    for task in tasks or []:
        # a block that lists the engine options per module (a task giving one module more, such as the compose
        # role's, is not such a list, but counts as giving that module the options)
        listed = {k[len(PREFIX):] for k, v in (task.get('module_defaults') or {}).items()
                  if k.startswith(PREFIX) and v == ENGINE_ARGS}
        if listed:
            yield task, listed
        for key in ('block', 'rescue', 'always'):
            yield from blocks_with_engine_defaults(task.get(key))


def all_task_lists():
    for path in sorted((REPO / 'roles').glob('*/tasks/*.yml')):
        yield path, yaml.safe_load(path.read_text())
    for path in sorted((REPO / 'playbooks').glob('*.yml')):
        for play in yaml.safe_load(path.read_text()):
            yield path, play.get('tasks') or []


def test_every_engine_module_a_block_runs_gets_the_engine_options():
    group = engine_group()
    checked = 0
    for path, tasks in all_task_lists():
        for task, listed in blocks_with_engine_defaults(tasks):
            checked += 1
            assert listed <= group, (path, task.get('name'), sorted(listed - group))
            runs = modules_run([dict(task, module_defaults=None)]) & group
            assert runs <= listed, (path, task.get('name'), 'engine modules without the engine options: %s'
                                    % sorted(runs - listed))
    assert checked >= 5  # deploy, rollback, status, and the single tasks of the playbook and proxy role
