# A Consul client agent (with consul/agent.hcl): one per Nomad client, joined to the server.
server     = false
retry_join = ["@SERVER_IP@"]
