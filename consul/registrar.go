package consul

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"
)

// SyncInterval is how often a registered instance checks that its agent still knows it.
// A dev agent forgets everything when it restarts; this is how long it may take for the
// instance to be back, once the agent answers.
const SyncInterval = 2 * time.Second

// callTimeout bounds each call to the agent, so a hung agent delays nothing else.
const callTimeout = 2 * time.Second

// Registrar keeps one service instance registered with its agent until Stop.
// A nil Registrar (registration off) does nothing.
type Registrar struct {
	agent        *api.Agent
	consul       string // the agent's address, for messages
	registration func(context.Context) (*api.AgentServiceRegistration, error)
	reg          atomic.Pointer[api.AgentServiceRegistration] // once known
	log          *slog.Logger
	cancel       context.CancelFunc
	done         chan struct{}

	// Owned by run until done is closed, then by Stop.
	known    bool // the agent had the registration at the last look
	ever     bool // registered at least once
	failures int  // calls failed in a row
}

func startRegistrar(log *slog.Logger, agent *api.Agent, consul string, registration func(context.Context) (*api.AgentServiceRegistration, error)) *Registrar {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Registrar{
		agent: agent, consul: consul, registration: registration,
		log:    log.With("consul", consul),
		cancel: cancel, done: make(chan struct{}),
	}
	go r.run(ctx)
	return r
}

// ID is the instance's service ID in Consul, once its address is known.
func (r *Registrar) ID() string {
	if r == nil {
		return ""
	}
	if reg := r.reg.Load(); reg != nil {
		return reg.ID
	}
	return ""
}

// run registers the instance, then checks every SyncInterval that the agent still has
// it and registers it again if not (anti-entropy: the agent restarted or lost it).
// While the agent is unreachable it retries with a backoff capped at SyncInterval.
func (r *Registrar) run(ctx context.Context) {
	defer close(r.done)
	for {
		wait := SyncInterval
		if err := r.sync(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.failures++
			wait = min(250*time.Millisecond<<min(r.failures-1, 4), SyncInterval)
			r.report(err, wait)
		} else {
			r.failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// sync makes sure the agent has the registration.
func (r *Registrar) sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	reg := r.reg.Load()
	if reg == nil {
		var err error
		if reg, err = r.registration(ctx); err != nil {
			return err
		}
		r.reg.Store(reg)
		r.log = r.log.With("id", reg.ID)
	}
	if r.known {
		_, _, err := r.agent.Service(reg.ID, (&api.QueryOptions{}).WithContext(ctx))
		if err == nil {
			return nil
		}
		if !isNotFound(err) {
			return err
		}
		r.known = false
		r.log.Warn("consul agent lost this service (restarted?); registering again")
	}
	// Replacing existing checks makes registering idempotent: a second registration
	// with the same ID updates the first instead of adding checks to it.
	opts := api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx)
	if err := r.agent.ServiceRegisterOpts(reg, opts); err != nil {
		return err
	}
	r.known = true
	r.ever = true
	r.log.Info("registered in consul", "service", reg.Name,
		"addr", fmt.Sprintf("%s:%d", reg.Address, reg.Port), "check", reg.Check.HTTP, "attempts", r.failures+1)
	return nil
}

// report logs a failed call: every one while the backoff grows, then one in 15 (about
// every 30 s), so an outage stays visible without flooding the log.
func (r *Registrar) report(err error, wait time.Duration) {
	if r.failures > 4 && r.failures%15 != 0 {
		return
	}
	var se api.StatusError
	if errors.As(err, &se) {
		r.log.Error("consul agent refused the registration, retrying", "err", err, "attempt", r.failures, "retry_in", wait)
		return
	}
	r.log.Error(fmt.Sprintf("consul unreachable at %s, retrying", r.consul), "err", err, "attempt", r.failures, "retry_in", wait)
}

func isNotFound(err error) bool {
	var se api.StatusError
	return errors.As(err, &se) && se.Code == http.StatusNotFound
}

// Stop ends the background work and deregisters the instance, so peers stop finding it
// at once rather than after its check fails. If the agent cannot be reached the
// instance stays listed, failing its check, until the agent drops it (DeregisterAfter).
func (r *Registrar) Stop() {
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
	if !r.ever {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := r.agent.ServiceDeregisterOpts(r.reg.Load().ID, (&api.QueryOptions{}).WithContext(ctx)); err != nil && !isNotFound(err) {
		r.log.Warn("could not deregister from consul; the agent drops this instance once its check has failed long enough",
			"err", err, "after", DeregisterAfter)
		return
	}
	r.log.Info("deregistered from consul")
}
