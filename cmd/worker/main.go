// Command worker is DockerCoins' worker service; see package worker.
package main

import (
	"github.com/dockercoins/dockercoins/internal/platform"
	"github.com/dockercoins/dockercoins/services/worker"
)

func main() { platform.Main("worker", worker.DefaultAddr, worker.Run) }
