# DockerCoins on Consul, Nomad and OpenTelemetry.
SHELL := /bin/bash
GO ?= go
CACHE ?= $(HOME)/.cache/dockercoins
export PATH := $(CACHE)/bin:$(PATH)

.PHONY: help build tools up down scale status cluster cluster-down chaos test fuzz bench deps deps-test lab-image
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

deps: ## install the Debian packages `make up`, `cluster` and `bench` need (needs root)
	@lab/deps.sh up

deps-test: ## install those and the ones only the tests use: chromium, vagrant (needs root)
	@lab/deps.sh test

# bin/lab/dockercoins: the control program the Vagrant lab's server runs as it is
# provisioned (lab-acl); a folder of its own, as the exec chroot takes bin/'s files.
# Static, as the images' builds: no libc mapped into each service (1.3 MB of its RSS),
# and nothing for the exec chroot to carry but the binary.
build: ## build the four services into bin/, and bin/lab/dockercoins for the Vagrant lab
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/rng ./cmd/hasher ./cmd/worker ./cmd/webui
	CGO_ENABLED=0 $(GO) build -o bin/lab/ ./cmd/dockercoins

tools: ## provide Consul, Nomad and Jaeger: compatible ones on PATH, else the pins built once into ~/.cache/dockercoins
	@tools/install.sh >/dev/null

# The host-side control program (cmd/dockercoins; `go run ./cmd/dockercoins help`).
DOCKERCOINS = $(GO) run ./cmd/dockercoins

MESH ?= true
SCALING ?= false
DRIVER ?=
# Consul and Nomad first; Jaeger, if it must be built, is built while the app mines.
up: deps build ## run the app on Consul and Nomad dev agents in the background (MESH=false: no Connect; DRIVER=docker|exec|raw_exec; SCALING=true: +/- on the page); print the URLs
	@tools/install.sh consul nomad >/dev/null
	@$(DOCKERCOINS) up -mesh=$(MESH) -driver=$(DRIVER) -scaling=$(SCALING) -jaeger "$$(tools/install.sh -where jaeger)"

down: ## stop the jobs and the agents `make up` started
	@$(DOCKERCOINS) down

SERVICE ?= worker
COUNT ?=
scale: ## scale a service of the running app: make scale SERVICE=worker COUNT=10
	@$(DOCKERCOINS) scale $(SERVICE) $(COUNT)

status: ## each group's instances, healthy count and nodes, and the URLs
	@$(DOCKERCOINS) status

NODES ?= 3
cluster: deps tools build ## a cluster of NODES Nomad clients in network namespaces, app running (root)
	@$(DOCKERCOINS) cluster up -nodes $(NODES)

cluster-down: ## stop the cluster `make cluster` started
	@$(DOCKERCOINS) cluster down

lab-image: ## the Vagrant lab's node image for `vagrant up --provider=docker`, built once (root)
	@$(DOCKERCOINS) node-image

FAULTS ?=
chaos: deps tools build ## the fault suite on a cluster of its own: a table of loops completed, counted, lost, counted twice (root; FAULTS=a,b)
	@$(DOCKERCOINS) chaos -faults "$(FAULTS)"

test: deps-test tools ## run every test (the product's unit tests, then test/'s module), then short fuzz runs
	$(GO) test -count=1 -timeout 35m ./...
	cd test && $(GO) test -count=1 -timeout 60m ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=10s

FUZZTIME ?= 30s
fuzz: ## fuzz the rng path parser and the hasher
	$(GO) test -run '^$$' -fuzz '^FuzzParseCount$$' -fuzztime $(FUZZTIME) ./services/rng
	$(GO) test -run '^$$' -fuzz '^FuzzPath$$' -fuzztime $(FUZZTIME) ./services/rng
	$(GO) test -run '^$$' -fuzz '^FuzzHash$$' -fuzztime $(FUZZTIME) ./services/hasher

.PHONY: bottleneck
JAEGER ?= http://localhost:16686
bottleneck: ## name what limits mining, from the worker traces in Jaeger (JAEGER=http://localhost:16686)
	@$(GO) run ./cmd/bottleneck -jaeger $(JAEGER)

bench: deps tools build ## print the benchmark tables
	cd test && $(GO) test -run "^$$" -bench . -benchtime 1x -timeout 60m ./bench
