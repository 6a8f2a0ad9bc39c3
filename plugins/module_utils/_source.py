# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deploy's source (`cutover_source`): what is checked before anything is fetched or built, and the
names and settings a build from git is known by. Pure functions, except `escape_error`, which reads
the clone's file system.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re

SOURCE_TYPES = ('image', 'git', 'compose')
GIT_KEYS = ('type', 'repo', 'ref', 'context', 'dockerfile', 'build_args', 'username', 'password', 'ssh_key',
            'known_hosts')
COMPOSE_KEYS = ('type', 'files', 'service', 'env', 'project')
DEFAULTS = dict(ref='HEAD', context='.', dockerfile='Dockerfile', build_args={})
# compose env names that would configure the compose tool itself (its Python, the dynamic loader, its engine
# client, TLS and proxies, its search path) rather than feed the compose files' ${VAR}: the tool runs as the
# deploy user, often root, so these are refused
TOOL_ENV_NAMES = ('PATH', 'HOME', 'SHELL', 'ENV', 'BASH_ENV', 'IFS', 'TMPDIR', 'GCONV_PATH', 'LOCPATH', 'NLSPATH',
                  'HOSTALIASES', 'RES_OPTIONS', 'LOCALDOMAIN', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY')
TOOL_ENV_PREFIXES = ('LD_', 'PYTHON', 'DOCKER_', 'COMPOSE_', 'PODMAN_', 'CONTAINERS_', 'BUILDAH_', 'BUILDKIT_',
                     'SSL_', 'REQUESTS_', 'CURL_', 'XDG_', 'MALLOC_', 'GLIBC_')

# scheme://userinfo@ in a URL: masked in any text, and the secret part of a git repo URL
_USERINFO = re.compile(r'\b([a-z][a-z0-9+.-]*)://([^/@\s]+)@', re.IGNORECASE)


def _show(value):
    return json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else repr(value)


def relative_path_error(field, value):
    """Why a path that must stay inside the clone is refused (absolute, `..`, empty), or None. Pure."""
    if not isinstance(value, str) or not value.strip():
        return '%s %s is invalid: use a path inside the repository, such as "." or "app/Dockerfile"' % (field, _show(value))
    if value.startswith('/') or value.startswith('\\') or re.match(r'^[A-Za-z]:', value):
        return '%s %s is invalid: an absolute path; use a path relative to the repository' % (field, _show(value))
    if '..' in re.split(r'[\\/]+', value):
        return '%s %s is invalid: ".." would leave the repository; use a path inside it' % (field, _show(value))
    if '\0' in value or '\n' in value:
        return '%s %s is invalid: control characters' % (field, _show(value))
    return None


def source_errors(source, prefix='cutover_source'):
    """What is wrong with cutover_source (messages naming the field and the valid values). Pure."""
    if source in (None, {}):
        return []
    if not isinstance(source, dict):
        return ['%s must be a mapping such as {type: git, repo: ..., ref: v1.2}' % prefix]
    kind = source.get('type', 'image')
    if kind not in SOURCE_TYPES:
        return ['%s.type %s is invalid (valid: %s)' % (prefix, _show(kind), ', '.join(SOURCE_TYPES))]
    if kind == 'image':
        extra = sorted(set(source) - {'type'})
        return ['%s of type image takes no other keys (got %s); the image is cutover_image' % (prefix, extra)] if extra else []
    if kind == 'compose':
        return compose_errors(source, prefix)
    errors = []
    unknown = sorted(set(source) - set(GIT_KEYS))
    if unknown:
        errors.append('%s has unknown keys %s (valid: %s)' % (prefix, unknown, ', '.join(GIT_KEYS)))
    repo = source.get('repo')
    if not isinstance(repo, str) or not repo.strip() or repo.startswith('-') or '\n' in repo:
        errors.append('%s.repo %s is invalid: use a git URL (https://, ssh://, user@host:path) or a path on the host'
                      % (prefix, _show(mask_credentials(repo) if isinstance(repo, str) else repo)))
    elif url_secret(repo):
        errors.append('%s.repo %s has credentials in its URL: they would reach logs and the command line of git, '
                      'which any local user can read; use %s.username and %s.password (HTTPS) or %s.ssh_key'
                      % (prefix, _show(mask_credentials(repo)), prefix, prefix, prefix))
    ref = source.get('ref', DEFAULTS['ref'])
    if not isinstance(ref, str) or not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9._/@{}^~-]*', ref) or '..' in ref:
        errors.append('%s.ref %s is invalid: use a branch, a tag or a commit' % (prefix, _show(ref)))
    for key in ('context', 'dockerfile'):
        errors.append(relative_path_error('%s.%s' % (prefix, key), source.get(key, DEFAULTS[key])))
    args = source.get('build_args', {})
    if not isinstance(args, dict) or not all(isinstance(k, str) and re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', k)
                                             for k in args):
        errors.append('%s.build_args must map names (letters, digits, _) to values' % prefix)
    if source.get('password') is not None and not source.get('username'):
        errors.append('%s.password needs %s.username (HTTPS)' % (prefix, prefix))
    return [e for e in errors if e]


