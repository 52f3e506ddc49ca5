# The lab's single Consul server (with consul/agent.hcl). A one-server lab: no quorum
# to wait for, and the UI on the server's HTTP port.
server           = true
bootstrap_expect = 1

ui_config {
  enabled = true
}
