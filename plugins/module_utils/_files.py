# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way Cutover writes a file, and the one host-wide proxy lock.

write_atomic: a unique temp file in the same folder (mkstemp, so two writers never share a temp
name), fsync, rename over the target, fsync of the folder. A crash leaves the old file or the new
one, never half of one, and a reader never sees a partial write.

proxy_lock: an flock on one file per host, held around every change Cutover makes to a proxy
(ensure, swap, reload, state dump), so two services sharing a proxy never undo each other's edit.
flock dies with the process that holds it: a killed run never leaves it held.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time

DEFAULT_PROXY_LOCK = '/run/cutover/proxy.lock'


def read_text(path):
    """The file's text, or None when it does not exist."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def is_pem(value):
    """Whether a certificate or key option holds PEM text (else it names a file on the host). Pure."""
    return isinstance(value, str) and value.lstrip().startswith('-----BEGIN')


def pem_path(value, path, write):
    """The file a PEM-text-or-path option names: a path as given, or PEM text kept at `path`, written there when it
    differs unless `write` is false (check mode)."""
    if not is_pem(value):
        return value
    if write and read_text(path) != value:
        write_atomic(path, value)
    return path


def write_atomic(path, text, mode=0o644):
    """Replace path with text atomically and durably."""
    folder = os.path.dirname(path) or '.'
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(folder)


def fsync_dir(folder):
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class LockTimeout(Exception):
    """The lock stayed held by another process for longer than we were willing to wait."""


@contextlib.contextmanager
def flocked(path, timeout, what='lock'):
    """Hold an exclusive flock on path (created if missing) for the with-block."""
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout('%s %s is still held by another process after %ss' % (what, path, timeout))
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def proxy_lock(path=None, timeout=120):
    """The host-wide proxy lock (see the module docstring)."""
    return flocked(path or DEFAULT_PROXY_LOCK, timeout, 'the proxy lock')


def proxy_guard(check_mode):
    """A factory of the proxy lock for a module run; check mode changes nothing, so takes no lock."""
    return contextlib.nullcontext if check_mode else proxy_lock