def compose_errors(source, prefix='cutover_source'):
    """What is wrong with a compose source. Pure."""
    errors = []
    unknown = sorted(set(source) - set(COMPOSE_KEYS))
    if unknown:
        errors.append('%s has unknown keys %s (valid: %s)' % (prefix, unknown, ', '.join(COMPOSE_KEYS)))
    files = source.get('files')
    if not isinstance(files, list) or not files or not all(isinstance(f, str) and f.startswith('/') for f in files):
        errors.append('%s.files %s is invalid: use a list of compose files on the host, by absolute path' % (prefix, _show(files)))
    name = source.get('service')
    if not isinstance(name, str) or not re.fullmatch(r'[a-zA-Z0-9][a-zA-Z0-9_.-]*', name):
        errors.append('%s.service %s is invalid: name the compose service the route goes to' % (prefix, _show(name)))
    project = source.get('project')
    if project is not None and (not isinstance(project, str) or not re.fullmatch(r'[a-z0-9][a-z0-9_-]*', project)):
        errors.append('%s.project %s is invalid: use lowercase letters, digits, - and _' % (prefix, _show(project)))
    env = source.get('env', {})
    if not isinstance(env, dict) or not all(isinstance(k, str) and re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', k) for k in env):
        errors.append('%s.env must map variable names to values (for the compose files\' ${VAR})' % prefix)
    else:
        refused = 'refused are %s and names starting with %s' % (', '.join(TOOL_ENV_NAMES), ', '.join(TOOL_ENV_PREFIXES))
        errors += ['%s.env.%s is refused: it would configure the compose tool itself, not the compose files; %s'
                   % (prefix, name, refused) for name in sorted(env) if tool_env_name(name)]
    return errors


def tool_env_name(name):
    """Whether a compose env name is one the tool, not the compose files, would act on (any case). Pure."""
    upper = name.upper()
    return upper in TOOL_ENV_NAMES or upper.startswith(TOOL_ENV_PREFIXES)


def with_defaults(source):
    """The git source with every optional key present. Pure."""
    merged = dict(DEFAULTS, **{k: v for k, v in (source or {}).items() if v is not None})
    merged['build_args'] = {str(k): str(v) for k, v in (merged.get('build_args') or {}).items()}
    return merged


def escape_error(field, root, relative, want_dir):
    """Why `relative` (already free of `..` and absolute parts) still leaves the clone at `root` (a symlink
    pointing out of it) or is missing, or None. Reads the file system."""
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, relative))
    if os.path.commonpath([real_root, target]) != real_root:
        return '%s %s resolves outside the repository (a symlink to %s); refused' % (field, _show(relative), target)
    if want_dir and not os.path.isdir(target):
        return '%s %s is not a folder in the repository at this commit' % (field, _show(relative))
    if not want_dir and not os.path.isfile(target):
        return '%s %s is not a file in the repository at this commit' % (field, _show(relative))
    return None


def settings_digest(source):
    """What else, beside the commit, decides the built image (context, dockerfile, build args). Pure."""
    doc = json.dumps(dict(context=source['context'], dockerfile=source['dockerfile'], build_args=source['build_args']),
                     sort_keys=True)
    return hashlib.sha256(doc.encode()).hexdigest()[:16]


def image_tag(service, commit):
    """`<service>:<commit>`, the commit shortened to 12 hex digits (still unique in any real repository). Pure."""
    return '%s:%s' % (service, commit[:12])


def mask_credentials(text):
    """The text with any user:password@ of a URL replaced by ***@. Pure."""
    return _USERINFO.sub(r'\1://***@', text or '')


def url_secret(repo):
    """The secret part of a URL's userinfo, or None: all of it for http(s) (a token alone is a credential), the
    password after ':' for any other scheme (ssh://git@host has a user name and no secret). Pure."""
    match = _USERINFO.match(repo.lstrip()) if isinstance(repo, str) else None
    if not match:
        return None
    scheme, userinfo = match.group(1).lower(), match.group(2)
    if scheme in ('http', 'https'):
        return userinfo
    password = userinfo.partition(':')[2]
    return password or None


def mask_url_secret(module, repo):
    """Register the secret of repo's URL (if any) with the module, so no result or invocation shows it."""
    secret = url_secret(repo)
    if secret:
        module.no_log_values.add(secret)


def https_auth_env(username, password):
    """Environment that makes git send HTTP basic credentials without putting them in a URL, a config
    file or the command line (GIT_CONFIG_COUNT, git >= 2.31). Pure."""
    token = base64.b64encode(('%s:%s' % (username, password)).encode()).decode()
    return {'GIT_CONFIG_COUNT': '1', 'GIT_CONFIG_KEY_0': 'http.extraHeader',
            'GIT_CONFIG_VALUE_0': 'Authorization: Basic %s' % token}
