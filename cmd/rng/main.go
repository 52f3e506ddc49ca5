// Command rng is DockerCoins' rng service; see package rng.
package main

import (
	"github.com/dockercoins/dockercoins/internal/platform"
	"github.com/dockercoins/dockercoins/services/rng"
)

func main() { platform.Main("rng", rng.DefaultAddr, rng.Run) }
