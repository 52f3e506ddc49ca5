# Redis for DockerCoins, registered in Consul as `redis` (workers and the web UI find it
# as redis.service.consul). It runs with redis/redis.conf, the configuration of every
# stack (AOF with appendfsync always, no eviction), given as the redis_conf variable:
#
#   nomad job run -var "redis_conf=$(cat redis/redis.conf)" jobs/redis.nomad.hcl
#
# Its data (the AOF) lives in the allocation's alloc/data folder: a restarted task finds
# it there, and the ephemeral disk is sticky, so an allocation that replaces this one on
# the same node (a new job version, a restart of the allocation) takes it over.

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

    service {
      name     = "redis"
      provider = "consul"
      port     = "db"

      check {
        type     = "tcp"
        interval = "1s"
        timeout  = "1s"
      }
    }

    task "redis" {
      driver = "raw_exec"

      config {
        command = var.redis_server
        # Bound to the node's address only (redis.conf turns protected mode off: the lab
        # network is private). The data goes to the allocation's shared data folder,
        # which the sticky ephemeral disk carries over.
        args = [
          "${NOMAD_TASK_DIR}/redis.conf",
          "--port", "${NOMAD_PORT_db}",
          "--bind", "${NOMAD_IP_db}",
          "--dir", "${NOMAD_ALLOC_DIR}/data",
        ]
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
        driver = "raw_exec"

        config {
          command = var.consul_bin
          args = [
            "connect", "proxy", "-service", "redis",
            "-service-addr", "${NOMAD_ADDR_db}",
            "-listen", "${NOMAD_IP_mesh}:${NOMAD_PORT_mesh}",
            "-register",
            "-http-addr", var.consul_http_addr,
          ]
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
