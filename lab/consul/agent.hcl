# Every Consul agent of the lab: the server, and the agent beside each Nomad client.
# lab/provision/node.sh renders this file for a node, filling in the @...@ values;
# `make cluster` and the Vagrant lab use the very same file.
datacenter = "dc1"
node_name  = "@NODE_NAME@"
data_dir   = "@DATA_DIR@/consul"
log_level  = "INFO"

# Gossip and RPC on the node's own address; HTTP (8500) and DNS (8600) where the node's
# Nomad agent and the app's services reach them (127.0.0.1, plus the node address for
# people and tests looking in from outside).
bind_addr   = "@NODE_IP@"
client_addr = "@CLIENT_ADDR@"

# Consul DNS answers only instances whose checks pass, so a worker never gets an rng
# that is starting or failing; an answer too big for UDP sets the truncated bit, so a
# resolver asks again over TCP instead of getting a silently trimmed list (200 workers
# came back as 25 over UDP without it). lab.DevDNSConfig is the dev agent's copy.
dns_config {
  only_passing    = true
  enable_truncate = true
}

leave_on_terminate = true
