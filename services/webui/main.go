// Command webui shows DockerCoins' mining speed live in a browser, read from Redis.
package main

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/dockercoins/dockercoins/internal/serve"
	"github.com/dockercoins/dockercoins/internal/settings"
	"github.com/dockercoins/dockercoins/mesh"
	"github.com/dockercoins/dockercoins/redis"
)

func main() { serve.Main("webui", defaultAddr, run) }

// defaultAddr is the workshop's port for webui.
const defaultAddr = ":8000"

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var common serve.Settings
	var peerSettings mesh.Settings
	var jaegerURL string
	s := settings.New("webui", stdout)
	common.Register(s, "webui", defaultAddr)
	common.Edge = true // called by people and agents, not by mesh peers
	peerSettings.Register(s, "redis")
	s.String(&jaegerURL, "jaeger", "JAEGER_QUERY_URL", "", "Jaeger query URL (e.g. http://localhost:16686) for the bottleneck panel; empty: no panel")
	if err := s.Parse(args, getenv); err != nil {
		return err
	}
	log, err := common.Logger(stdout)
	if err != nil {
		return err
	}
	id, err := common.Identity(ctx, log)
	if err != nil {
		return err
	}
	peers, err := peerSettings.Connect(ctx, log, id)
	if err != nil {
		return err
	}
	defer peers.Close()
	rdb := redis.NewClient(peers.Dialer("redis"))
	defer rdb.Close()
	var breakdowns Breakdowns
	if jaegerURL != "" {
		if u, err := url.Parse(jaegerURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("JAEGER_QUERY_URL=%q: want an http or https URL such as http://localhost:16686", jaegerURL)
		}
		breakdowns = newJaegerBreakdowns(jaegerURL)
	}
	return common.Serve(ctx, log, NewServer(log, &redis.Reader{Client: rdb}, breakdowns))
}
