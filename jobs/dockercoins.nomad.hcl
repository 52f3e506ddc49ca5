# DockerCoins: rng, hasher, worker and webui, one group each.
#
#   nomad job run -var bin_dir=$PWD/bin jobs/dockercoins.nomad.hcl
#   nomad job scale dockercoins worker 10
#
# Run jobs/redis.nomad.hcl first: worker and webui find Redis through Consul.
#
# The driver variable picks how the tasks run; none runs as root. exec (the default)
# and raw_exec run the binaries as task_user (nobody): raw_exec from bin_dir, exec inside
# a chroot whose chroot_bin_dir the clients' chroot_env fills (make up writes it from
# bin_dir, see lab/drivers.go). docker runs the images dockercoins/<service>:<image_tag> as
# their own non-root user, on the host's network.
#
# How the binaries reach the nodes: bin_dir is a folder every client sees at the same
# path (the repository's bin/ on a single machine, a shared folder such as /vagrant/bin
# on a VM lab, an NFS mount in a classroom). Without a shared folder, fetch them per
# allocation with an artifact block instead, e.g. in each task:
#
#   artifact {
#     source      = "https://example.org/dockercoins/dockercoins-linux-amd64.tar.gz"
#     destination = "local/bin"
#   }
#   config { command = "local/bin/rng" }
#
# Secrets: each group's Nomad variable nomad/jobs/dockercoins/<group> holds its Consul
# token (consul_token) and, for worker and webui, the Redis password (redis_password);
# webui's also its Nomad token (nomad_token) where Nomad's ACLs are on. `make up` and
# `make cluster` write them before running the job, which waits for them.
#
# Every service listens on a dynamic port (ADDR), is registered in Consul by the
# service block below (the services do not register themselves under Nomad), and finds
# its peers by name through the Consul DNS of its own node (CONSUL_DNS_ADDR).

variable "bin_dir" {
  type        = string
  description = "Folder holding the rng, hasher, worker and webui binaries, at the same path on every client."
  default     = "/opt/dockercoins/bin"
}

variable "driver" {
  type        = string
  description = "Task driver: exec (an isolated chroot, as task_user), docker (the images dockercoins/<service>:<image_tag>, as their own non-root user) or raw_exec (no isolation, as task_user)."
  default     = "exec"

  validation {
    condition     = contains(["exec", "docker", "raw_exec"], var.driver)
    error_message = "The driver must be exec, docker or raw_exec."
  }
}

variable "chroot_bin_dir" {
  type        = string
  description = "Where the clients' exec chroot holds the binaries (their chroot_env; the lab puts every binary the jobs run there)."
  default     = "/opt/dockercoins/bin"
}

variable "task_uid" {
  type        = number
  description = "The numeric uid of task_user (nobody is 65534 on Debian): raw_exec tasks' secret files are made theirs, as exec does by itself."
  default     = 65534
}

variable "task_user" {
  type        = string
  description = "The unprivileged host user exec and raw_exec tasks run as (never root: the lab's clients refuse uid 0)."
  default     = "nobody"
}

variable "image_tag" {
  type        = string
  description = "Tag of the service images the docker driver runs (make up builds dockercoins/<service>:local)."
  default     = "local"
}

variable "rng_count" {
  type    = number
  default = 1
}

variable "hasher_count" {
  type    = number
  default = 1
}

variable "worker_count" {
  type    = number
  default = 1
}

variable "webui_count" {
  type    = number
  default = 1
}

variable "webui_port" {
  type        = number
  description = "Static port of the web UI, so it is at http://<node>:8000 as in the workshop."
  default     = 8000
}

variable "consul_dns_addr" {
  type        = string
  description = "Consul DNS the services use to find their peers: the agent on the task's own node."
  default     = "127.0.0.1:8600"
}

variable "otel_endpoint" {
  type        = string
  description = "OTLP/HTTP endpoint for traces (OTEL_EXPORTER_OTLP_ENDPOINT), e.g. http://127.0.0.1:4318; empty: tracing off."
  default     = ""
}

variable "mesh" {
  type        = bool
  description = "Consul Connect: the services speak mTLS natively and intentions decide who may call whom (apply consul/intentions first)."
  default     = false
}

