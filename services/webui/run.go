// Package webui shows DockerCoins' mining speed live in a browser, read from Redis.
package webui

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/dockercoins/dockercoins"
	"github.com/dockercoins/dockercoins/consul"
	"github.com/dockercoins/dockercoins/internal/platform"
	"github.com/dockercoins/dockercoins/internal/settings"
	"github.com/dockercoins/dockercoins/nomad"
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
	var redisAuth redis.Auth
	var jaegerURL, jaegerUI, nomadAddr, nomadToken string
	var scaling bool
	s := settings.New(dockercoins.WebUI, stdout)
	common.Register(s, dockercoins.WebUI, DefaultAddr)
	common.Edge = true // called by people and agents, not by mesh peers
	peerSettings.Register(s, dockercoins.Redis)
	redisAuth.Register(s)
	s.String(&jaegerURL, "jaeger", "JAEGER_QUERY_URL", "", "Jaeger query URL (e.g. http://localhost:16686) for the bottleneck panel; empty: no panel")
	s.String(&jaegerUI, "jaeger-ui", "JAEGER_UI_URL", "", "a Jaeger UI (one built with its UI) that the traces panel links to; empty: no link")
	s.String(&nomadAddr, "nomad-addr", "NOMAD_ADDR", "", "Nomad HTTP API (e.g. http://127.0.0.1:4646) for allocations and scaling; empty: the page shows Consul's view only")
	s.String(&nomadToken, "nomad-token", "NOMAD_TOKEN", "", "Nomad ACL token, when ACLs are on: it must read the job, and scale it if WEBUI_SCALING is on")
	s.Bool(&scaling, "scaling", "WEBUI_SCALING", false, "offer +/- per group on the page, through Nomad's scale API")
	if err := s.Parse(args, getenv); err != nil {
		return err
	}
	if err := redisAuth.Load(); err != nil {
		return err
	}
	for name, v := range map[string]string{"JAEGER_QUERY_URL": jaegerURL, "JAEGER_UI_URL": jaegerUI, "NOMAD_ADDR": nomadAddr} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s=%q: want an http or https URL such as http://localhost:16686", name, v)
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
	rdb := redis.NewClient(peers.Dialer(dockercoins.Redis), redisAuth)
	defer rdb.Close()
	c := Console{JaegerUI: jaegerUI, Scaling: scaling}
	if jaegerURL != "" {
		b := newJaegerBreakdowns(jaegerURL, jaegerUI)
		c.Breakdowns, c.Traces = b, b.client
	}
	if c.Catalog, err = consul.NewCatalog(common.Consul.ConsulHTTP); err != nil {
		return err
	}
	if nomadAddr != "" {
		n, err := nomad.New(nomadAddr)
		if err != nil {
			return err
		}
		n.SetToken(nomadToken)
		c.Nomad = n
	}
	return p.Serve(ctx, NewServer(p.Log, &redis.Reader{Client: rdb}, c))
}
