# The lab's single Nomad server (with nomad/agent.hcl).
server {
  enabled          = true
  bootstrap_expect = 1

  # A lost node is noticed in 10-15 s rather than the default 20-30 s: this is a small
  # lab where people stop nodes on purpose to watch Nomad reschedule.
  min_heartbeat_ttl = "5s"
  heartbeat_grace   = "5s"
}
