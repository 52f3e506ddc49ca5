// Package webui shows DockerCoins' mining speed live in a browser, read from Redis.
package webui

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/internal/platform"
	"github.com/dockercoins/dockercoins/internal/settings"
	"github.com/dockercoins/dockercoins/peer"
	"github.com/dockercoins/dockercoins/redis"
)

// DefaultAddr is the workshop's port for webui.
const DefaultAddr = ":8000"

// Run is the web UI program: its settings from args and getenv, its logs to stdout,
// until ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var common platform.Settings
	var peerSettings peer.Settings
	var jaegerURL string
	s := settings.New(dockercoins.WebUI, stdout)
	common.Register(s, dockercoins.WebUI, DefaultAddr)
	common.Edge = true // called by people and agents, not by mesh peers
	peerSettings.Register(s, dockercoins.Redis)
	s.String(&jaegerURL, "jaeger", "JAEGER_QUERY_URL", "", "Jaeger query URL (e.g. http://localhost:16686) for the bottleneck panel; empty: no panel")
	if err := s.Parse(args, getenv); err != nil {
		return err
	}
	if jaegerURL != "" {
		if u, err := url.Parse(jaegerURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("JAEGER_QUERY_URL=%q: want an http or https URL such as http://localhost:16686", jaegerURL)
		}
	}
	p, err := platform.Start(ctx, common, stdout)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	peers, err := p.Peers(ctx, peerSettings)
	if err != nil {
		return err
	}
	defer peers.Close()
	rdb := redis.NewClient(peers.Dialer(dockercoins.Redis))
	defer rdb.Close()
	var breakdowns Breakdowns
	if jaegerURL != "" {
		breakdowns = newJaegerBreakdowns(jaegerURL)
	}
	return p.Serve(ctx, NewServer(p.Log, &redis.Reader{Client: rdb}, breakdowns))
}
