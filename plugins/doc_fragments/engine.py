# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Engine connection options shared by every module that talks to Docker or Podman.
    DOCUMENTATION = r'''
options:
  engine_host:
    description:
      - The Docker Engine API endpoint of the Docker or Podman host.
      - C(unix:///var/run/docker.sock) for Docker, C(unix:///run/podman/podman.sock) for Podman's
        Docker-compatible API socket, or C(tcp://host:2376) (use O(tls)).
      - If not set, the environment variable E(CUTOVER_ENGINE_HOST) is used, then the default.
    type: str
    default: unix:///var/run/docker.sock
  engine_timeout:
    description: Seconds to wait for one engine API call.
    type: int
    default: 60
  tls:
    description: Use TLS for a C(tcp://) engine_host.
    type: bool
    default: false
  tls_verify:
    description: Verify the engine's TLS certificate against O(tls_ca_cert).
    type: bool
    default: true
  tls_ca_cert:
    description: CA certificate file to verify the engine with.
    type: path
  tls_client_cert:
    description: Client certificate file for TLS client authentication.
    type: path
  tls_client_key:
    description: Client key file for TLS client authentication.
    type: path
requirements:
  - docker (Python SDK) >= 5.0
  - requests
'''
