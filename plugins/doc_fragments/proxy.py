# -*- coding: utf-8 -*-
# Copyright (c) 2026 Cutover contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The proxy connection options (the `proxy` dict) shared by proxy_swap and the roles.
    DOCUMENTATION = r'''
options:
  proxy:
    description: Which proxy fronts the service and how to reach its control interface.
    type: dict
    default: {}
    suboptions:
      type:
        description: Proxy kind. C(none) means the service is not behind a proxy Cutover drives.
        type: str
        default: haproxy
        choices: [haproxy, caddy, nginx, npm, none]
      listen:
        description: Address the service's frontend listens on (M(cutover.deploy.proxy_site)).
        type: str
        default: 127.0.0.1:8080
      runtime:
        description:
          - How M(cutover.deploy.proxy_site) runs and supervises the proxy. C(systemd) makes the proxy a systemd unit
            of Cutover's own (C(cutover-haproxy.service), C(cutover-nginx.service) or C(cutover-caddy.service) for
            the default configuration paths), enabled, C(Restart=always) and ordered after the engines, so a crash,
            a kill or a reboot brings it back with no play; a reload is C(systemctl reload). C(container) runs
            HAProxy as a container on the same engine, with host networking and the C(unless-stopped) restart
            policy (an engine restart, and a reboot where the engine starts at boot, bring it back). C(host) runs the
            proxy binary as a host process that nothing supervises (it stays down after a crash or a reboot until the
            next play). C(auto) is C(systemd) on a host whose PID 1 is systemd; elsewhere it is C(container) for
            HAProxy when the engine is on this host (C(engine_host) a unix socket that exists), else C(host).
          - A host that runs the unsupervised HAProxy of an older release moves to the unit or the container on the
            next run, which takes the listening sockets over (no refused connection). An unsupervised nginx or Caddy cannot hand
            over; C(auto) leaves it running, and C(systemd) quits it and starts the unit (connections are refused
            in between).
        type: str
        default: auto
        choices: [auto, systemd, container, host]
      image:
        description: HAProxy image for O(proxy.runtime=container).
        type: str
        default: docker.io/library/haproxy:2.6
      container_name:
        description:
          - Name of the HAProxy container for O(proxy.runtime=container). Defaults to C(cutover-haproxy) for the default
            O(proxy.config_dir), else C(cutover-haproxy-<hash of the folder>), so two instances never share one.
        type: str
      caddy_dir:
        description: Folder for the Caddy host process's base config, autosave and log.
        type: path
        default: /etc/cutover/caddy
      admin_socket:
        description: HAProxy Runtime API socket (a C(stats socket ... level admin)).
        type: path
        default: /run/cutover/haproxy/admin.sock
      state_file:
        description: HAProxy C(server-state-file) to write after each change, so a reload or restart keeps the route.
        type: path
        default: /var/lib/cutover/haproxy/server-state
      config_dir:
        description: Folder of the HAProxy configuration files Cutover manages (C(haproxy -f DIR)).
        type: path
        default: /etc/cutover/haproxy
      admin_url:
        description:
          - Caddy admin API endpoint. C(unix//PATH) (Caddy's form, or C(unix:///PATH)) is a unix socket, or an
            C(http://host:port) URL.
          - The default is a unix socket in a folder only root can enter (the proxy role creates it C(0700)), because Caddy
            runs as root, and its admin API on a TCP port would let any local user load a config.
        type: str
        default: unix//run/cutover/caddy/admin.sock
      conf:
        description:
          - nginx main configuration file (checked with C(nginx -t -c)).
          - The default is the nginx instance Cutover's proxy role runs; point it at your own
            C(nginx.conf) to swap routes in an nginx you manage (it must include O(proxy.upstream_dir)).
        type: path
        default: /etc/cutover/nginx/nginx.conf
      upstream_dir:
        description: Folder of the per-route nginx upstream include files.
        type: path
        default: /etc/cutover/nginx/upstreams
      binary:
        description: nginx executable.
        type: path
        default: nginx
      pid_file:
        description: nginx master pid file.
        type: path
        default: /run/cutover/nginx/nginx.pid
      url:
        description: Nginx Proxy Manager base URL, for example C(http://127.0.0.1:81). Required for C(npm).
        type: str
      email:
        description: Nginx Proxy Manager user. Required for C(npm).
        type: str
      password:
        description: Nginx Proxy Manager password. Required for C(npm). Never logged.
        type: str
      verify_tls:
        description: Verify the TLS certificate of an C(https) Nginx Proxy Manager URL.
        type: bool
        default: true
      timeout:
        description: Seconds one proxy API call or command may take.
        type: float
        default: 10
      member:
        description:
          - HAProxy on a shared load balancer in front of several app hosts. The app host's name in the
            service's backend; its two server slots are C(<member>_a) and C(<member>_b), and only those are
            read and swapped. Unset, the backend has the two slots C(a) and C(b) of one host.
          - The roles set it to the inventory hostname when C(cutover_proxy.host) names a load-balancer host.
        type: str
      replicas:
        description:
          - HAProxy only. The containers a release of the service runs on the host (C(cutover_replicas)); the backend
            gets a pair of slots per replica (C(a), C(b), C(a2), C(b2), ...), so a new release's replicas can start
            beside the serving ones. The slots only grow; fewer replicas leave the extra pairs idle.
          - The roles set it from C(cutover_replicas) when above 1.
        type: int
        default: 1
        version_added: 1.0.0
      check:
        description:
          - HAProxy only. The health check HAProxy runs on each routed server, every second (C(fall 2 rise 1)).
            With O(proxy.check.type=http) it is an HTTP C(GET) of O(proxy.check.path) expecting one of
            O(proxy.check.status), as the health gate probes; with C(tcp) a TCP connect. A server failing it is
            taken out of the route (with all of them down, HAProxy answers 503) and put back when it passes again.
          - Unset, the service's config keeps the check it has (a TCP connect for a new one), so a status run
            without the deploy's settings changes nothing.
          - A check that differs from the one the config has is held at a TCP connect (HAProxy checks every server
            of the backend with it, and the release serving now may not answer it) unless
            O(cutover.deploy.proxy_site#module:settle_check) gives it; the roles give it after their swap.
          - The deploy roles set it from C(cutover_health), C(http) when that has a C(path), except on a shared load
            balancer; a rollback sets C(tcp).
        type: dict
        suboptions:
          type:
            description: The kind of check.
            type: str
            choices: [http, tcp]
            default: http
          path:
            description: URL path to GET (C(http)).
            type: str
          status:
            description: Status codes that pass.
            type: list
            elements: int
            default: [200]
      hosts:
        description:
          - HAProxy, nginx and Caddy. Host names this service answers for on O(proxy.listen), a listener it then
            shares with every other service that names the same address. The proxy routes by the C(Host) header, and
            on TLS presents each service's certificate by SNI. A request for a host no service claims gets a 404.
          - Two services claiming the same host and O(proxy.path_prefix) on one listener are refused before any change,
            naming both. Unset (and no O(proxy.path_prefix) or O(proxy.tls)), the service has a listener of its own.
          - A deploy of a service already on the listener never reloads HAProxy (nginx and Caddy reload for every swap,
            as they always do); adding or removing a service reloads the proxy once, gracefully (see docs/proxies.md).
        type: list
        elements: str
      path_prefix:
        description:
          - Route only requests whose path is this prefix or starts with it and C(/), for
            example C(/api); on one listener the longest prefix wins, and a service with O(proxy.hosts) wins over one
            without.
        type: str
      strip_prefix:
        description: Take O(proxy.path_prefix) off the path before the request reaches the app (C(/api/x) becomes C(/x)).
        type: bool
        default: true
      tls:
        description:
          - Makes the listener HTTPS with this service's certificate, offered by SNI for its O(proxy.hosts); every
            service on a TLS listener brings its own. A changed certificate is loaded through HAProxy's Runtime API, with
            no reload and no dropped connection; nginx reloads gracefully, Caddy loads it through its admin API.
        type: dict
        suboptions:
          certificate:
            description: The certificate (and its chain), as PEM text or the path of a PEM file on the host.
            type: str
          key:
            description: Its private key, as PEM text or the path of a PEM file on the host. Never logged.
            type: str
          redirect_from:
            description:
              - A plain HTTP listener (for example C(0.0.0.0:80)) that answers every request with a redirect to HTTPS.
              - With O(proxy.tls.acme) it also answers the ACME server's HTTP-01 challenges, so it must be the address
                the ACME server reaches the host names on (port 80 on a public server).
            type: str
          acme:
            description:
              - Certificates for O(proxy.hosts) from an ACME server instead of O(proxy.tls.certificate) and
                O(proxy.tls.key), validated by HTTP-01 through O(proxy.tls.redirect_from).
              - Caddy obtains and renews them itself, with no play running. For HAProxy and nginx the C(lego) ACME client
                on the host does it in every deploy and status (a stand-in self-signed certificate serves until the
                first one arrives), renewing when fewer than O(proxy.tls.acme.renew_days) days are left.
            type: dict
            suboptions:
              email:
                description: The ACME account's email.
                type: str
              directory:
                description: The ACME directory URL, for example C(https://acme-v02.api.letsencrypt.org/directory).
                type: str
              ca_cert:
                description: A root (PEM text or a path on the host) that the ACME server's own HTTPS chains to, for a private ACME server.
                type: str
              renew_days:
                description: HAProxy and nginx - renew when the certificate has fewer days left than this (Caddy decides itself).
                type: int
                default: 30
'''
