# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place the modules run another program with subprocess instead of AnsibleModule.run_command.

Why not run_command, for these calls:
- it has no timeout. A hung `nginx -t`, `systemctl`, `journalctl`, `openssl` or ACME client would hold the play,
  and the service's deploy lock, past its lease; here each call is bounded and the program killed at the end;
- it merges the module's environment into the program's. The compose tool must see only the variables we give
  it (a host's exported ${TAG} would change what is deployed, unseen in the release);
- a proxy daemon (Caddy on a host without systemd) must outlive the module, which run_command waits for;
- the proxy drivers are also used where no AnsibleModule exists (the proxy role's helpers, the tests).
"""

from __future__ import annotations

import subprocess


def run_bounded(argv, timeout, env=None, cwd=None, stdin_text=None):
    """Run argv to completion within timeout seconds (None: no bound; the caller's lease covers it) and return
    the CompletedProcess, text mode, output captured. Raises OSError when argv cannot start and
    subprocess.TimeoutExpired when it ran past timeout (it is killed)."""
    return subprocess.run(  # pylint: disable=ansible-bad-function  # see the module's docstring
        list(argv), input=stdin_text, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
        check=False)


def start_detached(argv, env, log_path):
    """Start a daemon in its own session, its output to log_path (one start's worth), not waiting for it."""
    with open(log_path, 'w') as log:
        subprocess.Popen(  # pylint: disable=ansible-bad-function,consider-using-with  # see the module's docstring
            list(argv), env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
