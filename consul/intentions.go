package consul

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"

	"github.com/hashicorp/consul/api"
)

// The mesh's intentions, one service-intentions config entry per file: deny by default,
// then allow worker -> rng, worker -> hasher, worker -> redis and webui -> redis.
// `consul config write consul/intentions/<file>` applies one by hand.
//
//go:embed intentions/*.json
var intentionFiles embed.FS

// Intentions returns the mesh's intention config entries.
func Intentions() ([]*api.ServiceIntentionsConfigEntry, error) {
	paths, err := fs.Glob(intentionFiles, "intentions/*.json")
	if err != nil {
		return nil, err
	}
	var out []*api.ServiceIntentionsConfigEntry
	for _, p := range paths {
		b, err := intentionFiles.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var e api.ServiceIntentionsConfigEntry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, &e)
	}
	return out, nil
}

// ApplyIntentions writes the mesh's intentions to the Consul agent at addr (host:port
// or URL) with token, which must allow intentions:write on every service (an operator
// token); empty: CONSUL_HTTP_TOKEN, or none where ACLs are off.
func ApplyIntentions(addr, token string) error {
	entries, err := Intentions()
	if err != nil {
		return err
	}
	client, err := api.NewClient(&api.Config{Address: addr, Token: token})
	if err != nil {
		return fmt.Errorf("consul at %q: %w", addr, err)
	}
	for _, e := range entries {
		if _, _, err := client.ConfigEntries().Set(e, nil); err != nil {
			return fmt.Errorf("intentions for %s at %s: %w", e.Name, addr, err)
		}
	}
	return nil
}