variable "consul_http_addr" {
  type        = string
  description = "The node's Consul agent, which hands out the mesh certificates and answers intentions."
  default     = "127.0.0.1:8500"
}

variable "jaeger_query_url" {
  type        = string
  description = "Jaeger query URL the web UI reads its bottleneck panel from (JAEGER_QUERY_URL), e.g. http://127.0.0.1:16686; empty: no panel."
  default     = ""
}

variable "nomad_addr" {
  type        = string
  description = "Nomad HTTP API the web UI reads allocations from and scales through (NOMAD_ADDR), e.g. http://127.0.0.1:4646; empty: its page shows Consul's view only."
  default     = ""
}

variable "webui_scaling" {
  type        = bool
  description = "Offer +/- per group on the web UI's page, through Nomad's scale API (WEBUI_SCALING)."
  default     = false
}

variable "webui_nomad_token" {
  type        = string
  description = "Nomad ACL token of the web UI (NOMAD_TOKEN), when ACLs are on: it must read the job, and scale it with webui_scaling. Better in the variable nomad/jobs/dockercoins/webui (nomad_token), as make cluster puts it: a job variable is part of the job's specification, which any token that reads the job reads too."
  default     = ""
}

variable "jaeger_ui_url" {
  type        = string
  description = "A Jaeger UI the web UI links traces to (JAEGER_UI_URL); empty: no link."
  default     = ""
}

variable "rng_delay" {
  type        = string
  description = "Time each rng request holds the instance's entropy slot."
  default     = "100ms"
}

variable "hasher_delay" {
  type    = string
  default = "100ms"
}

variable "worker_pause" {
  type        = string
  description = "Pause at the start of every worker loop."
  default     = "100ms"
}

variable "worker_flush_every" {
  type        = string
  description = "How often a worker sends its count to Redis."
  default     = "1s"
}

variable "worker_drain_timeout" {
  type        = string
  description = "How long a stopping worker keeps trying to flush its count."
  default     = "10s"
}

variable "worker_journal_limit" {
  type        = number
  description = "Most loops a worker keeps unflushed in its journal (WORKER_JOURNAL_LIMIT); it pauses mining there."
  default     = 100000
}

variable "worker_kill_timeout" {
  type        = string
  description = "How long Nomad waits after SIGTERM before killing a worker: keep it above worker_drain_timeout (clients allow at most 30s unless max_kill_timeout says more)."
  default     = "20s"
}

variable "discovery_ttl" {
  type        = string
  description = "How long a service reuses a Consul DNS answer before refreshing it."
  default     = "2s"
}

variable "shutdown_delay" {
  type        = string
  description = "Time between deregistering an rng, hasher or webui instance from Consul and stopping it, so clients' cached DNS answers move on first."
  default     = "3s"
}

variable "min_healthy_time" {
  type        = string
  description = "How long a new instance must stay healthy before a rolling update moves on."
  default     = "10s"
}

