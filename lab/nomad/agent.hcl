# Every Nomad agent of the lab, server or client. lab/provision/node.sh renders this
# file for a node, filling in the @...@ values; `make cluster` and the Vagrant lab use
# the very same file.
datacenter = "dc1"
name       = "@NODE_NAME@"
data_dir   = "@DATA_DIR@/nomad"
bind_addr  = "@NODE_IP@"
log_level  = "INFO"

# The Consul agent of the same node: Nomad registers the jobs' services there and
# Consul runs their health checks.
consul {
  address = "@CONSUL_ADDR@"
}
