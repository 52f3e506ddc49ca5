# Redis for DockerCoins, registered in Consul as `redis` (workers and the web UI find it
# as redis.service.consul). It keeps nothing on disk: the counters start from zero with
# each new allocation, as in the workshop.
#
#   nomad job run jobs/redis.nomad.hcl

variable "redis_server" {
  type        = string
  description = "Path of redis-server on the clients (Debian: apt-get install redis-server)."
  default     = "/usr/bin/redis-server"
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
        # Bound to the node's address only; the lab network is private, so no password
        # and no protected mode.
        args = [
          "--port", "${NOMAD_PORT_db}",
          "--bind", "${NOMAD_IP_db}",
          "--protected-mode", "no",
          "--save", "",
          "--appendonly", "no",
          "--dir", "${NOMAD_TASK_DIR}",
        ]
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "10s"

      resources {
        cpu    = 100
        memory = 128
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
