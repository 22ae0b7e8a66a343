# Gateway — build, run, test. `make run` starts the gateway in front of the bundled demo chat backend.
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIG ?= gateway.toml
CONFIGURATION ?= Release
GATEWAY_DLL := src/Gateway/bin/$(CONFIGURATION)/net10.0/gateway.dll
DEMO_DLL := src/Gateway.DemoChat/bin/$(CONFIGURATION)/net10.0/demochat.dll
DEMO_URL ?= http://127.0.0.1:8081

.PHONY: all build run test validate check bench bench-ws bench-cluster format clean install uninstall deb

all: build

build:
	$(DOTNET) build Gateway.sln -c $(CONFIGURATION) --nologo -v quiet

# The demo backend runs in the background and stops with the gateway (Ctrl+C).
run: build
	@$(DOTNET) $(DEMO_DLL) $(DEMO_URL) & demo=$$!; \
	trap "kill $$demo 2>/dev/null" EXIT INT TERM; \
	sleep 1; \
	echo "gateway: config $(CONFIG); demo chat backend on $(DEMO_URL); try the curl lines in README.md"; \
	$(DOTNET) $(GATEWAY_DLL) serve --config $(CONFIG)

validate: build
	$(DOTNET) $(GATEWAY_DLL) validate --config $(CONFIG)

# make check TEXT="some message"
check: build
	$(DOTNET) $(GATEWAY_DLL) check --config $(CONFIG) "$(TEXT)"

# Runs every test project and ends with one line: "N passed, N failed".
# The browser test needs Debian's chromium and npm playwright-core: installed here when missing. If that fails the
# run goes on and the browser test fails (it never skips).
test:
	@bash tests/browser/install.sh || echo "tests/browser/install.sh failed: the browser test will fail"
	@bash tests/cluster/install.sh || echo "tests/cluster/install.sh failed: the scale-out tests (redis-server, haproxy) will fail"
	@bash tests/run-tests.sh

# Benchmarks (not part of `make test`, ~6 minutes here): engine micro-benchmarks beside the naive regex loop, SearchValues +
# NonBacktracking and Vectorscan, then wrk load beside bare YARP and nginx. Prints the table and writes
# loadtests/results/latest.json. Installs what it needs (wrk, nginx, Vectorscan) with apt-get when missing.
bench:
	@need=; \
	command -v wrk >/dev/null 2>&1 || need="$$need wrk"; \
	command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need="$$need nginx"; \
	dpkg -s libvectorscan5 >/dev/null 2>&1 || need="$$need libvectorscan5"; \
	command -v taskset >/dev/null 2>&1 || need="$$need util-linux"; \
	if [ -n "$$need" ]; then \
	  echo "bench: installing$$need"; \
	  . tests/lib/apt.sh && apt_get update -qq && apt_get install -y -qq $$need; \
	fi
	@PATH="$$PATH:/usr/sbin" bash loadtests/bench.sh

# Only the WebSocket relay load (about a minute): frames/s direct, through the relay and through a YARP tunnel.
bench-ws:
	@for p in src/Gateway/Gateway.csproj loadtests/Backend/Backend.csproj loadtests/Gateway.Benchmarks/Gateway.Benchmarks.csproj; do \
	  $(DOTNET) build $$p -c Release --nologo -v quiet || exit 1; done
	@$(DOTNET) loadtests/Gateway.Benchmarks/bin/Release/net10.0/Gateway.Benchmarks.dll ws --raw loadtests/results/raw --repo . \
	  --connections $${BENCH_WS_CONNECTIONS:-200} --seconds $${BENCH_SECONDS:-5} --rounds $${BENCH_ROUNDS:-3}

# A self-contained publish (no .NET needed to run it) under $(PREFIX)/lib/gateway and the `gateway` command in
# $(PREFIX)/bin. DESTDIR stages it elsewhere (packaging).
PREFIX ?= /usr/local
RID ?= linux-x64
install:
	$(DOTNET) publish src/Gateway/Gateway.csproj -c Release -r $(RID) --self-contained --nologo -v quiet -p:DebugType=none \
	  -o $(DESTDIR)$(PREFIX)/lib/gateway
	install -d $(DESTDIR)$(PREFIX)/bin
	ln -sfn ../lib/gateway/gateway $(DESTDIR)$(PREFIX)/bin/gateway
	@echo "installed: $(DESTDIR)$(PREFIX)/bin/gateway ($$($(DESTDIR)$(PREFIX)/bin/gateway version))"

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/lib/gateway $(DESTDIR)$(PREFIX)/bin/gateway

# dist/gateway_<version>_<arch>.deb: the same publish under /usr/lib/gateway, /usr/bin/gateway, the systemd unit and
# /etc/gateway/gateway.toml. Install with `apt install ./dist/gateway_*.deb`.
deb:
	@bash deploy/deb/build.sh dist

# Scale-out (issue 15, about 40 s): 1 instance vs 3 behind HAProxy sharing Redis, and what the Redis round trip adds.
bench-cluster:
	@need=; \
	command -v wrk >/dev/null 2>&1 || need="$$need wrk"; \
	if [ -n "$$need" ]; then . tests/lib/apt.sh && apt_get install -y -qq $$need; fi
	@bash tests/cluster/install.sh
	@PATH="$$PATH:/usr/sbin" bash loadtests/bench-cluster.sh

format:
	$(DOTNET) format Gateway.sln --verify-no-changes

clean:
	$(DOTNET) clean Gateway.sln --nologo -v quiet
	rm -rf tests/*/TestResults

# ── Issue 17: proof under fire (none of these run in `make test`) ───────────────────────────────────────────────────
.PHONY: fuzz soak loadtest

# SharpFuzz targets under AFL++ (installed with apt-get when missing), FUZZ_SECONDS each (default 120);
# FUZZ_TARGETS="json onion" for some. Findings in tests/Gateway.Fuzz/findings/. See docs/proof.md.
fuzz:
	@bash tests/Gateway.Fuzz/fuzz.sh

# Load on the gateway while its backend and report webhook are killed and restarted and its config flips between
# valid and invalid; ends with the conservation table and exits 1 when a check fails. SOAK_MINUTES (default 30).
soak:
	@command -v redis-server >/dev/null 2>&1 || bash tests/cluster/install.sh
	@for p in src/Gateway/Gateway.csproj loadtests/Soak/Soak.csproj; do $(DOTNET) build $$p -c Release --nologo -v quiet || exit 1; done
	@$(DOTNET) loadtests/Soak/bin/Release/net10.0/Soak.dll soak --gateway $(GATEWAY_DLL) --minutes $${SOAK_MINUTES:-30} --workers $${SOAK_WORKERS:-4}

# Artillery scenarios (npm, installed under loadtests/artillery when missing) with ramp/steady/spike phases,
# p99/error-rate/verdict-mix assertions and an HTML report in loadtests/artillery/report/.
loadtest:
	@bash loadtests/artillery/run.sh
