// Package lab runs the stacks DockerCoins runs on: the single-node Consul and Nomad dev
// agents of `make up`, the multi-node cluster of `make cluster` (nodes in network
// namespaces on a bridge, provisioned with lab/provision/node.sh and the agent configs
// beside this file), and the app's jobs on either. cmd/dockercoins and the tests call
// the same functions, so what the tests check is what `make up` does.
package lab
