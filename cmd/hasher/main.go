// Command hasher is DockerCoins' hasher service; see package hasher.
package main

import (
	"github.com/dockercoins/dockercoins/internal/platform"
	"github.com/dockercoins/dockercoins/services/hasher"
)

func main() { platform.Main("hasher", hasher.DefaultAddr, hasher.Run) }
