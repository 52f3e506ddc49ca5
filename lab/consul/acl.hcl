# Consul ACLs of `make cluster` and the Vagrant lab (with consul/agent.hcl), which
# lab/provision/node.sh adds to every node's config. `make cluster`: package lab
# bootstraps the ACLs as the server starts (lab/acl.go). The Vagrant lab: `dockercoins
# lab-acl tokens` writes the node's tokens beside it (tokens.hcl: the agent's, and on the server the
# initial management token, which bootstraps the ACLs); `dockercoins lab-acl consul` then
# writes the same policies and tokens. Anonymous requests (DNS among them) may only read
# the catalog, each agent gets a token to register its node, Nomad and each service their
# own. Agents keep tokens set through the API in their data folder, so a restarted agent
# still has its token.
acl {
  enabled                  = true
  default_policy           = "deny"
  down_policy              = "extend-cache"
  enable_token_persistence = true
}
