# A Nomad client (with nomad/agent.hcl): runs DockerCoins' allocations with raw_exec.
client {
  enabled           = true
  servers           = ["@SERVER_IP@:4647"]
  network_interface = "@IFACE@"

  # Without a cloud around, the cloud fingerprinters fail the client at start
  # ("failed to setup IMDS client").
  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}

# The jobs run the project's binaries straight from a folder every node sees.
plugin "raw_exec" {
  config {
    enabled = true
  }
}
