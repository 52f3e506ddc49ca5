// Command webui is DockerCoins' webui service; see package webui.
package main

import (
	"github.com/dockercoins/dockercoins/internal/platform"
	"github.com/dockercoins/dockercoins/services/webui"
)

func main() { platform.Main("webui", webui.DefaultAddr, webui.Run) }
