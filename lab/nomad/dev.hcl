# The single-node Nomad dev agent of `make up` (nomad agent -dev -config lab/nomad/dev.hcl),
# server and client in one, beside a Consul dev agent. The task drivers' configuration
# (exec's chroot, raw_exec off unless needed, no task as root) is written per stack by
# lab/drivers.go into <state>/drivers.hcl, the second -config.
client {
  # Nomad destroys stopped allocations, logs and all, once the disk is 80% full (its
  # default): on a fuller laptop a stopped worker's last lines (its final count, what
  # `nomad alloc logs` shows after a stop) would be gone at once. The lab keeps them
  # until the disk is nearly full.
  gc_disk_usage_threshold = 95

  # Without a cloud around, the cloud fingerprinters fail the client at start
  # ("failed to setup IMDS client").
  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}

consul {
  address = "127.0.0.1:8500"
}
