# Consul ACLs of `make cluster` (with consul/agent.hcl), added to each node's config by
# package lab, which bootstraps them as the server starts (lab/acl.go): anonymous
# requests (DNS among them) may only read the catalog, each agent gets a token to
# register its node, Nomad and each service their own. Agents keep tokens set through the
# API in their data folder, so a restarted agent still has its token.
acl {
  enabled                  = true
  default_policy           = "deny"
  down_policy              = "extend-cache"
  enable_token_persistence = true
}
