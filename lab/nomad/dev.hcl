# The single-node Nomad dev agent of `make up` (nomad agent -dev -config lab/nomad/dev.hcl),
# server and client in one, beside a Consul dev agent.
client {
  # Without a cloud around, the cloud fingerprinters fail the client at start
  # ("failed to setup IMDS client").
  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}

consul {
  address = "127.0.0.1:8500"
}
