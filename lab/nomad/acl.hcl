# Nomad ACLs of `make cluster` and the Vagrant lab (with nomad/agent.hcl), which
# lab/provision/node.sh adds to the server's and each client's config. `make cluster`:
# package lab bootstraps them once the server has a leader (lab/nomadacl.go) and keeps
# the management token in the cluster's state folder (nomad-management.token). The
# Vagrant lab: `dockercoins lab-acl nomad` bootstraps them with the lab's own
# management token. A request without a token may do nothing; the web UI gets a token
# that reads the dockercoins job and, with scaling on, scales it. The agents need no
# token (node secrets), nor do the tasks (workload identities read their variables).
acl {
  enabled = true
}
