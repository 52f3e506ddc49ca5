# Jaeger v2 for DockerCoins' traces: OTLP/HTTP in (4318), the query UI and API out
# (16686), traces kept in memory. Registered in Consul as `jaeger` (OTLP/HTTP) and
# `jaeger-query`.
#
#   nomad job run -var jaeger_bin=$HOME/.cache/dockercoins/bin/jaeger jobs/jaeger.nomad.hcl
#
# Point the app at it with -var otel_endpoint=http://<node>:4318 on jobs/dockercoins.nomad.hcl.

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

variable "task_user" {
  type        = string
  description = "The unprivileged host user the tasks run as (never root: the lab's clients refuse uid 0)."
  default     = "nobody"
}

variable "jaeger_bin" {
  type        = string
  description = "Path of the Jaeger v2 binary on the clients (`make tools` builds it into ~/.cache/dockercoins/bin)."
  default     = "/opt/dockercoins/bin/jaeger"
}

variable "otlp_http_port" {
  type    = number
  default = 4318
}

variable "query_port" {
  type    = number
  default = 16686
}

# A trace of a worker loop takes Jaeger about 5 KB of memory (6 spans with the pause),
# so max_traces and memory_mb go together: 20,000 traces are about 120 MB of heap, half
# an hour of a 10-hash/s workshop. Jaeger keeps no bound of its own on memory: with more
# traces than its memory holds, the task is OOM-killed and restarts empty (100,000
# traces in 256 MB did, after 83,500). The memory is also what spares Jaeger's CPU: the
# more room the heap has above the traces it keeps, the less often it is collected.
variable "max_traces" {
  type        = number
  description = "Traces kept in memory; the oldest go first. About 5 KB each: keep it under memory_mb x 75."
  default     = 20000
}

variable "memory_mb" {
  type        = number
  description = "Memory of the Jaeger task, in MB; Go's soft limit (GOMEMLIMIT) is three quarters of it."
  default     = 512
}

job "jaeger" {
  type = "service"

  # One instance with nothing to roll carefully: healthy once its check passes for 2 s.
  update {
    health_check     = "checks"
    min_healthy_time = "2s"
  }

  group "jaeger" {
    count = 1

    network {
      port "otlp" {
        static = var.otlp_http_port
      }
      port "query" {
        static = var.query_port
      }
      port "health" {}
    }

    restart {
      attempts = 5
      interval = "1m"
      delay    = "2s"
      mode     = "delay"
    }

    service {
      name     = "jaeger"
      provider = "consul"
      port     = "otlp"
      tags     = ["otlp-http"]

      check {
        type     = "tcp"
        interval = "2s"
        timeout  = "1s"
      }
    }

    service {
      name     = "jaeger-query"
      provider = "consul"
      port     = "query"

      check {
        type     = "http"
        port     = "health"
        path     = "/status"
        interval = "2s"
        timeout  = "1s"
      }
    }

    task "jaeger" {
      driver = var.driver
      user   = var.task_user

      config {
        command = var.driver == "exec" ? "${var.chroot_bin_dir}/jaeger" : var.jaeger_bin
        args    = ["--config", "${NOMAD_TASK_DIR}/jaeger.yaml"]
      }

      # Jaeger v2 is an OpenTelemetry Collector: OTLP/HTTP receiver, memory storage, and
      # the query extension serving the API and UI. No batch processor: the services'
      # exporters batch already (lab/jaeger/config.yaml says what it cost).
      template {
        destination = "local/jaeger.yaml"
        change_mode = "restart"
        data        = <<-YAML
          service:
            extensions: [jaeger_storage, jaeger_query, healthcheckv2]
            pipelines:
              traces:
                receivers: [otlp]
                exporters: [jaeger_storage_exporter]
            telemetry:
              metrics:
                level: none
          extensions:
            healthcheckv2:
              use_v2: true
              http:
                endpoint: {{ env "NOMAD_ADDR_health" }}
            jaeger_storage:
              backends:
                memstore:
                  memory:
                    max_traces: ${var.max_traces}
            jaeger_query:
              # Jaeger's own traces of its queries would go to a collector on 4317.
              enable_tracing: false
              storage:
                traces: memstore
              http:
                endpoint: {{ env "NOMAD_ADDR_query" }}
              grpc:
                endpoint: {{ env "NOMAD_IP_query" }}:0
          receivers:
            otlp:
              protocols:
                http:
                  endpoint: {{ env "NOMAD_ADDR_otlp" }}
          exporters:
            jaeger_storage_exporter:
              trace_storage: memstore
        YAML
      }

      # The soft limit keeps the heap's growth under the task's memory whatever GOGC
      # allows; under it, GOGC=400 lets the heap grow to 5 times what the traces hold
      # before collecting: a third less of Jaeger's CPU at full load, which the app's
      # services on the same cores get back (BenchmarkTracing).
      env {
        GOMEMLIMIT = "${floor(var.memory_mb * 3 / 4)}MiB"
        GOGC       = "400"
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "10s"

      resources {
        cpu    = 100
        memory = var.memory_mb
      }
    }
  }
}