variable "log_format" {
  type    = string
  default = "text"
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "release" {
  type        = string
  description = "Any label; changing it rolls every instance (e.g. after new binaries were copied to bin_dir)."
  default     = "1"
}

# Where the tasks find the binaries: inside exec's chroot, or on the node itself.
locals {
  bin_dir = var.driver == "exec" ? var.chroot_bin_dir : var.bin_dir
  # Who owns the rendered secrets (0600): exec makes them the task user's by itself;
  # under raw_exec and docker Nomad writes them as root unless told, and the task could
  # not read them. 65532 is the images' user (distroless nonroot).
  secrets_uid = var.driver == "docker" ? 65532 : (var.driver == "raw_exec" ? var.task_uid : null)
}

job "dockercoins" {
  type = "service"

  meta {
    release = var.release
  }

  # Rolling updates, one instance per group at a time; a new instance must pass its
  # Consul check for min_healthy_time before the next one is replaced, and a failed
  # update goes back to the last good version.
  update {
    max_parallel      = 1
    health_check      = "checks"
    min_healthy_time  = var.min_healthy_time
    healthy_deadline  = "1m"
    progress_deadline = "3m"
    auto_revert       = true
  }

  group "rng" {
    count = var.rng_count

    # One rng per node before two on any: rng is the bottleneck, and instances on the
    # same node would still be separate queues but share a failure.
    spread {
      attribute = "${node.unique.name}"
    }

    network {
      port "http" {}
    }

    restart {
      attempts = 5
      interval = "1m"
      delay    = "2s"
      mode     = "delay"
    }

    service {
      name     = "rng"
      provider = "consul"
      port     = "http"
      task     = "rng"

      # With the mesh on the service speaks Connect itself; its /healthz stays public over
      # TLS so the check needs no mesh certificate.
      dynamic "connect" {
        for_each = var.mesh ? [1] : []
        content {
          native = true
        }
      }

      check {
        type            = "http"
        protocol        = var.mesh ? "https" : "http"
        tls_skip_verify = true
        path            = "/healthz"
        interval        = "1s"
        timeout         = "1s"

        # Restart an instance whose check keeps failing after it started.
        check_restart {
          limit = 5
          grace = "10s"
        }
      }
    }

    task "rng" {
      driver = var.driver
      user   = var.driver == "docker" ? "" : var.task_user

      # Host networking under docker too: the task registers the node's address, as the
      # others do, and reaches the node's Consul agent on 127.0.0.1 (DNS and HTTP).
      config {
        command      = var.driver == "docker" ? null : "${local.bin_dir}/rng"
        image        = var.driver == "docker" ? "dockercoins/rng:${var.image_tag}" : null
        network_mode = var.driver == "docker" ? "host" : null
      }

      env {
        ADDR             = "${NOMAD_IP_http}:${NOMAD_PORT_http}"
        MESH             = var.mesh
        CONSUL_HTTP_ADDR = var.consul_http_addr
        RNG_DELAY        = var.rng_delay
        LOG_FORMAT       = var.log_format
        LOG_LEVEL        = var.log_level

        OTEL_EXPORTER_OTLP_ENDPOINT = var.otel_endpoint

        CONSUL_HTTP_TOKEN_FILE = "${NOMAD_SECRETS_DIR}/consul.token"
      }

      # The service's own Consul token (its leaf certificate, its intention checks) and,
      # for Redis's clients, the Redis password: from the group's Nomad variable, never
      # in this file.
      template {
        data        = "{{ with nomadVar \"nomad/jobs/dockercoins/rng\" }}{{ .consul_token }}{{ end }}"
        destination = "secrets/consul.token"
        perms       = "600"
        uid         = local.secrets_uid
        change_mode = "restart"
      }

      # SIGTERM: requests already waiting for a slot are still served (up to 5 s).
      kill_signal    = "SIGTERM"
      kill_timeout   = "10s"
      shutdown_delay = var.shutdown_delay

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }

  group "hasher" {
    count = var.hasher_count

    network {
      port "http" {}
    }

    restart {
      attempts = 5
      interval = "1m"
      delay    = "2s"
      mode     = "delay"
    }

    service {
      name     = "hasher"
      provider = "consul"
      port     = "http"
      task     = "hasher"

      # With the mesh on the service speaks Connect itself; its /healthz stays public over
      # TLS so the check needs no mesh certificate.
      dynamic "connect" {
        for_each = var.mesh ? [1] : []
        content {
          native = true
        }
      }

      check {
        type            = "http"
        protocol        = var.mesh ? "https" : "http"
        tls_skip_verify = true
        path            = "/healthz"
        interval        = "1s"
        timeout         = "1s"

        check_restart {
          limit = 5
          grace = "10s"
        }
      }
    }

    task "hasher" {
      driver = var.driver
      user   = var.driver == "docker" ? "" : var.task_user

      # Host networking under docker too: the task registers the node's address, as the
      # others do, and reaches the node's Consul agent on 127.0.0.1 (DNS and HTTP).
      config {
        command      = var.driver == "docker" ? null : "${local.bin_dir}/hasher"
        image        = var.driver == "docker" ? "dockercoins/hasher:${var.image_tag}" : null
        network_mode = var.driver == "docker" ? "host" : null
      }

      env {
        ADDR             = "${NOMAD_IP_http}:${NOMAD_PORT_http}"
        MESH             = var.mesh
        CONSUL_HTTP_ADDR = var.consul_http_addr
        HASHER_DELAY     = var.hasher_delay
        LOG_FORMAT       = var.log_format
        LOG_LEVEL        = var.log_level

        OTEL_EXPORTER_OTLP_ENDPOINT = var.otel_endpoint

        CONSUL_HTTP_TOKEN_FILE = "${NOMAD_SECRETS_DIR}/consul.token"
      }

      # The service's own Consul token (its leaf certificate, its intention checks) and,
      # for Redis's clients, the Redis password: from the group's Nomad variable, never
      # in this file.
      template {
        data        = "{{ with nomadVar \"nomad/jobs/dockercoins/hasher\" }}{{ .consul_token }}{{ end }}"
        destination = "secrets/consul.token"
        perms       = "600"
        uid         = local.secrets_uid
        change_mode = "restart"
      }

      kill_signal    = "SIGTERM"
      kill_timeout   = "10s"
      shutdown_delay = var.shutdown_delay

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }

  group "worker" {
    count = var.worker_count

    # `nomad job scale dockercoins worker 10` spreads the workers evenly over the nodes.
    spread {
      attribute = "${node.unique.name}"
    }

    network {
      port "http" {}
    }

    restart {
      attempts = 5
      interval = "1m"
      delay    = "2s"
      mode     = "delay"
    }

    # The worker journals its unflushed loops in alloc/data (WORKER_DATA_DIR below),
    # at most worker_journal_limit loops (about 2 MB). A task restarted in place (after
    # an OOM kill, a crash, a check_restart) finds the journal there and replays it;
    # sticky hands the folder to an allocation that replaces this one on the same node
    # (an update). No migrate: an allocation placed elsewhere starts afresh, as one
    # replacing a lost node must anyway; the one it replaces drained on SIGTERM.
    # Nomad's default size (300 MB): it must hold the task logs (10 x 10 MB) too.
    ephemeral_disk {
      sticky = true
    }

    # The worker's /healthz answers while it serves: the
    # check passes whether or not Redis is up, so an outage of Redis
    # never gets workers restarted and their unflushed count thrown away.
    service {
      name     = "worker"
      provider = "consul"
      port     = "http"

      # No mesh peer calls the worker: it serves plain HTTP even with the mesh on, and
      # uses the mesh only to call its own peers.
      check {
        type     = "http"
        path     = "/healthz"
        interval = "1s"
        timeout  = "1s"

        check_restart {
          limit = 5
          grace = "10s"
        }
      }
    }

    task "worker" {
      driver = var.driver
      user   = var.driver == "docker" ? "" : var.task_user

      # Host networking under docker too: the task registers the node's address, as the
      # others do, and reaches the node's Consul agent on 127.0.0.1 (DNS and HTTP).
      config {
        command      = var.driver == "docker" ? null : "${local.bin_dir}/worker"
        image        = var.driver == "docker" ? "dockercoins/worker:${var.image_tag}" : null
        network_mode = var.driver == "docker" ? "host" : null
      }

      env {
        ADDR                 = "${NOMAD_IP_http}:${NOMAD_PORT_http}"
        MESH                 = var.mesh
        CONSUL_HTTP_ADDR     = var.consul_http_addr
        WORKER_PAUSE         = var.worker_pause
        WORKER_FLUSH_EVERY   = var.worker_flush_every
        WORKER_DRAIN_TIMEOUT = var.worker_drain_timeout
        WORKER_DATA_DIR      = "${NOMAD_ALLOC_DIR}/data"
        WORKER_JOURNAL_LIMIT = var.worker_journal_limit
        CONSUL_DNS_ADDR      = var.consul_dns_addr
        DISCOVERY_TTL        = var.discovery_ttl
        LOG_FORMAT           = var.log_format
        LOG_LEVEL            = var.log_level

        OTEL_EXPORTER_OTLP_ENDPOINT = var.otel_endpoint

        CONSUL_HTTP_TOKEN_FILE = "${NOMAD_SECRETS_DIR}/consul.token"
      }

      # The service's own Consul token (its leaf certificate, its intention checks) and,
      # for Redis's clients, the Redis password: from the group's Nomad variable, never
      # in this file.
      template {
        data        = "{{ with nomadVar \"nomad/jobs/dockercoins/worker\" }}{{ .consul_token }}{{ end }}"
        destination = "secrets/consul.token"
        perms       = "600"
        uid         = local.secrets_uid
        change_mode = "restart"
      }

      template {
        data        = "{{ with nomadVar \"nomad/jobs/dockercoins/worker\" }}REDIS_PASSWORD={{ .redis_password }}{{ end }}\n"
        destination = "secrets/redis.env"
        perms       = "600"
        uid         = local.secrets_uid
        env         = true
        change_mode = "restart"
      }

      # On SIGTERM a worker abandons the loop in flight and flushes what it counted,
      # retrying for up to WORKER_DRAIN_TIMEOUT; kill_timeout gives it that and more
      # before Nomad sends SIGKILL (clients allow up to 30 s by default).
      kill_signal  = "SIGTERM"
      kill_timeout = var.worker_kill_timeout

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }

  group "webui" {
    count = var.webui_count

    network {
      port "http" {
        static = var.webui_port
      }
    }

    restart {
      attempts = 5
      interval = "1m"
      delay    = "2s"
      mode     = "delay"
    }

    service {
      name     = "webui"
      provider = "consul"
      port     = "http"

      # No mesh peer calls the webui: it serves plain HTTP even with the mesh on, and
      # uses the mesh only to call its own peers.
      check {
        type     = "http"
        path     = "/healthz"
        interval = "1s"
        timeout  = "1s"

        check_restart {
          limit = 5
          grace = "10s"
        }
      }
    }

    task "webui" {
      driver = var.driver
      user   = var.driver == "docker" ? "" : var.task_user

      # Host networking under docker too: the task registers the node's address, as the
      # others do, and reaches the node's Consul agent on 127.0.0.1 (DNS and HTTP).
      config {
        command      = var.driver == "docker" ? null : "${local.bin_dir}/webui"
        image        = var.driver == "docker" ? "dockercoins/webui:${var.image_tag}" : null
        network_mode = var.driver == "docker" ? "host" : null
      }

      env {
        JAEGER_QUERY_URL = var.jaeger_query_url
        JAEGER_UI_URL    = var.jaeger_ui_url
        NOMAD_ADDR       = var.nomad_addr
        NOMAD_TOKEN      = var.webui_nomad_token
        WEBUI_SCALING    = var.webui_scaling
        ADDR             = "${NOMAD_IP_http}:${NOMAD_PORT_http}"
        MESH             = var.mesh
        CONSUL_HTTP_ADDR = var.consul_http_addr
        CONSUL_DNS_ADDR  = var.consul_dns_addr
        DISCOVERY_TTL    = var.discovery_ttl
        LOG_FORMAT       = var.log_format
        LOG_LEVEL        = var.log_level

        OTEL_EXPORTER_OTLP_ENDPOINT = var.otel_endpoint

        CONSUL_HTTP_TOKEN_FILE = "${NOMAD_SECRETS_DIR}/consul.token"
      }

      # The service's own Consul token (its leaf certificate, its intention checks) and,
      # for Redis's clients, the Redis password: from the group's Nomad variable, never
      # in this file.
      template {
        data        = "{{ with nomadVar \"nomad/jobs/dockercoins/webui\" }}{{ .consul_token }}{{ end }}"
        destination = "secrets/consul.token"
        perms       = "600"
        uid         = local.secrets_uid
        change_mode = "restart"
      }

      template {
        data        = "{{ with nomadVar \"nomad/jobs/dockercoins/webui\" }}REDIS_PASSWORD={{ .redis_password }}{{ end }}\n"
        destination = "secrets/redis.env"
        perms       = "600"
        uid         = local.secrets_uid
        env         = true
        change_mode = "restart"
      }

      # Its Nomad token, where Nomad's ACLs are on: make cluster writes it into the
      # variable (nomad_token), so it is in no job file and not in the job's
      # specification, which any token that reads the job could read. A token in the
      # variable wins over webui_nomad_token.
      template {
        data        = "{{ with nomadVar \"nomad/jobs/dockercoins/webui\" }}{{ with .nomad_token.Value }}NOMAD_TOKEN={{ . }}{{ end }}{{ end }}\n"
        destination = "secrets/nomad.env"
        perms       = "600"
        uid         = local.secrets_uid
        env         = true
        change_mode = "restart"
      }

      kill_signal    = "SIGTERM"
      kill_timeout   = "10s"
      shutdown_delay = var.shutdown_delay

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
