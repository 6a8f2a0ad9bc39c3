# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The pull policy of every module that may pull an image.
    DOCUMENTATION = r'''
options:
  pull:
    description:
      - When to pull O(image). C(missing) pulls only when the engine does not have it; C(always) pulls
        every time, so a tag that moved on the registry (such as C(latest), or a re-pushed C(2.4)) is
        deployed as its new image; C(never) only checks that the engine has it.
      - With C(missing), a tag that moved on the registry is B(not) pulled again while the engine still
        has the old image under that tag; use C(always) for moving tags, or deploy by digest.
    type: str
    default: missing
    choices: [missing, always, never]
'''

    # The private-registry settings, also checked on the controller by validate_inputs.
    REGISTRY = r'''
options:
  registry:
    version_added: 1.0.0
    description:
      - Credentials and trust for a private registry, used for this pull only (the engine gets them
        with the pull request; nothing is written to a credential store on the host).
      - The engine (Docker, or Podman through the same API) connects to the registry, not Cutover.
    type: dict
    suboptions:
      username:
        description: Registry user.
        type: str
      password:
        description: Registry password or token. Never logged.
        type: str
      url:
        description:
          - The registry, as C(host[:port]) (a C(https://) prefix is accepted). Default, the image's own
            registry (the first part of O(image) when it has a dot or a colon, or is C(localhost);
            otherwise C(docker.io)). When set, it must be the image's registry.
        type: str
      ca_cert:
        description:
          - The registry's CA certificate (PEM text, not a path). Installed as C(ca.crt) under
            C(/etc/docker/certs.d/<registry>/) and C(/etc/containers/certs.d/<registry>/) on the host,
            where Docker and Podman read it at each pull. Needs the engine on that host (a C(unix://) socket).
        type: str
      tls_verify:
        description:
          - Whether the engine verifies the registry's certificate. C(false) does not switch
            verification off, since the Docker API cannot do that for one pull. It states that the engine
            is configured to skip it (Docker's C(insecure-registries), Podman's C(registries.conf)); when
            Docker reports it would verify, the module fails before pulling.
        type: bool
        default: true
'''
