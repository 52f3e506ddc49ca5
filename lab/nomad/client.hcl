# A Nomad client (with nomad/agent.hcl): runs DockerCoins' allocations, never as root.
client {
  enabled           = true
  servers           = ["@SERVER_IP@:4647"]
  network_interface = "@IFACE@"

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

# No task runs as root, whatever its job asks. `make cluster` adds nomad.d/drivers.hcl
# (lab/drivers.go): exec's chroot with the binaries the jobs run, and raw_exec off.
# Without it, raw_exec runs the binaries straight from a folder every node sees
# (-var driver=raw_exec), as the jobs' task_user.
plugin "exec" {
  config {
    denied_host_uids = "0"
  }
}

plugin "raw_exec" {
  config {
    enabled          = true
    denied_host_uids = "0"
  }
}
