#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: image_build
short_description: Build a service's image from a Dockerfile in a git repository, on the host
version_added: 1.0.0
description:
  - Fetches O(ref) (a branch, a tag, a commit, or C(HEAD)) of the git repository O(repo) into that
    repository's clone on the host (O(work_dir)/repo-<digest of O(repo)>, one per repository, shared by the
    services built from it), checks it out, and builds O(dockerfile) in O(context) with the
    host's engine (Docker or Podman, through the same API). The image is tagged C(<service>:<commit>), the
    commit shortened to 12 hex digits, and labelled with the full commit.
  - A commit id the server does not advertise is looked up after fetching all of O(repo)'s branches and tags
    (pruned, so a deleted tag is gone here too), and is built only when one of them reaches it, so no commit
    left over from an earlier fetch is ever built.
  - An image of that commit built with the same O(context), O(dockerfile) and O(build_args) is reused as
    it is. There is no rebuild and no change, so a deploy of an unchanged commit is "already live".
  - O(context) and O(dockerfile) must stay inside the clone. Absolute paths and C(..) are refused before
    anything is fetched, and a symlink that leads out of the clone is refused after the checkout, before
    anything is built. Each message names the field.
  - Private repositories over HTTPS take O(username) and O(password) (a token), sent as an HTTP header
    through git's environment, never in a URL, a file or a command line. Over SSH they take
    O(ssh_key), written to a private temporary file for the fetch only. Neither is ever logged.
    Credentials in O(repo) itself (C(https://user:token@...), C(ssh://user:password@...)) are refused,
    and never shown. A user name alone (C(ssh://git@host/...)) is fine.
  - Build arguments end up in the image's history, so keep secrets out of them.
  - After a build, clones no build has used for 30 days are removed (a later build clones again), and so is
    the service's clone of an older release (O(work_dir)/<service>). The images it built are pruned by
    M(cutover.deploy.reap) (its O(cutover.deploy.reap#module:keep_images) option).
author: Cutover contributors (@cutover)
extends_documentation_fragment:
  - cutover.deploy.engine
options:
  service:
    description: Service name; the image is C(<service>:<commit>).
    type: str
    required: true
  repo:
    description: The repository, a URL (C(https://), C(ssh://), C(git@host:path), C(file://)) or a path on the host.
    type: str
    required: true
  ref:
    description: Branch, tag or commit to build; C(HEAD) is the repository's default branch.
    type: str
    default: HEAD
  context:
    description: The build context, a folder relative to the repository's root.
    type: str
    default: .
  dockerfile:
    description: The Dockerfile, relative to O(context).
    type: str
    default: Dockerfile
  build_args:
    description: Build arguments (C(ARG) values). Not for secrets, because they stay in the image's history.
    type: dict
    default: {}
  username:
    description: User name for an HTTPS repository.
    type: str
  password:
    description: Password or token for an HTTPS repository. Never logged.
    type: str
  ssh_key:
    description: Private key (its text) for an SSH repository. Never logged.
    type: str
  known_hosts:
    description:
      - C(known_hosts) lines for the SSH server. Its host key is then checked strictly. Without them the
        first key seen is trusted and remembered in O(work_dir)/known_hosts.
    type: str
  work_dir:
    description: Folder of the repositories' clones on the host.
    type: path
    default: /var/lib/cutover/sources
attributes:
  check_mode:
    support: full
    description: Resolves the commit with C(git ls-remote) and reports whether it would build, fetching and building nothing.
  diff_mode:
    support: full
    description: Shows the image that would be built.
  idempotent:
    support: full
    description: An image of the same commit and settings is reused with C(changed=false).
'''

EXAMPLES = r'''
- name: Build web from its repository at tag v1.4.0
  cutover.deploy.image_build:
    service: web
    repo: https://git.example.com/acme/web.git
    ref: v1.4.0
    context: app
    username: deploy
    password: "{{ vault_git_token }}"
  register: build

- name: Deploy what was built
  ansible.builtin.debug:
    msg: "{{ build.image }} from commit {{ build.commit }}"
'''

RETURN = r'''
image:
  description: The image reference, C(<service>:<commit12>) (on Podman C(localhost/<service>:<commit12>)).
  returned: success
  type: str
image_id:
  description: The image id (null in check mode when it would be built).
  returned: success
  type: str
commit:
  description: The full commit id that was (or would be) built.
  returned: success
  type: str
built:
  description: Whether an image was built (false when one of this commit and settings was reused).
  returned: success
  type: bool
'''

import hashlib
import os
import shlex
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cutover.deploy.plugins.module_utils._engine import Engine, engine_argument_spec
from ansible_collections.cutover.deploy.plugins.module_utils._files import LockTimeout, flocked
from ansible_collections.cutover.deploy.plugins.module_utils._lock import process_alive, process_start
from ansible_collections.cutover.deploy.plugins.module_utils._module import require_valid_service
from ansible_collections.cutover.deploy.plugins.module_utils._naming import COMMIT_LABEL, SETTINGS_LABEL
from ansible_collections.cutover.deploy.plugins.module_utils._source import (
    escape_error, https_auth_env, image_tag, mask_credentials, mask_url_secret, settings_digest, source_errors, with_defaults,
)

FETCH_LOCK_TIMEOUT = 600
PRIVATE_PREFIX = '.cutover-git-'  # + <pid>.<start time> of the run that made it: a killed run's key is removed later


class Git:
    """git in the service's clone, with the credentials in its environment only."""

    def __init__(self, module, clone, env):
        self.module, self.clone, self.env = module, clone, env

    def run(self, *args, **kwargs):
        rc, out, err = self.module.run_command(['git'] + list(args), cwd=kwargs.get('cwd', self.clone),
                                               environ_update=self.env)
        if rc != 0 and not kwargs.get('may_fail'):
            self.module.fail_json(msg='git %s failed: %s' % (mask_credentials(' '.join(args[:2])),
                                                             mask_credentials((err or out).strip())[-2000:]))
        return rc, out.strip()


def git_env(p, private):
    """git's environment: never prompt; HTTPS credentials as a header; the SSH key in a private file."""
    env = {'GIT_TERMINAL_PROMPT': '0', 'LC_ALL': 'C'}
    if p['username'] and p['password']:
        env.update(https_auth_env(p['username'], p['password']))
    ssh = ['ssh', '-o', 'BatchMode=yes']
    if p['ssh_key']:
        key = os.path.join(private, 'key')
        with os.fdopen(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as f:
            f.write(p['ssh_key'].rstrip('\n') + '\n')
        ssh += ['-i', key, '-o', 'IdentitiesOnly=yes']
    if p['known_hosts']:
        known = os.path.join(private, 'known_hosts')
        with open(known, 'w') as f:
            f.write(p['known_hosts'].rstrip('\n') + '\n')
        ssh += ['-o', 'StrictHostKeyChecking=yes', '-o', 'UserKnownHostsFile=%s' % known]
    else:
        ssh += ['-o', 'StrictHostKeyChecking=accept-new', '-o', 'UserKnownHostsFile=%s' % os.path.join(p['work_dir'], 'known_hosts')]
    env['GIT_SSH_COMMAND'] = ' '.join(shlex.quote(a) for a in ssh)
    return env


def private_dir_prefix(pid):
    return '%s%d.%s-' % (PRIVATE_PREFIX, pid, process_start(pid))


def abandoned_private_dirs(names, alive):
    """The private folders (an SSH key, known_hosts) a killed run of this module left behind: those whose run
    (pid and start time, in the name) is gone. A name of an older release has the pid only (start None), one
    without a pid is abandoned. Pure given alive(pid, start)."""
    found = []
    for name in names:
        if not name.startswith(PRIVATE_PREFIX):
            continue
        pid, start = (name[len(PRIVATE_PREFIX):].split('-', 1)[0].split('.', 1) + [''])[:2]
        if not (pid.isdigit() and alive(int(pid), start if start.isdigit() else None)):
            found.append(name)
    return sorted(found)


def run_alive(pid, start):
    """process_alive, or for an older release's folder (no start time recorded) whether the pid exists."""
    return process_alive(pid, start) if start else os.path.exists('/proc/%d' % pid)


def remove_abandoned_private_dirs(work_dir):
    for name in abandoned_private_dirs(os.listdir(work_dir), run_alive):
        shutil.rmtree(os.path.join(work_dir, name), ignore_errors=True)


CLONE_MAX_AGE = 30 * 86400  # a clone no build has used for this long is removed (a later build clones again)


def unused_clones(entries, ours, service, now, max_age=CLONE_MAX_AGE):
    """The clones in work_dir to remove, from entries [(name, is_dir, mtime)]: repo-* clones no build has used
    for max_age seconds (a build touches its clone), and this service's clone of an older release
    (work_dir/<service>, one per service before clones were per repository). Never ours. Pure."""
    found = []
    for name, is_dir, mtime in entries:
        if not is_dir or name == ours:
            continue
        if (name.startswith('repo-') and now - mtime > max_age) or name == service:
            found.append(name)
    return sorted(found)


def remove_unused_clones(work_dir, clone, service):
    entries = []
    for name in os.listdir(work_dir):
        path = os.path.join(work_dir, name)
        entries.append((name, os.path.isdir(os.path.join(path, '.git')), os.path.getmtime(path)))
    for name in unused_clones(entries, os.path.basename(clone), service, time.time()):
        path = os.path.join(work_dir, name)
        try:
            with flocked(path + '.lock', 0, 'the clone %s' % name):  # a build that uses it now keeps it
                shutil.rmtree(path, ignore_errors=True)
        except LockTimeout:
            continue


def fetch_commit(git, repo, ref):
    """Fetch `ref` from `repo` into the clone and return its commit id."""
    if git.run('fetch', '--quiet', '--force', '--no-tags', repo, ref, may_fail=True)[0] != 0:
        # a commit id the server does not advertise: fetch every branch and tag, pruned, then take the commit
        # only if one of those refs reaches it (the clone may hold objects no ref of the repo has any more)
        git.run('fetch', '--quiet', '--force', '--prune', '--no-tags', repo, '+refs/heads/*:refs/cutover/heads/*',
                '+refs/tags/*:refs/cutover/tags/*')
        rc, commit = git.run('rev-parse', '--verify', '--quiet', '%s^{commit}' % ref, may_fail=True)
        if rc == 0:
            rc, reaching = git.run('for-each-ref', '--count=1', '--contains', commit, '--format=%(refname)',
                                   'refs/cutover/', may_fail=True)
        if rc != 0 or not reaching:
            git.module.fail_json(msg='ref %r is not a branch, tag or commit of %s' % (ref, mask_credentials(repo)))
        return commit
    return git.run('rev-parse', '--verify', 'FETCH_HEAD^{commit}')[1]


def remote_commit(git, repo, ref):
    """The commit `ref` names on the remote, without fetching (check mode); None if it cannot tell."""
    rc, out = git.run('ls-remote', repo, ref, 'refs/tags/%s^{}' % ref, cwd=git.module.params['work_dir'], may_fail=True)
    lines = [ln.split() for ln in out.splitlines() if ln.strip()]
    peeled = [ln[0] for ln in lines if ln[1].endswith('^{}')]
    if rc == 0 and (peeled or lines):
        return (peeled or [lines[0][0]])[0]
    return ref if len(ref) == 40 and all(c in '0123456789abcdef' for c in ref) else None


def find_image(engine, tag):
    """The image tagged `tag` (on Podman also localhost/<tag>), or None."""
    for ref in (tag, 'localhost/' + tag):
        try:
            return engine.client.images.get(ref)
        except engine.errors.NotFound:
            continue
        except Exception as exc:  # pylint: disable=broad-except
            engine.fail('reading image %s' % ref, exc)
    return None


def image_ref(image, tag):
    return next((t for t in image.tags if t == tag or t.endswith('/' + tag)), tag)


def build(module, engine, clone, src, tag, digest, commit):
    context = os.path.join(clone, src['context'])
    labels = {COMMIT_LABEL: commit, SETTINGS_LABEL: digest}
    lines = []
    try:
        for event in engine.client.api.build(path=context, dockerfile=src['dockerfile'], tag=tag, buildargs=src['build_args'],
                                             labels=labels, rm=True, forcerm=True, pull=False, decode=True):
            if 'stream' in event:
                lines += [ln for ln in event['stream'].splitlines() if ln.strip()]
            if 'error' in event:
                module.fail_json(msg='building %s from commit %s failed: %s' % (tag, commit, event['error'].strip()),
                                 build_log=lines[-30:])
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg='building %s from commit %s failed: %s' % (tag, commit, exc), build_log=lines[-30:])
    image = find_image(engine, tag)
    if image is None:
        module.fail_json(msg='the engine reported no error but has no image %s' % tag, build_log=lines[-30:])
    return image


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine_argument_spec(),
            service=dict(type='str', required=True),
            repo=dict(type='str', required=True),
            ref=dict(type='str', default='HEAD'),
            context=dict(type='str', default='.'),
            dockerfile=dict(type='str', default='Dockerfile'),
            build_args=dict(type='dict', default={}),
            username=dict(type='str'),
            password=dict(type='str', no_log=True),
            ssh_key=dict(type='str', no_log=True),
            known_hosts=dict(type='str'),
            work_dir=dict(type='path', default='/var/lib/cutover/sources'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    mask_url_secret(module, p['repo'])
    require_valid_service(module)
    src = with_defaults({k: p[k] for k in ('repo', 'ref', 'context', 'dockerfile', 'build_args', 'username', 'password')})
    errors = source_errors(dict(src, type='git'), 'source')
    if errors:
        module.fail_json(msg='; '.join(errors))
    digest = settings_digest(src)
    # one clone per repository: a service moved to another repository never finds the old one's objects
    clone = os.path.join(p['work_dir'], 'repo-' + hashlib.sha256(p['repo'].encode()).hexdigest()[:16])
    engine = Engine(module)
    os.makedirs(p['work_dir'], mode=0o700, exist_ok=True)
    remove_abandoned_private_dirs(p['work_dir'])
    private = tempfile.mkdtemp(prefix=private_dir_prefix(os.getpid()), dir=p['work_dir'])
    try:
        env = git_env(p, private)
        if module.check_mode:
            commit = remote_commit(Git(module, p['work_dir'], env), src['repo'], src['ref'])
            existing = find_image(engine, image_tag(p['service'], commit)) if commit else None
            reuse = existing is not None and existing.labels.get(SETTINGS_LABEL) == digest
            tag = image_tag(p['service'], commit) if commit else '%s:<commit of %s>' % (p['service'], src['ref'])
            module.exit_json(changed=not reuse, built=False, commit=commit, image=image_ref(existing, tag) if reuse else tag,
                             image_id=existing.id if reuse else None, diff=dict(before='', after='' if reuse else 'build %s\n' % tag))
        try:
            with flocked(clone + '.lock', FETCH_LOCK_TIMEOUT, 'the clone of %s' % mask_credentials(p['repo'])):
                if not os.path.isdir(os.path.join(clone, '.git')):
                    os.makedirs(clone, mode=0o700, exist_ok=True)
                    Git(module, clone, env).run('init', '--quiet')
                git = Git(module, clone, env)
                commit = fetch_commit(git, src['repo'], src['ref'])
                git.run('gc', '--auto', '--quiet', may_fail=True)  # packs and prunes when git judges it due
                os.utime(clone)  # its last use, for remove_unused_clones
                tag = image_tag(p['service'], commit)
                existing = find_image(engine, tag)
                if existing is not None and existing.labels.get(SETTINGS_LABEL) == digest:
                    module.exit_json(changed=False, built=False, commit=commit, image=image_ref(existing, tag), image_id=existing.id)
                git.run('checkout', '--quiet', '--force', '--detach', commit)
                git.run('clean', '--quiet', '-ffdx')
                for field, relative, want_dir in (('source.context', src['context'], True),
                                                  ('source.dockerfile', os.path.join(src['context'], src['dockerfile']), False)):
                    err = escape_error(field, clone, relative, want_dir)
                    if err:
                        module.fail_json(msg=err, commit=commit)
                image = build(module, engine, clone, src, tag, digest, commit)
        except LockTimeout as exc:
            module.fail_json(msg=str(exc))
        remove_unused_clones(p['work_dir'], clone, p['service'])
        module.exit_json(changed=True, built=True, commit=commit, image=image_ref(image, tag), image_id=image.id,
                         diff=dict(before='', after='build %s\n' % tag))
    finally:
        shutil.rmtree(private, ignore_errors=True)


if __name__ == '__main__':
    main()
