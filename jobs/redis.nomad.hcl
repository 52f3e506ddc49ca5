# Redis for DockerCoins, registered in Consul as `redis` (workers and the web UI find it
# as redis.service.consul). It runs with redis/redis.conf, the configuration of every
# stack (AOF with appendfsync always, no eviction), given as the redis_conf variable:
#
#   nomad job run -var "redis_conf=$(cat redis/redis.conf)" jobs/redis.nomad.hcl
#
# Its password (requirepass) and its proxy's Consul token come from the Nomad variable
# nomad/jobs/redis/redis (items password, consul_token), which `make up` and
# `make cluster` write before running the job; the job waits for it.
#
# With the mesh on, Redis listens on 127.0.0.1 only and only its Connect proxy is
# registered: from off the node it is reachable through the mesh or not at all.
#
# Its data (the AOF) lives in the allocation's alloc/data folder: a restarted task finds
# it there, and the ephemeral disk is sticky, so an allocation that replaces this one on
# the same node (a new job version, a restart of the allocation) takes it over.

variable "driver" {
  type        = string
  description = "Task driver: exec (an isolated chroot; the clients' chroot_env must hold the binaries) or raw_exec; either way the task runs as task_user."
  default     = "exec"

  validation {
    condition     = contains(["exec", "raw_exec"], var.driver)
    error_message = "The driver must be exec or raw_exec."
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
  description = "The unprivileged host user the tasks run as (never root: the lab's clients refuse uid 0)."
  default     = "nobody"
}

variable "redis_server" {
  type        = string
  description = "Path of redis-server on the clients (Debian: apt-get install redis-server)."
  default     = "/usr/bin/redis-server"
}

variable "redis_conf" {
  type        = string
  description = "The contents of redis.conf: redis/redis.conf, the one configuration of every stack. Changing it rolls the allocation, which keeps its data."
}

variable "mesh" {
  type        = bool
  description = "Consul Connect: put Consul's built-in proxy in front of Redis, so mesh services reach it with mTLS (as redis.connect.consul)."
  default     = false
}

variable "consul_bin" {
  type        = string
  description = "Path (or name on the client's PATH) of the consul binary that runs the proxy."
  default     = "consul"
}

variable "consul_http_addr" {
  type    = string
  default = "127.0.0.1:8500"
}

locals {
  # Who owns the rendered secrets (0600): exec makes them the task user's by itself;
  # under raw_exec Nomad writes them as root unless told, and the task could not read
  # them.
  secrets_uid = var.driver == "raw_exec" ? var.task_uid : null
}

job "redis" {
  type = "service"

  # One instance with nothing to roll carefully: healthy once its check passes for 2 s.
  update {
    health_check     = "checks"
    min_healthy_time = "2s"
  }

  group "redis" {
    count = 1

    network {
      port "db" {}
      port "mesh" {}
    }

    # The data folder survives a restart of the task in the allocation by itself; sticky
    # keeps it for the next allocation on the same node, and migrate moves it there (and
    # copies it from the old node when the new allocation lands elsewhere and the old
    # node still answers).
    ephemeral_disk {
      sticky  = true
      migrate = true
      # Room for the AOF, which grows to about twice the data between rewrites.
      size = 1024
    }

    restart {
      attempts = 5
      interval = "1m"
      delay    = "2s"
      mode     = "delay"
    }

    # With the mesh on, the port registered (and checked) is the proxy's: Redis's own
    # port is on loopback and in no catalog.
    service {
      name     = "redis"
      provider = "consul"
      port     = var.mesh ? "mesh" : "db"

      check {
        type     = "tcp"
        interval = "1s"
        timeout  = "1s"
      }
    }

    task "redis" {
      driver = var.driver
      user   = var.task_user

      config {
        command = var.driver == "exec" ? "${var.chroot_bin_dir}/redis-server" : var.redis_server
        # Bound to the node's address without the mesh, to loopback with it (the proxy
        # beside it is the way in). The password comes from secrets/auth.conf. The data
        # goes to the allocation's shared data folder, which the sticky ephemeral disk
        # carries over.
        args = [
          "${NOMAD_TASK_DIR}/redis.conf",
          "--include", "${NOMAD_SECRETS_DIR}/auth.conf",
          "--port", "${NOMAD_PORT_db}",
          "--bind", var.mesh ? "127.0.0.1" : "${NOMAD_IP_db}",
          "--dir", "${NOMAD_ALLOC_DIR}/data",
        ]
      }

      template {
        data        = "requirepass {{ with nomadVar \"nomad/jobs/redis/redis\" }}{{ .password }}{{ end }}\n"
        destination = "secrets/auth.conf"
        perms       = "600"
        uid         = local.secrets_uid
        change_mode = "restart"
      }

      # redis_conf is written as given: no template actions in it.
      template {
        data            = var.redis_conf
        destination     = "local/redis.conf"
        left_delimiter  = "{{{{"
        right_delimiter = "}}}}"
        change_mode     = "restart"
      }

      # On SIGTERM Redis fsyncs the AOF and exits.
      kill_signal  = "SIGTERM"
      kill_timeout = "10s"

      # maxmemory is 256 MB (redis.conf); the rest is room for the AOF rewrite's fork.
      resources {
        cpu    = 100
        memory = 384
      }
    }

    # Redis cannot speak Connect: the proxy takes mTLS connections on the mesh port,
    # checks intentions, and forwards to Redis. -register puts it in Consul as
    # redis-proxy, which Consul DNS answers for redis.connect.consul.
    dynamic "task" {
      for_each = var.mesh ? ["connect-proxy"] : []
      labels   = [task.value]

      content {
        driver = var.driver
        user   = var.task_user

        config {
          command = var.driver == "exec" ? "${var.chroot_bin_dir}/consul" : var.consul_bin
          args = [
            "connect", "proxy", "-service", "redis",
            "-service-addr", "127.0.0.1:${NOMAD_PORT_db}",
            "-listen", "${NOMAD_IP_mesh}:${NOMAD_PORT_mesh}",
            "-register",
            "-http-addr", var.consul_http_addr,
          ]
        }

        # The proxy's Consul token: service:write on redis and redis-proxy only.
        env {
          CONSUL_HTTP_TOKEN_FILE = "${NOMAD_SECRETS_DIR}/consul.token"
        }

        template {
          data        = "{{ with nomadVar \"nomad/jobs/redis/redis\" }}{{ .consul_token }}{{ end }}"
          destination = "secrets/consul.token"
          perms       = "600"
          uid         = local.secrets_uid
          change_mode = "restart"
        }

        kill_signal  = "SIGINT"
        kill_timeout = "5s"

        resources {
          cpu    = 50
          memory = 64
        }
      }
    }
  }
}
